/**
 * The client while Temporal does not answer: a dev server of this file's own, on a fixed port and a
 * database file, is stopped (SIGSTOP), killed (SIGKILL) and restarted under a client and a worker that
 * charge through the sandbox PSP, whose books say how often each payment was charged.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { status } from '@grpc/grpc-js';
import { TEMPORAL_LONG_POLL_MS } from '../../src/temporal/calls';
import { connectClient } from '../../src/temporal/connection';
import type { CreatePaymentRequest, Payment } from '../../src/domain/types';
import { freePort, startDevServer, type DevServer } from '../../src/toolchain/dev-server';
import {
  cardPayment,
  eventually,
  expectAegisError,
  startTestPayments,
  testClient,
  testTaskQueue,
} from '../helpers';
import { useSandbox } from '../helpers/sandbox';

/** The client's `temporalTimeoutMs` here: short, so that each outage fits a test. */
const TIMEOUT_MS = 3000;
/** Room for a slow, shared machine; a call without a bound would hang far beyond it (or forever). */
const SLACK_MS = 10_000;

let port: number;
let dbFile: string;
let server: DevServer;
/** How long each call took to fail, per kind of outage: the figures docs/production.md quotes. */
const measured: Record<string, Record<string, number>> = {};

let serverRunning = false;
const startServer = async () => {
  const started = await startDevServer({ port, uiPort: false, dbFile, namespace: 'default' });
  server = started;
  serverRunning = true;
  void started.exited.then(() => {
    if (server === started) serverRunning = false;
  });
};

/** Lets a stopped server run again; nothing to do when it has already exited (a test failed after a kill). */
const resumeServer = () => {
  if (serverRunning && server.pid) process.kill(server.pid, 'SIGCONT');
};

beforeAll(async () => {
  port = await freePort();
  dbFile = join(mkdtempSync(join(tmpdir(), 'aegispay-outage-')), 'temporal.db');
  await startServer();
});
afterAll(async () => {
  resumeServer();
  await server?.stop();
  const dir = join(__dirname, '../artifacts');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'outage-times.json'), JSON.stringify(measured, null, 2));
});

const psp = useSandbox({ adapterTimeoutMs: 1000 });

/** A worker charging through the sandbox's STRIPE, and a client whose calls to Temporal are bounded by TIMEOUT_MS. */
const setup = () =>
  startTestPayments(server, [psp.stripe()], {
    client: { temporalTimeoutMs: TIMEOUT_MS, gatewayTimeoutMs: 3000 },
  });

/** Charges the sandbox made for a payment (a second charge of one payment would be a double charge). */
const charges = (p: Pick<Payment, 'id'>) =>
  psp.sandbox.ledger({ gateway: 'stripe', kind: 'charge' }).filter((e) => e.paymentId === p.id);

/** Runs each call at once and records how long it took to fail, and with which code. */
async function failures(calls: Record<string, () => Promise<unknown>>) {
  const started = Date.now();
  const results = await Promise.all(
    Object.entries(calls).map(async ([name, call]) => {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e as { code?: string; message?: string },
      );
      return { name, code: err?.code, message: err?.message, ms: Date.now() - started };
    }),
  );
  return results;
}

const killServer = async () => {
  process.kill(server.pid!, 'SIGKILL');
  await server.exited;
  await server.stop();
};

describe('the client while Temporal does not answer', () => {
  it('fails every call with TEMPORAL_UNAVAILABLE within its bound while the server is stopped (SIGSTOP); after it resumes, the pay() that timed out, repeated with its key, is one payment charged once', async () => {
    const s = await setup();
    try {
      const paid = await s.aegis.pay(cardPayment());
      const authorized = await s.aegis.pay(cardPayment({ captureMethod: 'manual' }));
      expect([paid.state, authorized.state]).toEqual(['SUCCESS', 'AUTHORIZED']);
      const timedOut = cardPayment();

      process.kill(server.pid!, 'SIGSTOP');
      const results = await failures({
        pay: () => s.aegis.pay(timedOut),
        createPayment: () => s.aegis.createPayment(cardPayment()),
        processPayment: () => s.aegis.processPayment({ paymentId: authorized.id }),
        capturePayment: () => s.aegis.capturePayment(authorized.id),
        cancelPayment: () => s.aegis.cancelPayment(authorized.id),
        refundPayment: () => s.aegis.refundPayment(paid.id, { amount: 1, refundId: 'outage-refund' }),
        completePaymentAction: () => s.aegis.completePaymentAction(paid.id, { succeeded: true }),
        resolveReview: () => s.aegis.resolveReview(paid.id, { outcome: 'done', operator: 'ops' }),
        recoverPayment: () => s.aegis.recoverPayment(paid.id),
        getPayment: () => s.aegis.getPayment(paid.id),
        getPaymentByIdempotencyKey: () => s.aegis.getPaymentByIdempotencyKey(paid.idempotencyKey),
        getPaymentEvents: () => s.aegis.getPaymentEvents(paid.id),
        listPayments: () => s.aegis.listPayments({ state: 'SUCCESS' }),
        getCustomerPayments: () => s.aegis.getCustomerPayments('cust_123'),
        getHealthSummary: () => s.aegis.getHealthSummary(),
        getGatewayMetrics: () => s.aegis.getGatewayMetrics(),
        getMetrics: () => s.aegis.getMetrics(),
      });
      process.kill(server.pid!, 'SIGCONT');
      measured.stopped = Object.fromEntries(results.map((r) => [r.name, r.ms]));

      for (const r of results) {
        expect({ call: r.name, code: r.code }).toEqual({ call: r.name, code: 'TEMPORAL_UNAVAILABLE' });
        expect(r.message).toMatch(/Temporal is unavailable: Temporal did not answer/);
        // Requests that wait for the payment get Temporal's long poll on top of the timeout.
        expect(r.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
        expect(r.ms).toBeLessThan(TIMEOUT_MS + TEMPORAL_LONG_POLL_MS + SLACK_MS);
      }

      // The same client answers again, and the repeated pay() is the payment, charged once.
      const again = await s.aegis.pay(timedOut);
      expect(again.idempotencyKey).toBe(timedOut.idempotencyKey);
      expect(again.state).toBe('SUCCESS');
      expect(charges(again)).toHaveLength(1);
      expect((await s.aegis.getPayment(paid.id)).state).toMatch(/SUCCESS|PARTIALLY_REFUNDED/);
    } finally {
      resumeServer();
      await s.close();
    }
  }, 180_000);

  it('fails calls with TEMPORAL_UNAVAILABLE within the timeout while the server is killed (SIGKILL), and the same client answers again once it restarts on its database', async () => {
    const s = await setup();
    try {
      const paid = await s.aegis.pay(cardPayment());
      const authorized = await s.aegis.pay(cardPayment({ captureMethod: 'manual' }));
      const timedOut = cardPayment();
      await killServer();
      const results = await failures({
        pay: () => s.aegis.pay(timedOut),
        capturePayment: () => s.aegis.capturePayment(authorized.id),
        refundPayment: () => s.aegis.refundPayment(paid.id, { amount: 1, refundId: 'outage-refund' }),
        getPayment: () => s.aegis.getPayment(paid.id),
        getPaymentEvents: () => s.aegis.getPaymentEvents(paid.id),
        listPayments: () => s.aegis.listPayments(),
        getMetrics: () => s.aegis.getMetrics(),
      });
      measured.killed = Object.fromEntries(results.map((r) => [r.name, r.ms]));
      for (const r of results) {
        expect({ call: r.name, code: r.code }).toEqual({ call: r.name, code: 'TEMPORAL_UNAVAILABLE' });
        // Refused connections are retried until the timeout, for every kind of request.
        expect(r.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
      }

      await startServer();
      const again = await eventually(() => s.aegis.pay(timedOut).catch(() => undefined), 60_000);
      expect(again.state).toBe('SUCCESS');
      expect(charges(again)).toHaveLength(1);
      expect((await s.aegis.getPayment(paid.id)).id).toBe(paid.id);
    } finally {
      await s.close();
    }
  }, 180_000);

  it('charges once a pay() whose start reached the server but whose answer was lost (server killed mid-charge), repeated after the restart', async () => {
    const s = await setup();
    const raw = await Connection.connect({ address: server.address });
    try {
      // The charge takes long enough at the gateway for the server to die while the client waits.
      psp.sandbox.setFaults({ latencyMs: 1500, operations: ['charge'] }, 'stripe');
      const request: CreatePaymentRequest = cardPayment();
      const first = s.aegis.pay(request).then(
        () => undefined,
        (e: unknown) => e,
      );
      const id = `payment:${request.idempotencyKey}`;
      const client = new Client({ connection: raw, namespace: 'default' });
      await eventually(() =>
        client.workflow
          .getHandle(id)
          .describe()
          .catch(() => undefined),
      );
      await killServer();
      const lost = await first;
      expect((lost as { code?: string }).code).toBe('TEMPORAL_UNAVAILABLE');

      await startServer();
      psp.sandbox.setFaults({}, 'stripe');
      const again = await eventually(() => s.aegis.pay(request).catch(() => undefined), 90_000);
      expect(again.id).toBe(id);
      expect(again.state).toBe('SUCCESS');
      expect(charges(again)).toHaveLength(1);
    } finally {
      psp.sandbox.setFaults({}, 'stripe');
      await raw.close();
      await s.close();
    }
  }, 240_000);

  it('ends a request whose retry was waiting when the client closed with CANCELLED, instead of throwing from the retry timer', async () => {
    const connection = await connectClient({ address: server.address, namespace: 'default' }, TIMEOUT_MS);
    await killServer();
    try {
      const request = connection.workflowService.getSystemInfo({}).then(
        () => undefined,
        (e: unknown) => e,
      );
      // The first attempt is refused at once; the retry interceptor waits before the next one.
      await new Promise((r) => setTimeout(r, 150));
      await connection.close();
      // Before, the retry's timer threw "Channel has been shut down" (an uncaught exception, which fails
      // this test) and the request never settled.
      const err = (await request) as { code?: number; details?: string };
      expect(err.code).toBe(status.CANCELLED);
      expect(err.details).toMatch(/The client is closed: Channel has been shut down/);
    } finally {
      await startServer();
    }
  }, 60_000);

  it('reports "namespace not found" as TEMPORAL_UNAVAILABLE (Temporal cannot read its persistence) once the namespace has worked, and as a configuration error at connect', async () => {
    const namespace = `outage-${randomUUID().slice(0, 8)}`;
    const raw = await Connection.connect({ address: server.address });
    try {
      await raw.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs('1 day'),
      });
      const aegis = testClient(server, testTaskQueue(), {
        temporal: { address: server.address, namespace },
        temporalTimeoutMs: TIMEOUT_MS,
      });
      // A new namespace takes a moment to be served.
      await eventually(() => aegis.getHealthSummary().catch(() => undefined));
      // What a cluster answers while its database is down, made here by deleting the namespace.
      await raw.operatorService.deleteNamespace({ namespace });
      await eventually(() =>
        aegis.getPayment('payment:any').then(
          () => false,
          (e: unknown) => (e as { code?: string }).code === 'TEMPORAL_UNAVAILABLE',
        ),
      );
      const started = Date.now();
      const err = await expectAegisError(aegis.getPayment('payment:any'), 'TEMPORAL_UNAVAILABLE');
      const read = Date.now() - started;
      expect(err.message).toMatch(/Temporal cannot read its persistence \(Namespace outage-\w+ is not found/);
      const paying = Date.now();
      await expectAegisError(aegis.pay(cardPayment()), 'TEMPORAL_UNAVAILABLE');
      measured.namespaceNotFound = { getPayment: read, pay: Date.now() - paying };
      // Retried as an outage until the timeout, in case the database comes back meanwhile.
      for (const ms of Object.values(measured.namespaceNotFound))
        expect(ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
      await aegis.close();

      const fresh = testClient(server, testTaskQueue(), {
        temporal: { address: server.address, namespace },
        temporalTimeoutMs: TIMEOUT_MS,
      });
      const config = await expectAegisError(fresh.getPayment('payment:any'), 'CONFIGURATION_ERROR');
      expect(config.message).toMatch(new RegExp(`Namespace "${namespace}" is not found`));
      await fresh.close();
    } finally {
      await raw.close();
    }
  }, 120_000);
});
