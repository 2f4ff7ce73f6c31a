import { createServer, type Server } from 'node:http';
import getRawBody from 'raw-body';
import { WebhookEventBus } from '../../src/activities/events';
import { MockGateway } from '../../src/activities/gateways/mock/adapter';
import type { DomainEvent } from '../../src/domain/types';
import { verifyWebhook } from '../../src/webhooks';
import {
  cardPayment,
  eventually,
  expectAegisError,
  rawClient,
  useTestServer,
  startTestWorker,
  testClient,
  testTaskQueue,
} from '../helpers';

// Timers run on the dev server with settings of a second or two. The time-skipping test server
// (temporal-test-server) cannot run workflow updates (temporalio/sdk-java#1903) nor register custom
// search attributes, and the payment workflow needs both before any of its timers can start.
describe('payment timers (dev server, short settings)', () => {
  const testServer = useTestServer();

  test('a payment created and never processed is cancelled as abandoned when its pending timer fires', async () => {
    const taskQueue = testTaskQueue();
    const worker = await startTestWorker(testServer.server, taskQueue, [new MockGateway()]);
    const aegis = testClient(testServer.server, taskQueue, { pendingTimeoutMs: 1000 });
    try {
      const created = await aegis.createPayment(cardPayment());
      const client = await rawClient(testServer.server);
      await eventually(
        async () => (await client.workflow.getHandle(created.id).describe()).status.name === 'COMPLETED',
      );
      await client.connection.close();
      expect(await aegis.getPayment(created.id)).toMatchObject({
        state: 'CANCELLED',
        cancellationReason: 'abandoned',
      });
      await expectAegisError(aegis.processPayment({ paymentId: created.id }), 'INVALID_STATE_TRANSITION');
    } finally {
      await aegis.close();
      await worker.stop();
    }
  });

  test('an uncaptured authorization is voided when it expires, and the payment ends CANCELLED', async () => {
    const taskQueue = testTaskQueue();
    const gateway = new MockGateway();
    const worker = await startTestWorker(testServer.server, taskQueue, [gateway]);
    const aegis = testClient(testServer.server, taskQueue, { authorizationExpiryMs: 1500 });
    try {
      const authorized = await aegis.pay(cardPayment({ captureMethod: 'manual' }));
      expect(authorized.state).toBe('AUTHORIZED');
      const expired = await eventually(async () => {
        const p = await aegis.getPayment(authorized.id);
        return p.state === 'CANCELLED' ? p : undefined;
      });
      expect(expired.cancellationReason).toBe('authorization_expired');
      expect(gateway.operations('void').map((e) => e.paymentId)).toEqual([authorized.id]);
      await expectAegisError(aegis.capturePayment(authorized.id), 'INVALID_STATE_TRANSITION');
    } finally {
      await aegis.close();
      await worker.stop();
    }
  });

  test('a 3-D Secure payment nobody completes fails with action_timeout and is voided', async () => {
    const taskQueue = testTaskQueue();
    const gateway = new MockGateway();
    const worker = await startTestWorker(testServer.server, taskQueue, [gateway]);
    const aegis = testClient(testServer.server, taskQueue, { actionTimeoutMs: 1000 });
    try {
      const pending = await aegis.pay(cardPayment({ cardNumber: '4000002760003184' }));
      expect(pending.state).toBe('REQUIRES_ACTION');
      const failed = await eventually(async () => {
        const p = await aegis.getPayment(pending.id);
        return p.state === 'FAILURE' ? p : undefined;
      });
      expect(failed.failure?.code).toBe('action_timeout');
      expect(gateway.operations('void')).toHaveLength(1);
    } finally {
      await aegis.close();
      await worker.stop();
    }
  });

  test('after the refund window the workflow completes; the payment still answers with no worker, and refunds are refused', async () => {
    const taskQueue = testTaskQueue();
    const worker = await startTestWorker(testServer.server, taskQueue, [new MockGateway()]);
    const aegis = testClient(testServer.server, taskQueue, { refundWindowMs: 1500 });
    const paid = await aegis.pay(cardPayment({ amount: 20 }));
    await aegis.refundPayment(paid.id, { amount: 5, refundId: 'in_window' });
    const client = await rawClient(testServer.server);
    await eventually(
      async () => (await client.workflow.getHandle(paid.id).describe()).status.name === 'COMPLETED',
    );
    await client.connection.close();
    await worker.stop();
    try {
      const closed = await aegis.getPayment(paid.id);
      expect(closed).toMatchObject({ state: 'PARTIALLY_REFUNDED', amounts: { refunded: 500 } });
      await expectAegisError(aegis.refundPayment(paid.id, { amount: 1 }), 'INVALID_STATE_TRANSITION');
      // Repeating a refund that happened inside the window still answers with it.
      expect((await aegis.refundPayment(paid.id, { amount: 5, refundId: 'in_window' })).refunds).toHaveLength(
        1,
      );
    } finally {
      await aegis.close();
    }
  });

  test('a webhook receiver that is down for a while still gets every event, signed, once it is up', async () => {
    const secret = 'whsec_test_secret_0123456789';
    const received = new Map<string, DomainEvent>();
    let up = false;
    let refusals = 0;
    let badSignatures = 0;
    const receiver: Server = createServer((req, res) => {
      void getRawBody(req, { encoding: 'utf8' }).then((body) => {
        if (!up) {
          refusals++;
          res.writeHead(503).end();
          return;
        }
        let event: DomainEvent;
        try {
          event = verifyWebhook<DomainEvent>(body, req.headers, secret);
        } catch {
          badSignatures++;
          res.writeHead(400).end();
          return;
        }
        received.set(event.id, event); // receivers deduplicate by event ID
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const port = (receiver.address() as { port: number }).port;

    const taskQueue = testTaskQueue();
    const bus = new WebhookEventBus({ url: `http://127.0.0.1:${port}/hooks`, secret });
    const worker = await startTestWorker(testServer.server, taskQueue, [new MockGateway()], {
      eventBus: bus,
    });
    const aegis = testClient(testServer.server, taskQueue, {
      events: { publish: true },
      refundWindowMs: 1000,
    });
    try {
      const paid = await aegis.pay(cardPayment({ amount: 10 }));
      await aegis.refundPayment(paid.id, { amount: 10 });
      await eventually(async () => refusals >= 3);
      up = true;
      const events = await aegis.getPaymentEvents(paid.id);
      await eventually(async () => received.size === events.length, 30_000);
      expect([...received.keys()].sort()).toEqual(events.map((e) => e.id).sort());
      expect(events.map((e) => e.type)).toEqual(
        expect.arrayContaining(['PAYMENT_INITIATED', 'PAYMENT_SUCCEEDED', 'REFUND_SUCCEEDED']),
      );
      expect(badSignatures).toBe(0);
      // The workflow waits for delivery before it completes.
      const client = await rawClient(testServer.server);
      await eventually(
        async () => (await client.workflow.getHandle(paid.id).describe()).status.name === 'COMPLETED',
      );
      await client.connection.close();
    } finally {
      await aegis.close();
      await worker.stop();
      receiver.close();
    }
  });
});
