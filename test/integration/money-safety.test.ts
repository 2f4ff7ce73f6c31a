/**
 * Regressions for the ways money was lost or moved twice when main was attacked from outside: every one
 * runs against a real dev server and the sandbox PSP over HTTP, and checks the sandbox's books.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { Gateway } from '../../src/activities/gateways/gateway';
import type { AegisPay } from '../../src/embedded/aegis-pay';
import type { AegisPayConfig } from '../../src/config';
import type { DomainEvent, Payment } from '../../src/domain/types';
import { cardPayment, eventually, expectAegisError, rawClient, startTestPayments } from '../helpers';
import { openWork } from '../helpers/open-work';
import { preferFirst, useSandboxHarness } from '../helpers/sandbox';

const h = useSandboxHarness({ adapterTimeoutMs: 1000 });

/** No same-key retries: a lost answer goes straight to the lookups (a retry would get Stripe's replay). */
const NO_RETRY: AegisPayConfig = {
  retry: { maxRetries: 0, initialDelayMs: 10, maxDelayMs: 50, backoffMultiplier: 2 },
};

/** Short windows, so that review and its rechecks happen within a test. */
const SHORT: AegisPayConfig = {
  gatewayTimeoutMs: 3000,
  reconciliationWindowMs: 1500,
  reviewRecheckIntervalMs: 1000,
};

/** A worker whose routing prefers the first gateway, and a client with short review windows. */
const setup = (gateways: Gateway[], config: AegisPayConfig = {}) =>
  startTestPayments(h.server, gateways, {
    worker: { routing: { routing: preferFirst(gateways) } },
    client: { ...SHORT, ...config },
  });

/** Gateways holding money for a payment (collected minus refunded, or pending), by the sandbox's books. */
function holders(p: Payment): { gateway: string; held: number; pending: number }[] {
  return h.sandbox
    .holdings({ paymentId: p.id })
    .filter((holding) => holding.held !== 0 || holding.pending !== 0)
    .map(({ gateway, held, pending }) => ({ gateway, held, pending }));
}

/**
 * Pays while STRIPE books the charge and loses its answer, and then answers no lookup (a 503 outage of
 * its reads): the outcome stays open whatever the workflow does.
 */
async function payWithAnswerAndLookupsLost(aegis: AegisPay, amount: number): Promise<Payment> {
  h.sandbox.setFaults({ commitThenTimeout: 1, operations: ['charge'] }, 'stripe');
  const paying = aegis.pay(cardPayment({ amount }));
  await eventually(async () =>
    h.sandbox.ledger({ gateway: 'stripe', kind: 'charge' }).some((e) => e.amount === amount * 100),
  );
  h.sandbox.setFaults({ outage: true, operations: ['lookup'] }, 'stripe');
  return paying;
}

async function handleOf(p: Payment): Promise<WorkflowHandle> {
  return (await rawClient(h.server)).workflow.getHandle(p.id);
}

function eventTypes(events: DomainEvent[]): string[] {
  return events.map((e) => e.type);
}

describe('1. an in-progress answer never fails over', () => {
  test('PayPal answers a capture with PENDING: review, no second gateway; the settled capture ends it SUCCESS', async () => {
    const { aegis, close } = await setup([h.paypal(), h.stripe()]);
    try {
      h.sandbox.setFaults({ pending: { next: 1 }, operations: ['charge'] }, 'paypal');
      const p = await aegis.pay(cardPayment({ amount: 25 }));
      expect(p).toMatchObject({ state: 'REQUIRES_REVIEW', gateway: 'PAYPAL' });
      expect(p.review).toMatchObject({ operation: 'charge', gateway: 'PAYPAL' });
      expect(p.attempts.map((a) => [a.gateway, a.outcome])).toEqual([['PAYPAL', 'unknown']]);
      expect(holders(p)).toEqual([{ gateway: 'paypal', held: 0, pending: 2500 }]);
      // In review, the payment has a recheck timer pending: never a silent wait.
      expect(await openWork(await handleOf(p))).toMatchObject({ timers: expect.any(Number) });

      const pending = h.sandbox.ledger({ status: 'pending' }).find((e) => e.paymentId === p.id)!;
      expect(h.sandbox.settle(pending.reference, 'succeeded')).toBe(true);
      const settled = await eventually(async () => {
        const now = await aegis.getPayment(p.id);
        return now.state === 'SUCCESS' ? now : undefined;
      });
      expect(settled).toMatchObject({ gateway: 'PAYPAL', amounts: { captured: 2500 } });
      expect(holders(p)).toEqual([{ gateway: 'paypal', held: 2500, pending: 0 }]);
      expect(eventTypes(await aegis.getPaymentEvents(p.id))).toEqual(
        expect.arrayContaining(['REVIEW_REQUIRED', 'REVIEW_RESOLVED', 'PAYMENT_SUCCEEDED']),
      );
    } finally {
      await close();
    }
  }, 60_000);

  test('a PENDING capture that PayPal later declines ends FAILURE with its code, still without a second gateway', async () => {
    const { aegis, close } = await setup([h.paypal(), h.stripe()]);
    try {
      h.sandbox.setFaults({ pending: { next: 1 }, operations: ['charge'] }, 'paypal');
      const p = await aegis.pay(cardPayment({ amount: 26 }));
      expect(p.state).toBe('REQUIRES_REVIEW');
      const pending = h.sandbox.ledger({ status: 'pending' }).find((e) => e.paymentId === p.id)!;
      h.sandbox.settle(pending.reference, 'failed');
      const failed = await eventually(async () => {
        const now = await aegis.getPayment(p.id);
        return now.state === 'FAILURE' ? now : undefined;
      });
      expect(failed.failure).toMatchObject({ gateway: 'PAYPAL' });
      expect(failed.attempts.map((a) => a.gateway)).toEqual(['PAYPAL']);
      expect(holders(p)).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);
});

describe('a refusal of a retry says nothing of the first try', () => {
  test('a charge whose answer is lost and whose retries are rate limited is found by the lookup: one charge, never a second attempt', async () => {
    const { aegis, close } = await setup([h.stripe(), h.paypal()]);
    try {
      h.sandbox.setFaults({ commitThenTimeout: { next: 1 }, operations: ['charge'] }, 'stripe');
      const paying = aegis.pay(cardPayment({ amount: 36 }));
      await eventually(async () =>
        h.sandbox.ledger({ gateway: 'stripe', kind: 'charge' }).some((e) => e.amount === 3600),
      );
      h.sandbox.setFaults({ rateLimitRate: 1, operations: ['charge'] }, 'stripe');
      const p = await paying;
      expect(p).toMatchObject({ state: 'SUCCESS', gateway: 'STRIPE' });
      expect(p.attempts.map((a) => a.gatewayIdempotencyKey.split(':').pop())).toEqual(['1']);
      expect(holders(p)).toEqual([{ gateway: 'stripe', held: 3600, pending: 0 }]);
    } finally {
      await close();
    }
  }, 60_000);

  test('a PayPal refund answered PENDING, then rate limited, is not recorded failed; the lookup settles it once PayPal completes it', async () => {
    const { aegis, close } = await setup([h.paypal(), h.stripe()]);
    try {
      const p = await aegis.pay(cardPayment({ amount: 37 }));
      expect(p.gateway).toBe('PAYPAL');
      h.sandbox.setFaults({ pending: { next: 1 }, rateLimitRate: 0, operations: ['refund'] }, 'paypal');
      const inReview = await aegis.refundPayment(p.id, { amount: 10, refundId: 'pending_refund' });
      expect(inReview).toMatchObject({ state: 'REQUIRES_REVIEW', review: { operation: 'refund' } });
      // While every refund request is rate limited, rechecks learn nothing, and record nothing as failed.
      h.sandbox.setFaults({ rateLimitRate: 1, operations: ['refund'] }, 'paypal');
      const pending = h.sandbox.ledger({ status: 'pending' }).find((e) => e.paymentId === p.id)!;
      h.sandbox.settle(pending.reference, 'succeeded');
      await new Promise((r) => setTimeout(r, 4000));
      const still = await aegis.getPayment(p.id);
      expect(still).toMatchObject({ state: 'REQUIRES_REVIEW', refunds: [] });
      h.sandbox.setFaults({}, 'paypal');
      const settled = await eventually(async () => {
        const now = await aegis.getPayment(p.id);
        return now.state === 'PARTIALLY_REFUNDED' ? now : undefined;
      });
      expect(settled.refunds).toEqual([
        expect.objectContaining({ id: 'pending_refund', status: 'succeeded' }),
      ]);
      expect(holders(p)).toEqual([{ gateway: 'paypal', held: 2700, pending: 0 }]);
    } finally {
      h.sandbox.setFaults({}, 'paypal');
      await close();
    }
  }, 60_000);
});

describe('2. a decline learned by a lookup stays a decline', () => {
  test('STRIPE books a decline and the answer is lost: FAILURE card_declined at STRIPE, never tried at PAYPAL', async () => {
    const { aegis, close } = await setup([h.stripe(), h.paypal()], NO_RETRY);
    try {
      // The decline is booked and its answer held back past the adapter's timeout (a reset is answered
      // by stripe-node's own resend, which gets Stripe's replay of the decline: no lookup needed then).
      h.sandbox.setFaults({ commitThenTimeout: 1, operations: ['charge'] }, 'stripe');
      const p = await aegis.pay(cardPayment({ cardNumber: '4000000000000002', amount: 31 }));
      expect(p).toMatchObject({ state: 'FAILURE', failure: { code: 'card_declined', gateway: 'STRIPE' } });
      expect(p.attempts.map((a) => [a.gateway, a.outcome, a.errorCode])).toEqual([
        ['STRIPE', 'declined', 'card_declined'],
      ]);
      expect(p.attempts[0]!.reconciliationChecks).toBeGreaterThanOrEqual(1);
      expect(h.sandbox.ledger({ gateway: 'paypal' }).filter((e) => e.paymentId === p.id)).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);
});

describe('3. a full refund happens only when asked for explicitly', () => {
  test('refund signals and updates with null, nothing, {}, "" or junk refund nothing; each is refused and recorded', async () => {
    const { aegis, close } = await setup([h.stripe(), h.paypal()]);
    try {
      const p = await aegis.pay(cardPayment({ amount: 35 }));
      const handle = await handleOf(p);
      const hostile: unknown[] = [
        null,
        undefined,
        {},
        { amount: '' },
        { amount: null },
        [],
        'all',
        0,
        { amount: -1 },
        { amount: '1e3' },
        { amount: 1, full: true },
        { full: 'yes' },
        { amount: 'x'.repeat(1_000_000) },
      ];
      for (const payload of hostile) {
        await (payload === undefined ? handle.signal('refund') : handle.signal('refund', payload));
      }
      for (const payload of [null, {}, { amount: '' }]) {
        await expect(handle.executeUpdate('refund', { args: [payload] })).rejects.toMatchObject({
          cause: { type: 'VALIDATION_ERROR' },
        });
      }
      const events = await eventually(async () => {
        const all = await aegis.getPaymentEvents(p.id);
        return all.filter((e) => e.type === 'REQUEST_REJECTED').length === hostile.length ? all : undefined;
      });
      for (const e of events.filter((e) => e.type === 'REQUEST_REJECTED')) {
        expect(JSON.stringify(e.data).length).toBeLessThan(2048);
      }
      expect(await aegis.getPayment(p.id)).toMatchObject({ state: 'SUCCESS', amounts: { refunded: 0 } });
      expect(holders(p)).toEqual([{ gateway: 'stripe', held: 3500, pending: 0 }]);

      await handle.signal('refund', { full: true, refundId: 'all_of_it' });
      const refunded = await eventually(async () => {
        const now = await aegis.getPayment(p.id);
        return now.state === 'REFUNDED' ? now : undefined;
      });
      expect(refunded.amounts.refunded).toBe(3500);
      expect(holders(p)).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);
});

describe('doors that skip the client', () => {
  test('a payment workflow started by hand with a card number, a negative amount or junk ends before any gateway call', async () => {
    const { aegis, close } = await setup([h.stripe(), h.paypal()]);
    const client = await rawClient(h.server);
    try {
      const good = await aegis.createPayment(cardPayment({ amount: 90 }));
      const input = await client.workflow.getHandle(good.id).fetchHistory();
      const started = input.events![0]!.workflowExecutionStartedEventAttributes!;
      const real = JSON.parse(Buffer.from(started.input!.payloads![0]!.data!).toString()) as {
        payment: Record<string, unknown> & { paymentMethod: { card: Record<string, unknown> } };
        settings: Record<string, unknown>;
      };
      const taskQueue = started.taskQueue!.name!;
      const variants = [
        {
          ...real.payment,
          paymentMethod: {
            type: 'CARD',
            card: { ...real.payment.paymentMethod.card, token: '4242424242424242' },
          },
        },
        { ...real.payment, amount: { amount: -100, currency: 'USD' } },
        { ...real.payment, gatewayType: 'EVIL' },
      ];
      for (const [i, payment] of variants.entries()) {
        const id = `${String(real.payment.id)}-hand-${i}`;
        const handle = await client.workflow.start('paymentWorkflow', {
          workflowId: id,
          taskQueue,
          args: [{ payment: { ...payment, id }, settings: real.settings }],
        });
        await expect(handle.result()).rejects.toMatchObject({ cause: { type: 'VALIDATION_ERROR' } });
      }
      expect(h.sandbox.ledger().filter((e) => String(e.paymentId).includes('-hand-'))).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);

  test('completeAction and process updates with junk are refused; a 3-D Secure payment is not failed by them', async () => {
    const { aegis, close } = await setup([h.stripe(), h.paypal()]);
    try {
      const p = await aegis.pay(cardPayment({ amount: 91, cardNumber: '4000002760003184' }));
      expect(p.state).toBe('REQUIRES_ACTION');
      const handle = await handleOf(p);
      for (const payload of [null, {}, { succeeded: 'false' }, { succeeded: 0 }, []]) {
        await expect(handle.executeUpdate('completeAction', { args: [payload] })).rejects.toMatchObject({
          cause: { type: 'VALIDATION_ERROR' },
        });
      }
      await expect(
        handle.executeUpdate('process', { args: [{ gatewayType: 'EVIL' }] }),
      ).rejects.toMatchObject({
        cause: { type: 'VALIDATION_ERROR' },
      });
      expect((await aegis.getPayment(p.id)).state).toBe('REQUIRES_ACTION');
      expect(h.sandbox.ledger({ kind: 'void' }).filter((e) => e.paymentId === p.id)).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);
});

describe('4. no payment is stuck when a call and its lookups both fail', () => {
  test('answers and lookups time out: REQUIRES_REVIEW with a recheck timer; once the gateway answers, SUCCESS with one charge', async () => {
    const { aegis, close } = await setup([h.stripe(), h.paypal()], NO_RETRY);
    try {
      const p = await payWithAnswerAndLookupsLost(aegis, 41);
      expect(p).toMatchObject({ state: 'REQUIRES_REVIEW', gateway: 'STRIPE' });
      expect(p.review).toMatchObject({ operation: 'charge', gateway: 'STRIPE' });
      expect(await openWork(await handleOf(p))).toMatchObject({ timers: 1 });
      expect(holders(p)).toEqual([{ gateway: 'stripe', held: 4100, pending: 0 }]);

      h.sandbox.setFaults({}, 'stripe');
      const settled = await eventually(async () => {
        const now = await aegis.getPayment(p.id);
        return now.state === 'SUCCESS' ? now : undefined;
      }, 20_000);
      expect(settled.gateway).toBe('STRIPE');
      expect(holders(p)).toEqual([{ gateway: 'stripe', held: 4100, pending: 0 }]);
    } finally {
      await close();
    }
  }, 60_000);

  test('an operator settles a review with a recorded decision; the CLI-style signal with a bad payload is refused and recorded', async () => {
    const { aegis, close } = await setup([h.stripe(), h.paypal()], NO_RETRY);
    try {
      const p = await payWithAnswerAndLookupsLost(aegis, 42);
      expect(p.state).toBe('REQUIRES_REVIEW');
      const handle = await handleOf(p);
      await handle.signal('resolveReview', { outcome: 'done' }); // no operator: refused
      await handle.signal('resolveReview', null);
      const reference = h.sandbox.ledger({ gateway: 'stripe' }).find((e) => e.paymentId === p.id)!.payment;
      const resolved = await aegis.resolveReview(p.id, {
        outcome: 'done',
        operator: 'alice@example.com',
        note: 'seen in the Stripe dashboard',
        reference,
      });
      expect(resolved).toMatchObject({ state: 'SUCCESS', gatewayReference: reference });
      const events = await aegis.getPaymentEvents(p.id);
      const rejected = events.filter((e) => e.type === 'REQUEST_REJECTED');
      expect(rejected.map((e) => e.data.request)).toEqual(['resolveReview', 'resolveReview']);
      expect(events.find((e) => e.type === 'REVIEW_RESOLVED')?.data).toMatchObject({
        by: 'operator',
        operator: 'alice@example.com',
        outcome: 'done',
      });
    } finally {
      h.sandbox.setFaults({}, 'stripe');
      await close();
    }
  }, 60_000);
});

describe("5. Temporal's own cancellation is handled by the payment", () => {
  test('"Request Cancellation" on an AUTHORIZED payment voids the authorization; the payment stays readable', async () => {
    const { aegis, close } = await setup([h.stripe(), h.paypal()]);
    try {
      const p = await aegis.pay(cardPayment({ amount: 51, captureMethod: 'manual' }));
      expect(p.state).toBe('AUTHORIZED');
      await (await handleOf(p)).cancel();
      const cancelled = await eventually(async () => {
        const now = await aegis.getPayment(p.id);
        return now.state === 'CANCELLED' ? now : undefined;
      });
      expect(cancelled.cancellationReason).toBe('cancellation_requested');
      expect(h.sandbox.openAuthorizations({ paymentId: p.id })).toEqual([]);
      expect(eventTypes(await aegis.getPaymentEvents(p.id))).toEqual(
        expect.arrayContaining(['CANCELLATION_REQUESTED', 'PAYMENT_CANCELLED']),
      );
      await expectAegisError(aegis.capturePayment(p.id), 'INVALID_STATE_TRANSITION');
      await expectAegisError(aegis.refundPayment(p.id, { amount: 1 }), 'INVALID_STATE_TRANSITION');
      expect((await aegis.cancelPayment(p.id)).state).toBe('CANCELLED');
    } finally {
      await close();
    }
  }, 60_000);

  test('on a captured payment it is refused and recorded; refunds still work', async () => {
    const { aegis, close } = await setup([h.stripe(), h.paypal()]);
    try {
      const p = await aegis.pay(cardPayment({ amount: 52 }));
      await (await handleOf(p)).cancel();
      await eventually(async () =>
        (await aegis.getPaymentEvents(p.id)).some(
          (e) => e.type === 'REQUEST_REJECTED' && e.data.request === 'workflow-cancel',
        ),
      );
      const refunded = await aegis.refundPayment(p.id, { amount: 2 });
      expect(refunded).toMatchObject({ state: 'PARTIALLY_REFUNDED', amounts: { refunded: 200 } });
      expect(holders(p)).toEqual([{ gateway: 'stripe', held: 5000, pending: 0 }]);
    } finally {
      await close();
    }
  }, 60_000);

  test('during a charge it is refused; the charge finishes and is kept', async () => {
    const { aegis, close } = await setup([h.stripe(), h.paypal()]);
    try {
      h.sandbox.setFaults({ latencyMs: 800, operations: ['charge'] }, 'stripe');
      const paying = aegis.pay(cardPayment({ amount: 53 }));
      const id = await eventually(async () => {
        const entry = (await aegis.listPayments({ state: 'PROCESSING' })).payments[0];
        return entry?.id;
      });
      await (await rawClient(h.server)).workflow.getHandle(id).cancel();
      const p = await paying;
      expect(p).toMatchObject({ state: 'SUCCESS', gateway: 'STRIPE' });
      expect(holders(p)).toEqual([{ gateway: 'stripe', held: 5300, pending: 0 }]);
    } finally {
      await close();
    }
  }, 60_000);
});

describe('terminate, then recover', () => {
  test('a payment terminated while its charge was in flight is recovered into review and settled by the lookup: one charge', async () => {
    const { aegis, close } = await setup([h.stripe(), h.paypal()]);
    try {
      h.sandbox.setFaults({ latencyMs: 800, operations: ['charge'] }, 'stripe');
      const created = await aegis.createPayment(cardPayment({ amount: 81 }));
      void aegis.processPayment({ paymentId: created.id }).catch(() => undefined);
      const handle = await handleOf(created);
      await eventually(async () => (await openWork(handle)).activities > 0);
      await handle.terminate('operator mistake');
      await eventually(async () =>
        h.sandbox.ledger({ gateway: 'stripe' }).some((e) => e.paymentId === created.id),
      );
      h.sandbox.setFaults({}, 'stripe');

      const recovered = await aegis.recoverPayment(created.id);
      expect(recovered).toMatchObject({ state: 'REQUIRES_REVIEW', review: { operation: 'charge' } });
      const settled = await eventually(async () => {
        const now = await aegis.getPayment(created.id);
        return now.state === 'SUCCESS' ? now : undefined;
      });
      expect(settled.gateway).toBe('STRIPE');
      expect(holders(settled)).toEqual([{ gateway: 'stripe', held: 8100, pending: 0 }]);
      const types = eventTypes(await aegis.getPaymentEvents(created.id));
      expect(types.slice(0, 3)).toEqual(['PAYMENT_INITIATED', 'PAYMENT_PROCESSING', 'PAYMENT_ROUTED']);
      expect(types).toEqual(
        expect.arrayContaining(['PAYMENT_RECOVERED', 'REVIEW_RESOLVED', 'PAYMENT_SUCCEEDED']),
      );
    } finally {
      await close();
    }
  }, 60_000);

  test('a terminated AUTHORIZED payment is recovered as it was and can still be captured, once', async () => {
    const { aegis, close } = await setup([h.stripe(), h.paypal()]);
    try {
      const p = await aegis.pay(cardPayment({ amount: 82, captureMethod: 'manual' }));
      await (await handleOf(p)).terminate('operator mistake');
      expect((await aegis.recoverPayment(p.id)).state).toBe('AUTHORIZED');
      // A second recover of a running payment changes nothing.
      expect((await aegis.recoverPayment(p.id)).version).toBe((await aegis.getPayment(p.id)).version);
      const captured = await aegis.capturePayment(p.id);
      expect(captured).toMatchObject({ state: 'SUCCESS', amounts: { captured: 8200 } });
      expect(holders(p)).toEqual([{ gateway: 'stripe', held: 8200, pending: 0 }]);
    } finally {
      await close();
    }
  }, 60_000);
});

describe('concurrent duplicates of one follow-up resolve to the one operation', () => {
  test('10 concurrent captures and then 10 concurrent cancels: one capture, every caller answered', async () => {
    const { aegis, close } = await setup([h.stripe(), h.paypal()]);
    try {
      const p = await aegis.pay(cardPayment({ amount: 60, captureMethod: 'manual' }));
      const captures = await Promise.all(Array.from({ length: 10 }, () => aegis.capturePayment(p.id)));
      for (const c of captures) expect(c).toMatchObject({ state: 'SUCCESS', amounts: { captured: 6000 } });
      const booked = h.sandbox.ledger({ kind: 'capture' }).filter((e) => e.paymentId === p.id);
      expect(booked).toHaveLength(1);

      const q = await aegis.pay(cardPayment({ amount: 61, captureMethod: 'manual' }));
      const cancels = await Promise.all(Array.from({ length: 10 }, () => aegis.cancelPayment(q.id)));
      for (const c of cancels) expect(c.state).toBe('CANCELLED');
      expect(h.sandbox.ledger({ kind: 'void' }).filter((e) => e.paymentId === q.id)).toHaveLength(1);
    } finally {
      await close();
    }
  }, 60_000);
});

describe('every state that is not final has work in flight or a timer', () => {
  test('INITIATED, PROCESSING, REQUIRES_ACTION, AUTHORIZED, SUCCESS, PARTIALLY_REFUNDED, REQUIRES_REVIEW; final states close', async () => {
    const { aegis, close } = await setup([h.stripe(), h.paypal()], NO_RETRY);
    const client = await rawClient(h.server);
    const seen = new Map<string, { activities: number; timers: number }>();
    const check = async (p: Payment) => {
      const now = await aegis.getPayment(p.id);
      const work = await openWork(client.workflow.getHandle(p.id));
      seen.set(now.state, work);
      return work;
    };
    try {
      await check(await aegis.createPayment(cardPayment({ amount: 70 })));
      await check(await aegis.pay(cardPayment({ amount: 71, cardNumber: '4000002760003184' })));
      await check(await aegis.pay(cardPayment({ amount: 72, captureMethod: 'manual' })));
      const paid = await aegis.pay(cardPayment({ amount: 73 }));
      await check(paid);
      await check(await aegis.refundPayment(paid.id, { amount: 1 }));

      h.sandbox.setFaults({ latencyMs: 800, operations: ['charge'] }, 'stripe');
      const slow = await aegis.createPayment(cardPayment({ amount: 74 }));
      const processing = aegis.processPayment({ paymentId: slow.id });
      await eventually(async () => (await aegis.getPayment(slow.id)).state === 'PROCESSING');
      await check(slow);
      await processing;

      await check(await payWithAnswerAndLookupsLost(aegis, 75));
      h.sandbox.setFaults({}, 'stripe');

      expect([...seen.keys()].sort()).toEqual(
        [
          'AUTHORIZED',
          'INITIATED',
          'PARTIALLY_REFUNDED',
          'PROCESSING',
          'REQUIRES_ACTION',
          'REQUIRES_REVIEW',
          'SUCCESS',
        ].sort(),
      );
      for (const [state, work] of seen) {
        expect({ state, open: work.activities + work.timers > 0 }).toEqual({ state, open: true });
      }

      // Final states: the workflow closes once its handlers are done.
      const refunded = await aegis.refundPayment(paid.id, { full: true });
      expect(refunded.state).toBe('REFUNDED');
      await eventually(async () => {
        const { status } = await client.workflow.getHandle(paid.id).describe();
        return status.name === 'COMPLETED';
      });
    } finally {
      h.sandbox.setFaults({}, 'stripe');
      await close();
    }
  }, 90_000);
});
