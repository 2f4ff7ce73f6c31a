import { MockGateway } from '../../src/activities/gateways/mock/adapter';
import type { RiskCheckConfig, RiskCheckInput } from '../../src/activities/risk';
import type { AegisPay } from '../../src/embedded/aegis-pay';
import { ROUTING_TRIES } from '../../src/domain/payment';
import {
  cardPayment,
  expectAegisError,
  rawClient,
  startTestWorker,
  TEST_CARDS,
  testClient,
  testTaskQueue,
  type RunningWorker,
  useTestServer,
} from '../helpers';

const testServer = useTestServer();

/** A worker with a MOCK gateway and the given risk check, a client for it, and what the check was asked. */
async function withRiskCheck(
  check: Omit<RiskCheckConfig, 'assess'> & { assess: RiskCheckConfig['assess'] },
  run: (ctx: { aegis: AegisPay; gateway: MockGateway; seen: RiskCheckInput[] }) => Promise<void>,
): Promise<void> {
  const taskQueue = testTaskQueue();
  const gateway = new MockGateway();
  const seen: RiskCheckInput[] = [];
  const worker: RunningWorker = await startTestWorker(testServer.server, taskQueue, [gateway], {
    riskCheck: {
      ...check,
      assess: (payment) => {
        seen.push(payment);
        return check.assess(payment);
      },
    },
  });
  const aegis = testClient(testServer.server, taskQueue);
  try {
    await run({ aegis, gateway, seen });
  } finally {
    await aegis.close();
    await worker.stop();
  }
}

describe('risk check on the worker', () => {
  test('an allowed payment is charged; the assessment is on the payment and in its events, before routing', async () => {
    await withRiskCheck(
      { assess: () => ({ decision: 'allow', score: 12, reason: 'known customer' }) },
      async (t) => {
        const request = cardPayment();
        const paid = await t.aegis.pay(request);
        expect(paid).toMatchObject({
          state: 'SUCCESS',
          risk: { decision: 'allow', score: 12, reason: 'known customer' },
        });
        expect(t.gateway.charges()).toHaveLength(1);
        const types = (await t.aegis.getPaymentEvents(paid.id)).map((e) => e.type);
        expect(types).toEqual([
          'PAYMENT_INITIATED',
          'PAYMENT_PROCESSING',
          'RISK_ASSESSED',
          'PAYMENT_ROUTED',
          'PAYMENT_SUCCEEDED',
        ]);
        // The check sees the tokenized card, never its number or CVV.
        expect(t.seen).toHaveLength(1);
        expect(t.seen[0]).toMatchObject({ paymentId: paid.id, amount: { amount: 9999, currency: 'USD' } });
        expect(t.seen[0]!.paymentMethod).toMatchObject({ type: 'CARD', card: { last4: '4242' } });
        const input = JSON.stringify(t.seen[0]);
        expect(input).not.toContain(TEST_CARDS.success);
        expect(input).not.toContain('"123"');
      },
    );
  });

  test('a denied payment fails with risk_denied and nothing is charged or routed', async () => {
    await withRiskCheck({ assess: () => ({ decision: 'deny', reason: 'velocity limit' }) }, async (t) => {
      const paid = await t.aegis.pay(cardPayment());
      expect(paid).toMatchObject({
        state: 'FAILURE',
        failure: { code: 'risk_denied', message: 'velocity limit' },
        risk: { decision: 'deny' },
        attempts: [],
      });
      expect(paid.routing).toBeUndefined();
      expect(t.gateway.charges()).toHaveLength(0);
      const types = (await t.aegis.getPaymentEvents(paid.id)).map((e) => e.type);
      expect(types).toEqual(['PAYMENT_INITIATED', 'PAYMENT_PROCESSING', 'RISK_ASSESSED', 'PAYMENT_FAILED']);
    });
  });

  test('a check that keeps failing fails closed by default: tried again, then denied, nothing charged', async () => {
    await withRiskCheck(
      {
        assess: () => {
          throw new Error('fraud service unavailable');
        },
      },
      async (t) => {
        const paid = await t.aegis.pay(cardPayment());
        expect(paid).toMatchObject({
          state: 'FAILURE',
          failure: { code: 'risk_denied' },
          risk: { decision: 'deny', checkFailed: 'fraud service unavailable' },
        });
        expect(t.seen).toHaveLength(ROUTING_TRIES);
        expect(t.gateway.charges()).toHaveLength(0);
      },
    );
  });

  test('with onError allow, a failing check lets the payment through and says so', async () => {
    await withRiskCheck(
      {
        onError: 'allow',
        assess: () => Promise.reject(new Error('fraud service unavailable')),
      },
      async (t) => {
        const paid = await t.aegis.pay(cardPayment());
        expect(paid).toMatchObject({
          state: 'SUCCESS',
          risk: { decision: 'allow', checkFailed: 'fraud service unavailable' },
        });
        expect(t.gateway.charges()).toHaveLength(1);
      },
    );
  });

  test('a check that does not answer in time, or answers nonsense, counts as failing', async () => {
    await withRiskCheck({ timeoutMs: 100, assess: () => new Promise(() => undefined) }, async (t) => {
      const paid = await t.aegis.pay(cardPayment());
      expect(paid).toMatchObject({ state: 'FAILURE', risk: { checkFailed: 'no answer within 100 ms' } });
      expect(t.gateway.charges()).toHaveLength(0);
    });
    await withRiskCheck(
      { assess: () => ({ decision: 'maybe' }) as unknown as { decision: 'allow' } },
      async (t) => {
        const paid = await t.aegis.pay(cardPayment());
        expect(paid.state).toBe('FAILURE');
        expect(paid.risk?.checkFailed).toMatch(/unusable answer.*decision/s);
        expect(t.gateway.charges()).toHaveLength(0);
      },
    );
  });

  test('a transient failure is tried again and the real answer counts', async () => {
    let calls = 0;
    await withRiskCheck(
      {
        assess: () => {
          calls += 1;
          if (calls === 1) throw new Error('blip');
          return { decision: 'allow' };
        },
      },
      async (t) => {
        const paid = await t.aegis.pay(cardPayment());
        expect(paid).toMatchObject({ state: 'SUCCESS', risk: { decision: 'allow' } });
        expect(paid.risk?.checkFailed).toBeUndefined();
        expect(t.seen).toHaveLength(2);
      },
    );
  });

  test('the check runs once per payment, not again for later charge attempts', async () => {
    await withRiskCheck({ assess: () => ({ decision: 'allow' }) }, async (t) => {
      // processing_error: new attempts at the same gateway, each routed again, then FAILURE.
      const paid = await t.aegis.pay(cardPayment({ cardNumber: TEST_CARDS.processingError }));
      expect(paid.state).toBe('FAILURE');
      expect(paid.attempts.length).toBeGreaterThan(1);
      expect(t.seen).toHaveLength(1);
    });
  });
});

describe('validate hook in the client', () => {
  test("the caller's rules add to AegisPay's: every problem named, no workflow started", async () => {
    const taskQueue = testTaskQueue();
    const aegis = testClient(testServer.server, taskQueue, {
      validate: (request) => [
        ...(request.customer.email?.endsWith('@example.com')
          ? [{ path: 'customer.email', message: 'test addresses are not accepted' }]
          : []),
        ...(request.metadata?.orderId ? [] : [{ path: 'metadata.orderId', message: 'is required' }]),
      ],
    });
    const client = await rawClient(testServer.server);
    try {
      const request = cardPayment({ metadata: {} });
      const err = await expectAegisError(aegis.pay(request), 'VALIDATION_ERROR');
      expect((err as unknown as { issues: unknown[] }).issues).toEqual([
        { path: 'customer.email', message: 'test addresses are not accepted' },
        { path: 'metadata.orderId', message: 'is required' },
      ]);
      const started = await client.workflow.count(`WorkflowId = 'payment:${request.idempotencyKey}'`);
      expect(started.count).toBe(0);

      // AegisPay's own validation runs first; the caller's rules only see requests that passed it.
      await expectAegisError(aegis.createPayment({ ...request, amount: -1 }), 'VALIDATION_ERROR');
    } finally {
      await aegis.close();
      await client.connection.close();
    }
  });
});
