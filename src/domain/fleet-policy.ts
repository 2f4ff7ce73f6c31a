/**
 * A fleet is every worker of one task queue. Temporal hands any payment task to any of them (the
 * routing local activity, with its risk check, runs on whichever worker takes the workflow task), so
 * they must all decide alike: each worker describes what changes a payment's outcome as a
 * `FleetPolicy`, and the gateway-health workflow admits a worker only when it agrees with every live
 * one. Sandbox-safe: the workflow runs `joinFleet`; the worker computes the policy (with its hashes).
 */
import { defineUpdate } from '@temporalio/workflow';
import type { GatewayType } from './types';

/** A registered gateway as far as it changes outcomes; never a secret (credentials appear hashed). */
export interface GatewayPolicy {
  type: GatewayType;
  currencies: readonly string[] | 'all';
  methods: readonly string[];
  lookupLagMs: number;
  /** Non-secret connection settings (environment, base URL, timeout, credential hash), when known. */
  settings: Record<string, string | number>;
}

/** The keys a worker's payload codec holds: key ID → fingerprint (a hash that cannot give the key back). */
export interface EncryptionPolicy {
  activeKeyId: string;
  keys: Record<string, string>;
}

/** What a worker does with payments. Workers of one task queue must have the same `policyId`. */
export interface FleetPolicy {
  /** A hash of everything below except `encryption`, which only has to be compatible (key rotation). */
  policyId: string;
  /** In registration order (routing breaks ties by it). */
  gateways: GatewayPolicy[];
  /** The risk check's name, or a hash of its code; null without one. */
  riskCheck: string | null;
  /** Routing with defaults applied, function rules by name and code hash. */
  routing: Record<string, unknown>;
  /** Circuit-breaker settings with defaults applied. */
  circuitBreaker: Record<string, unknown>;
  /**
   * The payment store's backend, null without one: a worker without the store would skip the
   * projections and late refunds the others make.
   */
  store?: 'postgres' | 'embedded' | null;
  /** Null when payloads are not encrypted. */
  encryption: EncryptionPolicy | null;
}

/** A worker admitted to the fleet. */
export interface FleetMember {
  worker: string;
  policy: FleetPolicy;
  joinedAt: number;
  /** How long the member counts as live after its last report (or join) without another. */
  liveForMs: number;
}

export interface FleetJoinRequest {
  worker: string;
  policy: FleetPolicy;
  liveForMs: number;
}

export type FleetJoinResult =
  | { accepted: true }
  | {
      accepted: false;
      /** Every difference from the first conflicting live worker, "what: this worker X, fleet Y". */
      differences: string[];
      /** The live workers whose policy differs. */
      conflicting: string[];
    };

/** A worker asks to join its task queue's fleet (wire name: never rename). */
export const joinFleetUpdate = defineUpdate<FleetJoinResult, [FleetJoinRequest]>('joinFleet');

/** How long a worker counts as live without a report, at least (reports come every 5 s by default). */
export const FLEET_LIVE_WITHIN_MS = 30_000;

/**
 * The memo field of the gateway-health workflow holding the last admitted policy. The worker's codec
 * encrypts memos like every payload, but the payload's metadata (its encoding and key ID) stays
 * readable, which is all a client without keys needs to know that it must not start payments there.
 */
export const FLEET_MEMO_KEY = 'aegispayFleetPolicy';

/** The task queue the gateway-health workflow runs on: a worker serves it before it polls payments. */
export function fleetTaskQueue(taskQueue: string): string {
  return `aegispay-fleet:${taskQueue}`;
}

/** JSON with object keys sorted, so equal settings always give equal text (and equal hashes). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
  );
}

const show = (value: unknown): string => (typeof value === 'string' ? value : canonicalJson(value));

/** "what: this worker X, fleet Y" for each field of two objects that differs. */
function fieldDifferences(what: string, mine: object, fleet: object): string[] {
  const a = mine as Record<string, unknown>;
  const b = fleet as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys
    .filter((k) => canonicalJson(a[k]) !== canonicalJson(b[k]))
    .map((k) => `${what}${k}: this worker ${show(a[k] ?? 'none')}, fleet ${show(b[k] ?? 'none')}`);
}

export function describeEncryption(e: EncryptionPolicy | null): string {
  return e ? `keys ${Object.keys(e.keys).sort().join(',')} (active ${e.activeKeyId})` : 'off';
}

/**
 * Why two workers cannot share a task queue's payloads, or undefined when they can: both encrypt or
 * neither does, each one's active key is held by the other, and a key ID means the same key in both.
 * Different key sets are fine, which is how keys are rotated one worker at a time.
 */
export function encryptionConflict(
  mine: EncryptionPolicy | null,
  fleet: EncryptionPolicy | null,
  who = 'this worker',
): string | undefined {
  const why = encryptionProblem(mine, fleet, who);
  if (why === undefined) return undefined;
  return `encryption: ${who} ${describeEncryption(mine)}, fleet ${describeEncryption(fleet)}${why ? ` (${why})` : ''}`;
}

/** undefined: compatible; otherwise why not ('' when one encrypts and the other does not). */
function encryptionProblem(
  mine: EncryptionPolicy | null,
  fleet: EncryptionPolicy | null,
  who: string,
): string | undefined {
  if (!mine && !fleet) return undefined;
  if (!mine || !fleet) return '';
  if (!Object.hasOwn(fleet.keys, mine.activeKeyId)) return `the fleet cannot decrypt key ${mine.activeKeyId}`;
  if (!Object.hasOwn(mine.keys, fleet.activeKeyId)) return `${who} cannot decrypt key ${fleet.activeKeyId}`;
  const changed = Object.keys(mine.keys).find(
    (id) => Object.hasOwn(fleet.keys, id) && fleet.keys[id] !== mine.keys[id],
  );
  return changed === undefined ? undefined : `key ID ${changed} names a different key in each`;
}

/** Every difference between this worker's policy and the fleet's, one line each; empty when they agree. */
export function policyDifferences(mine: FleetPolicy, fleet: FleetPolicy): string[] {
  const differences: string[] = [];
  const types = (p: FleetPolicy) => p.gateways.map((g) => g.type).join(',') || 'none';
  if (types(mine) !== types(fleet)) {
    differences.push(`gateways: this worker ${types(mine)}, fleet ${types(fleet)}`);
  } else {
    mine.gateways.forEach((g, i) => {
      const { settings: a, ...rest } = g;
      const { settings: b, ...fleetRest } = fleet.gateways[i]!;
      differences.push(
        ...fieldDifferences(`${g.type} `, rest, fleetRest),
        ...fieldDifferences(`${g.type} `, a, b),
      );
    });
  }
  if (mine.riskCheck !== fleet.riskCheck) {
    const name = (check: string | null) => (check === null ? 'none' : `'${check}'`);
    differences.push(`risk check: this worker ${name(mine.riskCheck)}, fleet ${name(fleet.riskCheck)}`);
  }
  differences.push(...fieldDifferences('routing ', mine.routing, fleet.routing));
  differences.push(...fieldDifferences('circuit breaker ', mine.circuitBreaker, fleet.circuitBreaker));
  if ((mine.store ?? null) !== (fleet.store ?? null)) {
    differences.push(`payment store: this worker ${mine.store ?? 'none'}, fleet ${fleet.store ?? 'none'}`);
  }
  // Two policies can hash alike only if they are alike; a hash difference with no field difference
  // (another AegisPay version computing it) still counts.
  if (differences.length === 0 && mine.policyId !== fleet.policyId)
    differences.push(`policy: this worker ${mine.policyId}, fleet ${fleet.policyId}`);
  const encryption = encryptionConflict(mine.encryption, fleet.encryption);
  if (encryption) differences.push(encryption);
  return differences;
}

/** One line for logs and errors: what this policy is. */
export function describeFleetPolicy(policy: FleetPolicy): string {
  return [
    `gateways ${policy.gateways.map((g) => g.type).join(',') || 'none'}`,
    `risk check ${policy.riskCheck === null ? 'none' : `'${policy.riskCheck}'`}`,
    `routing ${String(policy.routing.strategy ?? 'default')}`,
    `encryption ${describeEncryption(policy.encryption)}`,
    `policy ${policy.policyId}`,
  ].join('; ');
}

/** The part of the gateway-health workflow's state the fleet rules read and write. */
export interface FleetRoster {
  /** When each worker last reported, by worker identity. */
  reports: Record<string, { at: number }>;
  /** The workers admitted to the fleet, by worker identity. */
  members?: Record<string, FleetMember>;
  /** The policy last admitted: what the fleet's memo shows. */
  fleet?: FleetPolicy;
}

/** The members heard from (a report or their join) within their liveness window. */
export function liveMembers(state: FleetRoster, now: number): FleetMember[] {
  return Object.values(state.members ?? {}).filter((m) => {
    const lastSeen = Math.max(m.joinedAt, state.reports[m.worker]?.at ?? 0);
    return now - lastSeen <= m.liveForMs;
  });
}

/**
 * Admits a worker when every live member has its policy (and compatible keys), and forgets members
 * that are gone. Pure: the gateway-health workflow runs it in its update handler, one join at a time,
 * so two workers starting together can never both set different policies.
 */
export function joinFleet<S extends FleetRoster>(
  state: S,
  request: FleetJoinRequest,
  now: number,
): { state: S; result: FleetJoinResult } {
  const others = liveMembers(state, now).filter((m) => m.worker !== request.worker);
  const conflicting = others
    .map((m) => ({ worker: m.worker, differences: policyDifferences(request.policy, m.policy) }))
    .filter((c) => c.differences.length > 0);
  if (conflicting.length > 0) {
    return {
      state,
      result: {
        accepted: false,
        differences: conflicting[0]!.differences,
        conflicting: conflicting.map((c) => c.worker),
      },
    };
  }
  const member: FleetMember = { ...request, joinedAt: now };
  const members = Object.fromEntries([...others, member].map((m) => [m.worker, m]));
  return { state: { ...state, members, fleet: request.policy }, result: { accepted: true } };
}

/** A worker that stopped leaves at once, so the fleet's policy can change without waiting for it. */
export function leaveFleet<S extends FleetRoster>(state: S, worker: string): S {
  if (!state.members?.[worker]) return state;
  const { [worker]: _gone, ...members } = state.members;
  return { ...state, members };
}
