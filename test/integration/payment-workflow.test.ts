import { temporal } from '@temporalio/proto';
import {
  useMockHarness,
  cardPayment,
  eventually,
  expectAegisError,
  rawClient,
  TEST_CARDS,
  uniqueKey,
} from '../helpers';

const h = useMockHarness();

/** The events of a payment charged at the first try, in order. */
const HAPPY_PATH_EVENTS = ['PAYMENT_INITIATED', 'PAYMENT_PROCESSING', 'PAYMENT_ROUTED', 'PAYMENT_SUCCEEDED'];

test('a created payment is INITIATED and processing it charges once and ends in SUCCESS', async () => {
  const created = await h.aegis.createPayment(cardPayment({ amount: 99.99 }));
  expect(created.state).toBe('INITIATED');
  expect(created.amount).toEqual({ amount: 9999, currency: 'USD' });

  const done = await h.aegis.processPayment({ paymentId: created.id });
  expect(done.state).toBe('SUCCESS');
  expect(done.gateway).toBe('MOCK');
  expect(done.amounts).toEqual({ authorized: 9999, captured: 9999, refunded: 0 });
  expect(done.attempts).toHaveLength(1);
  expect(done.attempts[0]).toMatchObject({
    number: 1,
    gateway: 'MOCK',
    outcome: 'succeeded',
    gatewayIdempotencyKey: `${created.id}:charge:1`,
  });
  expect(done.routing?.gateway).toBe('MOCK');
  expect(h.gateway.charges()).toHaveLength(1);
  expect(h.gateway.charges()[0]!.amount).toEqual({ amount: 9999, currency: 'USD' });

  const events = await h.aegis.getPaymentEvents(created.id);
  expect(events.map((e) => e.type)).toEqual(HAPPY_PATH_EVENTS);
  expect(events.map((e) => e.sequence)).toEqual([1, 2, 3, 4]);
  expect(done.version).toBe(4);
});

test('a payment made with pay has its events in order, PAYMENT_INITIATED first', async () => {
  const paid = await h.aegis.pay(cardPayment());
  const events = await h.aegis.getPaymentEvents(paid.id);
  expect(events.map((e) => e.type)).toEqual(HAPPY_PATH_EVENTS);
  expect(events.map((e) => e.sequence)).toEqual([1, 2, 3, 4]);
});

test('processing twice returns the first outcome and charges once', async () => {
  const created = await h.aegis.createPayment(cardPayment());
  const [a, b] = await Promise.all([
    h.aegis.processPayment({ paymentId: created.id }),
    h.aegis.processPayment({ paymentId: created.id }),
  ]);
  const c = await h.aegis.processPayment({ paymentId: created.id });
  expect([a.state, b.state, c.state]).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
  expect(h.gateway.charges()).toHaveLength(1);
});

test.each([
  [TEST_CARDS.declined, 'card_declined'],
  [TEST_CARDS.insufficientFunds, 'insufficient_funds'],
  [TEST_CARDS.processingError, 'processing_error'],
])('card %s ends in FAILURE with code %s instead of throwing', async (cardNumber, code) => {
  const payment = await h.aegis.pay(cardPayment({ cardNumber }));
  expect(payment.state).toBe('FAILURE');
  expect(payment.failure).toMatchObject({ code, gateway: 'MOCK' });
  expect(payment.amounts.captured).toBe(0);
  expect(h.gateway.charges()).toHaveLength(0);
  expect(payment.attempts.at(-1)?.errorCode).toBe(code);
  // A failed payment's workflow closes; it still answers, with no query handler needed.
  expect((await h.aegis.getPayment(payment.id)).failure?.code).toBe(code);
});

test('50 concurrent createPayment calls with one key make one payment, and 50 concurrent pay calls charge it once', async () => {
  const request = cardPayment();
  const created = await Promise.all(Array.from({ length: 50 }, () => h.aegis.createPayment(request)));
  expect(new Set(created.map((p) => p.id)).size).toBe(1);

  const paid = await Promise.all(Array.from({ length: 50 }, () => h.aegis.pay(request)));
  expect(new Set(paid.map((p) => p.id)).size).toBe(1);
  expect(paid.every((p) => p.state === 'SUCCESS')).toBe(true);
  expect(h.gateway.charges()).toHaveLength(1);

  const client = await rawClient(h.server);
  const count = await client.workflow.count(`WorkflowId = '${created[0]!.id}'`);
  expect(count.count).toBe(1);
  await client.connection.close();
});

test('50 concurrent pay calls with a fresh key start one workflow and charge once', async () => {
  const request = cardPayment();
  const paid = await Promise.all(Array.from({ length: 50 }, () => h.aegis.pay(request)));
  expect(new Set(paid.map((p) => p.id)).size).toBe(1);
  expect(paid.every((p) => p.state === 'SUCCESS')).toBe(true);
  expect(h.gateway.charges()).toHaveLength(1);
});

test('the same key with a different request is an IdempotencyConflictError, before and after the payment closed', async () => {
  const request = cardPayment({ cardNumber: TEST_CARDS.declined });
  const open = await h.aegis.createPayment(request);
  await expectAegisError(h.aegis.createPayment({ ...request, amount: 10 }), 'IDEMPOTENCY_CONFLICT');
  await expectAegisError(h.aegis.pay({ ...request, currency: 'EUR' }), 'IDEMPOTENCY_CONFLICT');

  const failed = await h.aegis.processPayment({ paymentId: open.id }); // a decline closes the workflow
  expect(failed.state).toBe('FAILURE');
  const client = await rawClient(h.server);
  await eventually(
    async () => (await client.workflow.getHandle(open.id).describe()).status.name === 'COMPLETED',
  );
  await client.connection.close();

  await expectAegisError(h.aegis.pay({ ...request, amount: 10 }), 'IDEMPOTENCY_CONFLICT');
  const again = await h.aegis.pay(request);
  expect(again).toMatchObject({ id: open.id, state: 'FAILURE' });
});

test('a duplicate with the same card tokenizes again yet is the same request', async () => {
  const request = cardPayment({ cardNumber: '5555555555554444' }); // not a test card: a fresh token every call
  const first = await h.aegis.createPayment(request);
  const second = await h.aegis.createPayment(request);
  expect(second.id).toBe(first.id);
  expect(first.paymentMethod).toMatchObject({ type: 'CARD', card: { brand: 'mastercard', last4: '4444' } });
});

test('invalid requests are rejected naming every bad field, and no workflow is started', async () => {
  const key = uniqueKey();
  const bad = cardPayment({
    idempotencyKey: key,
    amount: -5,
    currency: 'XYZ' as 'USD',
    cardNumber: '4242424242424241',
  });
  bad.customer = { id: 'c1', email: 'not-an-email' };
  const err = (await expectAegisError(h.aegis.createPayment(bad), 'VALIDATION_ERROR')) as unknown as {
    issues: { path: string }[];
  };
  const paths = err.issues.map((i) => i.path);
  expect(paths).toEqual(
    expect.arrayContaining(['amount', 'currency', 'customer.email', 'paymentMethod.details.cardNumber']),
  );
  await expectAegisError(h.aegis.pay(bad), 'VALIDATION_ERROR');

  const client = await rawClient(h.server);
  expect((await client.workflow.count(`WorkflowId = 'payment:${key}'`)).count).toBe(0);
  await expect(client.workflow.getHandle(`payment:${key}`).describe()).rejects.toThrow(/not found/i);
  await client.connection.close();
});

test('the raw history of a card payment contains neither the card number nor the CVV', async () => {
  const cvv = '987';
  const payment = await h.aegis.pay(cardPayment({ cardNumber: '4000056655665556', cvv })); // visa debit, not a test-token card
  expect(payment.state).toBe('SUCCESS');
  const client = await rawClient(h.server);
  const { history } = await client.workflowService.getWorkflowExecutionHistory({
    namespace: h.server.namespace,
    execution: { workflowId: payment.id },
  });
  const raw = Buffer.from(temporal.api.history.v1.History.encode(history!).finish());
  const described = await client.workflow.getHandle(payment.id).describe();
  await client.connection.close();

  expect(raw.length).toBeGreaterThan(1000);
  expect(raw.includes('5556')).toBe(true); // last 4 are allowed, and prove we looked at the right bytes
  for (const secret of ['4000056655665556', '4000 0566 5566 5556']) expect(raw.includes(secret)).toBe(false);
  expect(raw.includes(`"cvv"`)).toBe(false);
  expect(raw.includes(`:"${cvv}"`)).toBe(false);
  expect(payment.id).not.toContain('4000056655665556');
  expect(JSON.stringify(described.raw)).not.toContain('4000056655665556');
});

test('payments are listed by state and customer from visibility', async () => {
  const customerId = uniqueKey('cust');
  const ok = await h.aegis.pay({ ...cardPayment(), customer: { id: customerId } });
  const declined = await h.aegis.pay({
    ...cardPayment({ cardNumber: TEST_CARDS.declined }),
    customer: { id: customerId },
  });
  const listed = await eventually(async () => {
    const page = await h.aegis.listPayments({ customerId });
    return page.payments.length === 2 &&
      page.payments.every((p) => p.state !== 'INITIATED' && p.state !== 'PROCESSING')
      ? page
      : undefined;
  });
  expect(listed.payments.map((p) => p.id).sort()).toEqual([ok.id, declined.id].sort());
  const failures = await h.aegis.listPayments({ customerId, state: 'FAILURE' });
  expect(failures.payments.map((p) => p.id)).toEqual([declined.id]);
  expect(failures.payments[0]).toMatchObject({ amount: 9999, currency: 'USD', gateway: 'MOCK', customerId });
  expect((await h.aegis.getCustomerPayments(customerId, 1)).payments).toHaveLength(1);
});

test('getPayment of an unknown payment is PAYMENT_NOT_FOUND', async () => {
  await expectAegisError(h.aegis.getPayment('payment:does_not_exist'), 'PAYMENT_NOT_FOUND');
  await expectAegisError(
    h.aegis.processPayment({ paymentId: 'payment:does_not_exist' }),
    'PAYMENT_NOT_FOUND',
  );
});
