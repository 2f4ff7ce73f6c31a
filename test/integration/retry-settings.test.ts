/**
 * The two retry settings, each against a real dev server and the sandbox PayPal over HTTP:
 * `retry.maxRetries` bounds the tries of one call whose outcome is unknown (same key), and
 * `retry.chargeAttemptsPerGateway` bounds the charge attempts (new keys) at a gateway answering 429.
 */
import type { AegisPayConfig } from '../../src/config';
import type { Payment } from '../../src/domain/types';
import { cardPayment, startTestPayments } from '../helpers';
import { useSandboxHarness } from '../helpers/sandbox';

const h = useSandboxHarness({ adapterTimeoutMs: 1000 });

/** Pays at the sandbox's PayPal only, with these retry settings and quick backoff. */
async function pay(retry: NonNullable<AegisPayConfig['retry']>): Promise<Payment> {
  const { aegis, close } = await startTestPayments(h.server, [h.paypal()], {
    client: { retry: { initialDelayMs: 10, maxDelayMs: 50, backoffMultiplier: 2, ...retry } },
  });
  try {
    return await aegis.pay(cardPayment({ amount: 12, gatewayType: 'PAYPAL' }));
  } finally {
    await close();
  }
}

const chargeKeys = (p: Payment) => p.attempts.map((a) => a.gatewayIdempotencyKey);

test('maxRetries 2 with one charge attempt: two lost requests are tried again under the same key, but a 429 is not', async () => {
  h.sandbox.setFaults({ resetConnection: { next: 2 }, operations: ['charge'] }, 'paypal');
  const recovered = await pay({ maxRetries: 2, chargeAttemptsPerGateway: 1 });
  expect(recovered).toMatchObject({ state: 'SUCCESS', gateway: 'PAYPAL' });
  expect(recovered.attempts).toHaveLength(1);
  expect(recovered.attempts[0]!.reconciliationChecks).toBeUndefined();

  h.sandbox.setFaults({ rateLimitRate: 1, operations: ['charge'] }, 'paypal');
  const limited = await pay({ maxRetries: 2, chargeAttemptsPerGateway: 1 });
  expect(limited.state).toBe('FAILURE');
  expect(chargeKeys(limited)).toEqual([`${limited.id}:charge:1`]);
});

test('maxRetries 0 with three charge attempts: a 429 gets three attempts under new keys, a lost request goes straight to lookups', async () => {
  h.sandbox.setFaults({ rateLimitRate: 1, operations: ['charge'] }, 'paypal');
  const limited = await pay({ maxRetries: 0, chargeAttemptsPerGateway: 3 });
  expect(limited.state).toBe('FAILURE');
  expect(chargeKeys(limited)).toEqual([1, 2, 3].map((n) => `${limited.id}:charge:${n}`));

  h.sandbox.setFaults({ resetConnection: { next: 1 }, operations: ['charge'] }, 'paypal');
  const lost = await pay({ maxRetries: 0, chargeAttemptsPerGateway: 3 });
  // Not retried under its key: the lookups learn that nothing was charged, and the pinned payment fails.
  expect(lost.state).toBe('FAILURE');
  expect(lost.attempts).toHaveLength(1);
  expect(lost.attempts[0]!.reconciliationChecks).toBeGreaterThanOrEqual(3);
});
