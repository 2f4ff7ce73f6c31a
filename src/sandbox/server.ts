/**
 * The sandbox PSP: one local HTTP server speaking the subset of Stripe's and PayPal's APIs the adapters
 * use, with a durable ledger, idempotency and fault injection, so tests and the demo exercise the real
 * adapters over HTTP and can count charges outside the worker.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import getRawBody from 'raw-body';
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
  const psp = new SandboxPsp(options.ledgerFile, options.holdMs ?? 10 * 60_000);
  const server = createServer((incoming, res) => {
    readRequest(incoming)
      .then((req) => {
        if (req.path.startsWith('/__admin/')) return psp.handleAdmin(req, res);
        const api = APIS.find((a) => a.owns(req.path));
        if (!api) return send(res, { status: 404, body: { error: `unknown path ${req.path}` } });
        return psp.handleApi(api, req, res);
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
    ledger: (filter) => psp.ledger(filter),
    setFaults: (f, gateway = 'all') => psp.faults.set(f, gateway),
    reset: (opts) => psp.reset(opts),
    failThreeDSecure: (reference) => psp.failThreeDSecureAndFlush(reference),
    settle: (reference, outcome) => psp.settle(reference, outcome),
    holdings: (filter = {}) => byPayment(holdings(psp.store.entries()), filter),
    openAuthorizations: (filter = {}) => byPayment(openAuthorizations(psp.store.entries()), filter),
    stop: () =>
      new Promise<void>((resolve) => {
        psp.clearTimers();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The sandbox's state (ledger, faults, timers) and its answers to API and admin requests. */
class SandboxPsp {
  readonly store: SandboxStore;
  readonly faults = new FaultInjector();
  /** Answers held back by `commitThenTimeout`. */
  private readonly held = new Set<NodeJS.Timeout>();
  /** Pending objects that settle by themselves after `pendingSettleMs`. */
  private readonly settleTimers = new Set<NodeJS.Timeout>();

  constructor(
    ledgerFile: string | undefined,
    private readonly holdMs: number,
  ) {
    this.store = new SandboxStore(ledgerFile);
  }

  ledger(filter: LedgerFilter = {}): LedgerEntry[] {
    return this.store
      .entries()
      .filter((e) =>
        Object.entries(filter).every(([k, v]) => v === undefined || e[k as keyof LedgerEntry] === v),
      );
  }

  failThreeDSecureAndFlush(reference: string): boolean {
    const failed =
      failStripeThreeDSecure(this.store, reference) || failPaypalThreeDSecure(this.store, reference);
    this.store.flush();
    return failed;
  }

  settle(reference: string, outcome: SettleOutcome): boolean {
    const settled = APIS.some((api) => api.settle(this.store, reference, outcome));
    this.store.flush();
    return settled;
  }

  reset(opts: { ledger?: boolean } = {}): void {
    this.faults.clear();
    for (const timer of this.settleTimers) clearTimeout(timer);
    this.settleTimers.clear();
    if (opts.ledger) this.store.clear();
  }

  clearTimers(): void {
    for (const timer of [...this.held, ...this.settleTimers]) clearTimeout(timer);
    this.held.clear();
    this.settleTimers.clear();
  }

  async handleApi(api: GatewayApi, req: ApiRequest, res: ServerResponse): Promise<void> {
    const { gateway } = api;
    const { faults, store } = this;
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
    this.settleLater(added, faults.get(gateway).pendingSettleMs);
    // Like Stripe: answers of requests that ran are kept; validation failures leave the key unused.
    if (key && (result.status < 400 || committed)) {
      store.remember(gateway, key, { fingerprint, status: result.status, body: result.body });
    }
    store.flush();

    if (inScope && committed && faults.roll(gateway, 'commitThenReset')) return void res.socket?.destroy();
    if (inScope && committed && faults.roll(gateway, 'commitThenTimeout'))
      return this.holdAnswer(res, result);
    send(res, result);
  }

  /** Settles the pending entries just added as succeeded after `settleMs`, when set. */
  private settleLater(added: LedgerEntry[], settleMs: number | undefined): void {
    if (settleMs === undefined) return;
    for (const entry of added.filter((e) => e.status === 'pending')) {
      const timer = setTimeout(() => {
        this.settleTimers.delete(timer);
        this.settle(entry.reference, 'succeeded');
      }, settleMs);
      timer.unref();
      this.settleTimers.add(timer);
    }
  }

  /** Sends the answer only after `holdMs`, unless the client gives up first. */
  private holdAnswer(res: ServerResponse, result: ApiResult): void {
    const timer = setTimeout(() => {
      this.held.delete(timer);
      send(res, result);
    }, this.holdMs);
    timer.unref();
    this.held.add(timer);
    res.on('close', () => {
      clearTimeout(timer);
      this.held.delete(timer);
    });
  }

  handleAdmin(req: ApiRequest, res: ServerResponse): void {
    const { faults, store } = this;
    const route = `${req.method} ${req.path}`;
    const body = parseJson(req.body);
    if (route === 'GET /__admin/health') return send(res, { status: 200, body: { ok: true } });
    if (route === 'GET /__admin/ledger') {
      const filter = Object.fromEntries(req.query) as LedgerFilter;
      return send(res, { status: 200, body: { entries: this.ledger(filter) } });
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
        this.settle(reference, outcome)
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
      this.reset({ ledger: (body as { ledger?: unknown } | undefined)?.ledger === true });
      return send(res, { status: 200, body: { ok: true } });
    }
    if (route === 'POST /__admin/three-d-secure') {
      const reference = (body as { reference?: unknown } | undefined)?.reference;
      const failed = typeof reference === 'string' && this.failThreeDSecureAndFlush(reference);
      return send(
        res,
        failed
          ? { status: 200, body: { ok: true } }
          : { status: 404, body: { error: 'no pending challenge' } },
      );
    }
    send(res, { status: 404, body: { error: `no admin route ${route}` } });
  }
}

/** The items of one gateway and/or payment. */
function byPayment<T extends { gateway: SandboxGateway; paymentId?: string }>(
  items: T[],
  filter: Pick<LedgerFilter, 'gateway' | 'paymentId'>,
): T[] {
  return items.filter(
    (i) =>
      (!filter.gateway || i.gateway === filter.gateway) &&
      (!filter.paymentId || i.paymentId === filter.paymentId),
  );
}

async function readRequest(incoming: IncomingMessage): Promise<ApiRequest> {
  const url = new URL(incoming.url ?? '/', 'http://sandbox');
  return {
    method: incoming.method ?? 'GET',
    path: url.pathname,
    query: url.searchParams,
    headers: incoming.headers,
    body: await getRawBody(incoming, { encoding: 'utf8' }),
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
