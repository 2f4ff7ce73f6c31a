/**
 * The sandbox PSP: one local HTTP server speaking the subset of Stripe's and PayPal's APIs the adapters
 * use, with a durable ledger, idempotency and fault injection, so tests and the demo exercise the real
 * adapters over HTTP and can count charges outside the worker.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { FaultInjector, faultsRequestSchema, PENDING_OPERATIONS, type Faults } from './faults';
import type { ApiRequest, ApiResult, GatewayApi } from './http';
import { parseJson } from './http';
import {
  holdings,
  newId,
  openAuthorizations,
  SandboxStore,
  type Holding,
  type LedgerEntry,
  type SandboxGateway,
} from './ledger';
import { failPaypalThreeDSecure, paypalApi } from './paypal-api';
import { failStripeThreeDSecure, stripeApi } from './stripe-api';

export type { Faults, Operation } from './faults';
export type { Holding, LedgerEntry, SandboxGateway } from './ledger';

/** Options of {@link startSandbox}. */
export interface SandboxOptions {
  /** Port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** JSON file that keeps the ledger (and all sandbox state) across restarts; in memory when absent. */
  ledgerFile?: string;
  /** How long `commitThenTimeout` holds an answer (default 10 minutes): far beyond any client timeout. */
  holdMs?: number;
}

/** Which ledger entries to list; every field is optional. */
export type LedgerFilter = Partial<
  Pick<LedgerEntry, 'gateway' | 'kind' | 'status' | 'paymentKey' | 'payment' | 'paymentId'>
>;

/** How a pending object ends. */
export type SettleOutcome = 'succeeded' | 'failed';

/** A running sandbox PSP. */
export interface Sandbox {
  /** `http://127.0.0.1:<port>`: the `baseUrl` of both adapters. */
  url: string;
  port: number;
  /** Ledger entries, oldest first, optionally filtered. */
  ledger(filter?: LedgerFilter): LedgerEntry[];
  /** Replaces the faults of one gateway or of both (default). */
  setFaults(faults: Faults, gateway?: SandboxGateway | 'all'): void;
  /** Clears every fault; with `ledger: true` also forgets every object, key and ledger entry. */
  reset(options?: { ledger?: boolean }): void;
  /** Fails the pending 3-D Secure challenge of a PaymentIntent or PayPal order. */
  failThreeDSecure(reference: string): boolean;
  /**
   * Settles an object the `pending` fault left in progress: a PaymentIntent, Stripe refund, PayPal order,
   * capture or refund ID. False when nothing with that ID is pending.
   */
  settle(reference: string, outcome: SettleOutcome): boolean;
  /** What each gateway holds of each payment (collected minus refunded, and what is pending). */
  holdings(filter?: Pick<LedgerFilter, 'gateway' | 'paymentId'>): Holding[];
  /** Authorizations neither captured nor voided: money still held on a card. */
  openAuthorizations(filter?: Pick<LedgerFilter, 'gateway' | 'paymentId'>): LedgerEntry[];
  /** Stops listening, drops held answers and closes every connection. */
  stop(): Promise<void>;
}

const APIS: readonly GatewayApi[] = [paypalApi, stripeApi];

/** Starts the sandbox PSP on 127.0.0.1. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const store = new SandboxStore(options.ledgerFile);
  const faults = new FaultInjector();
  const held = new Set<NodeJS.Timeout>();
  const holdMs = options.holdMs ?? 10 * 60_000;

  const ledger = (filter: LedgerFilter = {}) =>
    store
      .entries()
      .filter((e) =>
        Object.entries(filter).every(([k, v]) => v === undefined || e[k as keyof LedgerEntry] === v),
      );
  const failThreeDSecure = (reference: string) =>
    failStripeThreeDSecure(store, reference) || failPaypalThreeDSecure(store, reference);
  const settleTimers = new Set<NodeJS.Timeout>();
  const settle = (reference: string, outcome: SettleOutcome) => {
    const settled = APIS.some((api) => api.settle(store, reference, outcome));
    store.flush();
    return settled;
  };
  const byPayment = <T extends { gateway: SandboxGateway; paymentId?: string }>(
    items: T[],
    filter: Pick<LedgerFilter, 'gateway' | 'paymentId'>,
  ) =>
    items.filter(
      (i) =>
        (!filter.gateway || i.gateway === filter.gateway) &&
        (!filter.paymentId || i.paymentId === filter.paymentId),
    );
  const reset = (opts: { ledger?: boolean } = {}) => {
    faults.clear();
    for (const timer of settleTimers) clearTimeout(timer);
    settleTimers.clear();
    if (opts.ledger) store.clear();
  };

  async function handleApi(api: GatewayApi, req: ApiRequest, res: ServerResponse): Promise<void> {
    const { gateway } = api;
    const operation = api.operation(req, store);
    // Faults restricted to some operations leave every other request alone.
    const inScope = faults.applies(gateway, operation);
    const latency = inScope ? faults.latency(gateway) : 0;
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    // Injected failures happen "in front of" the API: nothing is processed and nothing is stored.
    if (inScope && faults.get(gateway).outage) return send(res, api.faultResponse('outage'));
    if (inScope && faults.roll(gateway, 'resetConnection')) return void res.socket?.destroy();
    if (inScope && faults.rate(gateway, 'errorRate')) return send(res, api.faultResponse('error'));
    if (inScope && faults.rate(gateway, 'rateLimitRate')) return send(res, api.faultResponse('rate_limit'));

    const denied = api.authenticate(req, store);
    if (denied) return send(res, denied);

    const key = api.idempotencyKey(req);
    const fingerprint = api.fingerprint?.(req) ?? '';
    const stored = key ? store.response(gateway, key) : undefined;
    if (stored) return send(res, api.replay(stored, stored.fingerprint !== fingerprint));

    const before = store.entries().length;
    const pendingAllowed = inScope && operation !== undefined && PENDING_OPERATIONS.includes(operation);
    const result = api.handle(req, store, {
      faults: faults.get(gateway),
      pending: () => pendingAllowed && faults.roll(gateway, 'pending'),
    });
    const added = store.entries().slice(before);
    const committed = added.length > 0;
    const settleMs = faults.get(gateway).pendingSettleMs;
    if (settleMs !== undefined) {
      for (const entry of added.filter((e) => e.status === 'pending')) {
        const timer = setTimeout(() => {
          settleTimers.delete(timer);
          settle(entry.reference, 'succeeded');
        }, settleMs);
        timer.unref();
        settleTimers.add(timer);
      }
    }
    // Like Stripe: answers of requests that ran are kept; validation failures leave the key unused.
    if (key && (result.status < 400 || committed)) {
      store.remember(gateway, key, { fingerprint, status: result.status, body: result.body });
    }
    store.flush();

    if (inScope && committed && faults.roll(gateway, 'commitThenReset')) return void res.socket?.destroy();
    if (inScope && committed && faults.roll(gateway, 'commitThenTimeout')) {
      const timer = setTimeout(() => {
        held.delete(timer);
        send(res, result);
      }, holdMs);
      timer.unref();
      held.add(timer);
      res.on('close', () => {
        clearTimeout(timer);
        held.delete(timer);
      });
      return;
    }
    send(res, result);
  }

  function handleAdmin(req: ApiRequest, res: ServerResponse): void {
    const route = `${req.method} ${req.path}`;
    const body = parseJson(req.body);
    if (route === 'GET /__admin/health') return send(res, { status: 200, body: { ok: true } });
    if (route === 'GET /__admin/ledger') {
      const filter = Object.fromEntries(req.query) as LedgerFilter;
      return send(res, { status: 200, body: { entries: ledger(filter) } });
    }
    if (route === 'GET /__admin/holdings' || route === 'GET /__admin/authorizations') {
      const filter = Object.fromEntries(req.query) as Pick<LedgerFilter, 'gateway' | 'paymentId'>;
      const items =
        route === 'GET /__admin/holdings'
          ? byPayment(holdings(store.entries()), filter)
          : byPayment(openAuthorizations(store.entries()), filter);
      return send(res, { status: 200, body: { items } });
    }
    if (route === 'POST /__admin/settle') {
      const { reference, outcome } = (body ?? {}) as { reference?: unknown; outcome?: unknown };
      if (typeof reference !== 'string' || (outcome !== 'succeeded' && outcome !== 'failed')) {
        return send(res, {
          status: 400,
          body: { error: "settle takes { reference, outcome: 'succeeded' | 'failed' }" },
        });
      }
      return send(
        res,
        settle(reference, outcome)
          ? { status: 200, body: { ok: true } }
          : { status: 404, body: { error: 'nothing pending with that reference' } },
      );
    }
    if (route === 'GET /__admin/faults') {
      return send(res, { status: 200, body: { stripe: faults.get('stripe'), paypal: faults.get('paypal') } });
    }
    if (route === 'POST /__admin/faults') {
      const parsed = faultsRequestSchema.safeParse(body);
      if (!parsed.success) return send(res, { status: 400, body: { error: z.prettifyError(parsed.error) } });
      const { gateway, ...rest } = parsed.data;
      faults.set(rest, gateway ?? 'all');
      return send(res, { status: 200, body: { stripe: faults.get('stripe'), paypal: faults.get('paypal') } });
    }
    if (route === 'POST /__admin/reset') {
      reset({ ledger: (body as { ledger?: unknown } | undefined)?.ledger === true });
      return send(res, { status: 200, body: { ok: true } });
    }
    if (route === 'POST /__admin/three-d-secure') {
      const reference = (body as { reference?: unknown } | undefined)?.reference;
      const failed = typeof reference === 'string' && failThreeDSecure(reference);
      store.flush();
      return send(
        res,
        failed
          ? { status: 200, body: { ok: true } }
          : { status: 404, body: { error: 'no pending challenge' } },
      );
    }
    send(res, { status: 404, body: { error: `no admin route ${route}` } });
  }

  const server = createServer((incoming, res) => {
    readRequest(incoming)
      .then((req) => {
        if (req.path.startsWith('/__admin/')) return handleAdmin(req, res);
        const api = APIS.find((a) => a.owns(req.path));
        if (!api) return send(res, { status: 404, body: { error: `unknown path ${req.path}` } });
        return handleApi(api, req, res);
      })
      .catch((err: unknown) => {
        if (!res.headersSent && !res.destroyed) {
          send(res, { status: 500, body: { error: err instanceof Error ? err.message : 'sandbox failure' } });
        }
      });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    ledger,
    setFaults: (f, gateway = 'all') => faults.set(f, gateway),
    reset,
    failThreeDSecure: (reference) => {
      const failed = failThreeDSecure(reference);
      store.flush();
      return failed;
    },
    settle,
    holdings: (filter = {}) => byPayment(holdings(store.entries()), filter),
    openAuthorizations: (filter = {}) => byPayment(openAuthorizations(store.entries()), filter),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const timer of [...held, ...settleTimers]) clearTimeout(timer);
        held.clear();
        settleTimers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function readRequest(incoming: IncomingMessage): Promise<ApiRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of incoming) chunks.push(chunk as Buffer);
  const url = new URL(incoming.url ?? '/', 'http://sandbox');
  return {
    method: incoming.method ?? 'GET',
    path: url.pathname,
    query: url.searchParams,
    headers: incoming.headers,
    body: Buffer.concat(chunks).toString('utf8'),
  };
}

function send(res: ServerResponse, result: ApiResult): void {
  if (res.destroyed || res.headersSent) return;
  const headers = { 'Request-Id': newId('req_', 14), ...result.headers };
  if (result.status === 204 || result.body === null) {
    res.writeHead(result.status, headers).end();
    return;
  }
  res
    .writeHead(result.status, { ...headers, 'Content-Type': 'application/json' })
    .end(JSON.stringify(result.body));
}
