/**
 * How a worker joins its task queue's fleet: it describes what changes a payment's outcome
 * (`computeFleetPolicy`), then asks the gateway-health workflow to admit it (`joinTaskQueueFleet`),
 * which it does only when no live worker of the queue decides differently. See domain/fleet-policy.ts.
 */
import { createHash } from 'node:crypto';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { circuitBreakerConfigSchema } from './activities/circuit-breaker';
import type { GatewayRouterOptions } from './activities/gateway-router';
import type { Gateway } from './activities/gateways/gateway';
import { riskCheckSchema, type RiskCheckConfig } from './activities/risk';
import { routingConfigSchema } from './activities/routing';
import { decodeFleetPolicy, readFleetRecord } from './temporal/fleet-record';
import { isEncryptedPayload, payloadKeyId } from './codec/encryption-codec';
import { ConfigurationError } from './domain/errors';
import {
  canonicalJson,
  fleetTaskQueue,
  joinFleetUpdate,
  type EncryptionPolicy,
  type FleetJoinRequest,
  type FleetPolicy,
} from './domain/fleet-policy';
import { gatewayHealthWorkflowId } from './domain/health';

/** A risk check, optionally named: the name is how workers and errors tell checks apart. */
export type NamedRiskCheck = RiskCheckConfig & { name?: string };

export interface FleetPolicyInput {
  gateways: readonly Gateway[];
  riskCheck?: NamedRiskCheck;
  routing?: Pick<GatewayRouterOptions, 'routing' | 'functionRules' | 'circuitBreaker'>;
  encryption: EncryptionPolicy | null;
  /** The payment store's backend, when the worker has one. */
  store?: 'postgres' | 'embedded';
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 16);

/** A code's identity: two functions with the same source decide alike unless their closures differ, so name them. */
const codeHash = (fn: (...args: never[]) => unknown): string => `code ${sha256(fn.toString())}`;

/** The worker's fleet policy: everything that changes a payment's outcome, and a hash of it. */
export function computeFleetPolicy(input: FleetPolicyInput): FleetPolicy {
  const gateways = input.gateways.map((g) => ({
    type: g.type,
    currencies:
      g.capabilities.currencies === 'all' ? ('all' as const) : [...g.capabilities.currencies].sort(),
    methods: [...g.capabilities.methods].sort(),
    lookupLagMs: g.lookupLagMs,
    settings: { ...g.policySettings },
  }));
  let riskCheck: string | null = null;
  if (input.riskCheck) {
    const { name, ...config } = input.riskCheck;
    const check = riskCheckSchema.parse(config);
    riskCheck = `${name ?? codeHash(check.assess)} (onError ${check.onError}, timeout ${check.timeoutMs} ms)`;
  }
  const routing = {
    ...routingConfigSchema.parse(input.routing?.routing ?? {}),
    functionRules: (input.routing?.functionRules ?? []).map((rule) => ({
      name: rule.name,
      priority: rule.priority,
      gateway: rule.gateway,
      condition: codeHash(rule.condition),
    })),
  };
  const circuitBreaker = circuitBreakerConfigSchema.parse(input.routing?.circuitBreaker ?? {});
  const outcome = { gateways, riskCheck, routing, circuitBreaker, store: input.store ?? null };
  return { policyId: `fp_${sha256(canonicalJson(outcome))}`, ...outcome, encryption: input.encryption };
}

/** Raised when a worker may not join its task queue's fleet; `differences` lists every one. */
export class FleetPolicyConflictError extends ConfigurationError {
  constructor(
    message: string,
    readonly differences: string[] = [],
  ) {
    super(message);
  }
}

/** How long a worker waits for the fleet to answer its join. */
const JOIN_TIMEOUT_MS = 60_000;

const CHANGE_ON_PURPOSE =
  'To change the policy on purpose, use a new task queue, or stop every worker of this one first ' +
  '(a stopped worker leaves at once; a killed one after the liveness window, 30 s by default).';

/**
 * Asks the gateway-health workflow of `taskQueue` to admit this worker; throws a
 * FleetPolicyConflictError naming every difference when a live worker decides differently. A worker
 * of this process must be serving `fleetTaskQueue(taskQueue)`: the workflow answers from there.
 */
export async function joinTaskQueueFleet(
  client: Client,
  taskQueue: string,
  request: FleetJoinRequest,
): Promise<void> {
  const workflowId = gatewayHealthWorkflowId(taskQueue);
  const record = await readFleetRecord(client, taskQueue);
  if (record && record.runsOn !== fleetTaskQueue(taskQueue)) {
    // An earlier version ran it on the payment queue, where only admitted workers poll: it would never answer.
    await client.workflow
      .getHandle(workflowId)
      .terminate(`the gateway-health workflow now runs on ${fleetTaskQueue(taskQueue)}`);
  } else if (record?.policy) {
    await assertReadable(client, taskQueue, record.policy);
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ConfigurationError(
            `The fleet of task queue "${taskQueue}" did not answer this worker's join within ${JOIN_TIMEOUT_MS / 1000} s ` +
              `(workflow ${workflowId}). Its workers may not be able to decrypt this worker's payloads.`,
          ),
        ),
      JOIN_TIMEOUT_MS,
    );
  });
  const joining = client.workflow.executeUpdateWithStart(joinFleetUpdate, {
    args: [request],
    startWorkflowOperation: new WithStartWorkflowOperation('gatewayHealthWorkflow', {
      workflowId,
      taskQueue: fleetTaskQueue(taskQueue),
      args: [],
      workflowIdConflictPolicy: 'USE_EXISTING',
    }),
  });
  joining.catch(() => undefined);
  const result = await Promise.race([joining, timeout]).finally(() => clearTimeout(timer));
  if (!result.accepted) {
    throw new FleetPolicyConflictError(
      `This worker's policy differs from the fleet of task queue "${taskQueue}" ` +
        `(live workers: ${result.conflicting.join(', ')}): ${result.differences.join('; ')}. ${CHANGE_ON_PURPOSE}`,
      result.differences,
    );
  }
}

/** A worker that cannot read the fleet workflow's payloads cannot serve it, nor agree with its workers. */
async function assertReadable(client: Client, taskQueue: string, payload: Payload): Promise<void> {
  try {
    await decodeFleetPolicy(client.options.loadedDataConverter, payload);
  } catch (err) {
    const what = isEncryptedPayload(payload)
      ? `encrypted with key ${payloadKeyId(payload) ?? '?'}, which this worker does not hold`
      : 'unreadable';
    throw new FleetPolicyConflictError(
      `This worker cannot read the payloads of the fleet of task queue "${taskQueue}" (${what}: ${(err as Error).message}). ` +
        `${CHANGE_ON_PURPOSE} When its workers are gone, a new key set also needs the old fleet workflow ended: ` +
        `temporal workflow terminate --workflow-id ${gatewayHealthWorkflowId(taskQueue)}`,
      [`encryption: the fleet's payloads are ${what}`],
    );
  }
}
