import type { IncomingHttpHeaders } from 'node:http';
import type { SandboxGateway, SandboxStore } from './ledger';
import type { Faults, Operation } from './faults';

/** An API request as the gateway handlers see it: body already read. */
export interface ApiRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

/** An API answer. */
export interface ApiResult {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** What a handler may ask of the faults while it processes a request. */
export interface HandleContext {
  faults: Faults;
  /**
   * Whether the money movement about to be committed stays in progress (the `pending` fault). Call it
   * only when committing one: `{ next: n }` counts the calls.
   */
  pending(): boolean;
}

/** One gateway's API inside the sandbox. */
export interface GatewayApi {
  readonly gateway: SandboxGateway;
  /** Whether this API serves the path. */
  owns(path: string): boolean;
  /** An error answer if the credentials are missing or wrong. */
  authenticate(req: ApiRequest, store: SandboxStore): ApiResult | undefined;
  /** Which operation a request is (what `operations` in the faults selects); undefined: none (OAuth). */
  operation(req: ApiRequest, store: SandboxStore): Operation | undefined;
  /** The idempotency key of a request, if it carries one the gateway honours. */
  idempotencyKey(req: ApiRequest): string | undefined;
  /** What identifies "the same request" for a key; undefined: any request with the key replays. */
  fingerprint?(req: ApiRequest): string;
  /** The answer for a stored key: a replay, or a conflict when the request differs. */
  replay(stored: { status: number; body: unknown }, conflict: boolean): ApiResult;
  /** Processes the request; ledger entries written here make it "committed". */
  handle(req: ApiRequest, store: SandboxStore, context: HandleContext): ApiResult;
  /** Settles a pending object (charge, capture or refund) by its ID; false when none is pending. */
  settle(store: SandboxStore, reference: string, outcome: 'succeeded' | 'failed'): boolean;
  /** The gateway-shaped answer for an injected fault. */
  faultResponse(kind: 'outage' | 'error' | 'rate_limit'): ApiResult;
}

/** Parses a form body with Stripe's bracket notation (`metadata[key]=v`, `types[0]=card`) into nested objects. */
export function parseForm(body: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const parts = key.split(/[[\]]+/).filter(Boolean);
    // Keys come from the network: never let them reach Object.prototype.
    if (parts.some((p) => p === '__proto__' || p === 'constructor' || p === 'prototype')) continue;
    let node = out;
    parts.forEach((part, i) => {
      if (i === parts.length - 1) node[part] = value;
      else node = (node[part] ??= {}) as Record<string, unknown>;
    });
  }
  return out;
}

/** A JSON body, or undefined when it is not valid JSON. */
export function parseJson(body: string): unknown {
  if (!body) return {};
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

/** JSON with sorted keys, so that equal parameters give equal text whatever their order. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A header value as one string. */
export function header(req: ApiRequest, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
