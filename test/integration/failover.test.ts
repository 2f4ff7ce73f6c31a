import type { Gateway } from '../../src/activities/gateways/gateway';
import type { Payment } from '../../src/domain/types';
import { paymentWorkflowId } from '../../src/domain/ids';
import { freePort } from '../../src/toolchain/dev-server';
import {
  cardPayment,
  eventually,
  rawClient,
  startTestPayments,
  startTestWorker,
  testClient,
  testTaskQueue,
  spawnWorkerProcess,
} from '../helpers';
import { preferFirst, useSandboxHarness } from '../helpers/sandbox';

const ADAPTER_TIMEOUT_MS = 1500;
const RESET_TIMEOUT_MS = 3000;

const h = useSandboxHarness({ adapterTimeoutMs: ADAPTER_TIMEOUT_MS });

/** Charges the sandbox booked for a payment, on either gateway. */
const chargesOf = (p: Payment) =>
  h.sandbox
    .ledger({ status: 'succeeded' })
    .filter((e) => e.paymentId === p.id && (e.kind === 'charge' || e.kind === 'authorization'));

/** A worker whose routing prefers the first gateway (it is cheaper), with a breaker quick to open and reset. */
const setup = async (gateways: Gateway[]) =>
  startTestPayments(h.server, gateways, {
    worker: {
      routing: {
        routing: preferFirst(gateways),
        circuitBreaker: { failureThreshold: 3, resetTimeoutMs: RESET_TIMEOUT_MS, monitorWindowMs: 60_000 },
      },
      healthReporting: { client: await rawClient(h.server), intervalMs: 300 },
    },
    client: { gatewayTimeoutMs: 5000 },
  });

test('an outage of the primary opens its breaker; payments fail over to the secondary; a probe closes it once the outage ends', async () => {
  const { aegis, taskQueue, close } = await setup([h.stripe(), h.paypal()]);
  const observer = testClient(h.server, taskQueue); // a process that runs no worker
  try {
    h.sandbox.setFaults({ outage: true }, 'stripe');
    // The first payments meet the outage: 503s are unknown outcomes, so they wait to reconcile.
    const early = [aegis.pay(cardPayment({ amount: 10 })), aegis.pay(cardPayment({ amount: 11 }))];
    const open = await eventually(async () => {
      const summary = await observer.getHealthSummary();
      return summary.gateways.find((g) => g.gateway === 'STRIPE' && g.state === 'OPEN') ? summary : undefined;
    }, 30_000);
    expect(open.gateways.find((g) => g.gateway === 'STRIPE')!.failures).toBeGreaterThanOrEqual(3);
    expect(open.transitions).toEqual(
      expect.arrayContaining([expect.objectContaining({ gateway: 'STRIPE', from: 'CLOSED', to: 'OPEN' })]),
    );

    // With the breaker open, new payments go straight to the secondary.
    const routedAway = await Promise.all([
      aegis.pay(cardPayment({ amount: 20 })),
      aegis.pay(cardPayment({ amount: 21 })),
    ]);
    for (const p of routedAway) {
      expect(p).toMatchObject({ state: 'SUCCESS', gateway: 'PAYPAL' });
      expect(p.attempts.map((a) => a.gateway)).toEqual(['PAYPAL']);
      expect(p.routing?.candidates.find((c) => c.gateway === 'STRIPE')).toMatchObject({
        breaker: 'OPEN',
        eligible: false,
      });
    }

    // The outage ends. The payments caught in it either got through on a same-key retry, or learned by
    // reconciliation that the primary never charged them and failed over: one charge each, either way.
    h.sandbox.setFaults({}, 'stripe');
    const all = [...(await Promise.all(early)), ...routedAway];
    for (const p of all) {
      expect(p.state).toBe('SUCCESS');
      const charges = chargesOf(p);
      expect(charges).toHaveLength(1);
      expect(charges[0]!.gateway).toBe(p.gateway!.toLowerCase());
      if (p.attempts.length > 1) expect(p.attempts[0]!.reconciliationChecks).toBeGreaterThanOrEqual(1);
    }

    // After resetTimeoutMs a probe goes to the primary and closes the breaker.
    await new Promise((r) => setTimeout(r, RESET_TIMEOUT_MS + 200));
    const probe = await aegis.pay(cardPayment({ amount: 30 }));
    expect(probe).toMatchObject({ state: 'SUCCESS', gateway: 'STRIPE' });
    await eventually(async () => {
      const s = await observer.getHealthSummary();
      return s.gateways.find((g) => g.gateway === 'STRIPE')?.state === 'CLOSED';
    });
    // The figures come from the worker's reports, read by a process that runs no worker.
    const paypalPayments = all.filter((p) => p.gateway === 'PAYPAL').length;
    await eventually(
      async () => (await observer.getGatewayMetrics('PAYPAL'))[0]?.successes === paypalPayments,
    );
  } finally {
    await observer.close();
    await close();
  }
}, 120_000);

test('commit, then timeout: the payment ends SUCCESS on the first gateway with exactly one charge there and none elsewhere', async () => {
  const { aegis, close } = await setup([h.stripe(), h.paypal()]);
  try {
    h.sandbox.setFaults({ commitThenTimeout: { next: 1 } }, 'stripe');
    const payment = await aegis.pay(cardPayment({ amount: 42 }));
    expect(payment).toMatchObject({ state: 'SUCCESS', gateway: 'STRIPE' });
    const charges = chargesOf(payment);
    expect(charges).toHaveLength(1);
    expect(charges[0]).toMatchObject({ gateway: 'stripe', amount: 4200 });
    expect(h.sandbox.ledger({ gateway: 'paypal' }).filter((e) => e.paymentId === payment.id)).toHaveLength(0);
    expect(payment.attempts).toHaveLength(1);
  } finally {
    await close();
  }
}, 60_000);

test("a lost answer that Stripe's lagging search cannot show yet is waited out, not failed over", async () => {
  const SEARCH_LAG_MS = 15_000;
  const { aegis, close } = await setup([h.stripe({ lookupLagMs: SEARCH_LAG_MS + 2000 }), h.paypal()]);
  const client = await rawClient(h.server);
  try {
    // The charge is booked and its answer held back; its same-key retries then meet 5xx until they
    // are spent, so only a lookup can tell what happened, and the search does not show the charge
    // until SEARCH_LAG_MS after it was booked.
    h.sandbox.setFaults({ commitThenTimeout: { next: 1 }, searchLagMs: SEARCH_LAG_MS }, 'stripe');
    const request = cardPayment({ amount: 43 });
    const paying = aegis.pay(request);
    const booked = () => h.sandbox.ledger({ gateway: 'stripe', kind: 'charge', status: 'succeeded' });
    const before = booked().length;
    await eventually(async () => booked().length === before + 1);
    h.sandbox.setFaults({ errorRate: 1, searchLagMs: SEARCH_LAG_MS }, 'stripe');
    const history = client.workflow.getHandle(paymentWorkflowId(request.idempotencyKey));
    await eventually(async () =>
      (await history.fetchHistory()).events?.some(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'getOperationStatus',
      ),
    );
    // Lookups now answer, but "not found" for a while.
    h.sandbox.setFaults({ searchLagMs: SEARCH_LAG_MS }, 'stripe');

    const payment = await paying;
    // Trusting the first "not found" answers would have failed over and charged PAYPAL as well.
    expect(payment).toMatchObject({ state: 'SUCCESS', gateway: 'STRIPE' });
    expect(chargesOf(payment)).toEqual([expect.objectContaining({ gateway: 'stripe', amount: 4300 })]);
    expect(payment.attempts).toEqual([
      expect.objectContaining({ gateway: 'STRIPE', outcome: 'succeeded', errorCode: expect.any(String) }),
    ]);
    expect(payment.attempts[0]!.reconciliationChecks).toBeGreaterThan(1);
  } finally {
    await client.connection.close();
    await close();
  }
}, 90_000);

test('a gateway that refuses connections is failed over at once, with no reconciliation', async () => {
  const closedPort = await freePort();
  const { aegis, close } = await setup([h.paypal({ baseUrl: `http://127.0.0.1:${closedPort}` }), h.stripe()]);
  try {
    const payment = await aegis.pay(cardPayment({ amount: 15 }));
    expect(payment).toMatchObject({ state: 'SUCCESS', gateway: 'STRIPE' });
    expect(payment.attempts.map((a) => [a.gateway, a.outcome])).toEqual([
      ['PAYPAL', 'failed'],
      ['STRIPE', 'succeeded'],
    ]);
    expect(payment.attempts[0]!.reconciliationChecks).toBeUndefined();
    expect(chargesOf(payment)).toHaveLength(1);
  } finally {
    await close();
  }
}, 60_000);

test('a decline never fails over', async () => {
  const { aegis, close } = await setup([h.stripe(), h.paypal()]);
  try {
    const payment = await aegis.pay(cardPayment({ cardNumber: '4000000000000002' }));
    expect(payment).toMatchObject({
      state: 'FAILURE',
      failure: { code: 'card_declined', gateway: 'STRIPE' },
    });
    expect(payment.attempts.map((a) => a.gateway)).toEqual(['STRIPE']);
    expect(h.sandbox.ledger({ gateway: 'paypal' }).filter((e) => e.paymentId === payment.id)).toHaveLength(0);
  } finally {
    await close();
  }
}, 60_000);

test('a worker killed with SIGKILL during a charge at the sandbox is replaced and the payment ends with exactly one charge', async () => {
  const taskQueue = testTaskQueue();
  const { child, ready } = spawnWorkerProcess({
    TEMPORAL_ADDRESS: h.server.address,
    AEGISPAY_TASK_QUEUE: taskQueue,
    AEGISPAY_GATEWAYS: 'STRIPE',
    STRIPE_API_KEY: 'sk_test_aegispay',
    STRIPE_BASE_URL: h.sandbox.url,
    AEGISPAY_GATEWAY_TIMEOUT_MS: String(ADAPTER_TIMEOUT_MS),
    // The same policy as the replacement below: a fleet admits only workers that decide alike.
    STRIPE_LOOKUP_LAG_MS: '0',
    AEGISPAY_LOG_LEVEL: 'INFO',
  });
  await ready;
  // The sandbox books the charge and then holds the answer: the worker dies waiting for it.
  h.sandbox.setFaults({ commitThenTimeout: { next: 1 } }, 'stripe');
  const aegis = testClient(h.server, taskQueue, { gatewayTimeoutMs: 3000 });
  const paying = aegis.pay(cardPayment({ amount: 77 }));
  await eventually(
    async () => h.sandbox.ledger({ gateway: 'stripe', status: 'succeeded' }).some((e) => e.amount === 7700),
    30_000,
  );
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));

  const replacement = await startTestWorker(h.server, taskQueue, [h.stripe()]);
  try {
    const payment = await paying;
    expect(payment).toMatchObject({ state: 'SUCCESS', gateway: 'STRIPE' });
    expect(chargesOf(payment)).toHaveLength(1);
  } finally {
    await aegis.close();
    await replacement.stop();
  }
}, 90_000);

test('a refund whose answer is lost after the gateway booked it is recorded once, as succeeded', async () => {
  const { aegis, close } = await setup([h.stripe(), h.paypal()]);
  try {
    const paid = await aegis.pay(cardPayment({ amount: 40 }));
    expect(paid.gateway).toBe('STRIPE');
    // The refund is booked and its answer held back; then every retry meets a 5xx for a while, more
    // than the activity's own retries can wait out. Only a same-key replay can tell what happened.
    h.sandbox.setFaults({ commitThenTimeout: { next: 1 } }, 'stripe');
    const refunding = aegis.refundPayment(paid.id, { amount: 5, refundId: 'lost_answer' });
    const bookedRefunds = () =>
      h.sandbox.ledger({ kind: 'refund', status: 'succeeded' }).filter((e) => e.paymentId === paid.id);
    await eventually(async () => bookedRefunds().length === 1);
    h.sandbox.setFaults({ errorRate: 1 }, 'stripe');
    await new Promise((r) => setTimeout(r, ADAPTER_TIMEOUT_MS + 2000));
    h.sandbox.setFaults({}, 'stripe');
    const refunded = await refunding;
    expect(refunded).toMatchObject({ state: 'PARTIALLY_REFUNDED', amounts: { refunded: 500 } });
    expect(refunded.refunds).toEqual([expect.objectContaining({ id: 'lost_answer', status: 'succeeded' })]);
    const booked = h.sandbox
      .ledger({ kind: 'refund', status: 'succeeded' })
      .filter((e) => e.paymentId === paid.id);
    expect(booked.map((e) => e.amount)).toEqual([500]);
  } finally {
    await close();
  }
}, 60_000);
