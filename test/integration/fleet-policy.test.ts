import { randomBytes } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { MockGateway } from '../../src/activities/gateways/mock/adapter';
import { StripeGateway } from '../../src/activities/gateways/stripe/adapter';
import type { EncryptionConfig } from '../../src/codec/encryption-codec';
import { createDataConverter } from '../../src/codec/data-converter';
import { connectWorker } from '../../src/temporal/connection';
import { ConfigurationError } from '../../src/domain/errors';
import { gatewayHealthWorkflowId } from '../../src/domain/health';
import { healthQuery } from '../../src/domain/messages';
import { paymentWorkflowId } from '../../src/domain/ids';
import { createLogger } from '../../src/logging';
import { createPaymentWorker, type PaymentWorkerOptions } from '../../src/worker';
import {
  cardPayment,
  expectAegisError,
  rawClient,
  startTestWorker,
  testClient,
  testTaskQueue,
  useTestServer,
} from '../helpers';

const testServer = useTestServer();
const KEYS: EncryptionConfig = { keys: { k1: randomBytes(32).toString('base64') }, activeKeyId: 'k1' };
const limit1000 = {
  name: 'limit-1000',
  assess: (p: { amount: { amount: number } }) => ({
    decision: p.amount.amount > 100_000 ? ('deny' as const) : ('allow' as const),
  }),
};

/** Starts a worker with this identity: the error when it is refused, or a way to stop it. */
async function startWorker(
  taskQueue: string,
  identity: string,
  options: Partial<PaymentWorkerOptions> & { encryption?: EncryptionConfig },
): Promise<{ error?: Error; stop: () => Promise<void> }> {
  const connection = await connectWorker({
    address: testServer.server.address,
    namespace: testServer.server.namespace,
  });
  try {
    const worker = await createPaymentWorker({
      connection,
      namespace: testServer.server.namespace,
      taskQueue,
      gateways: [new MockGateway()],
      logger: createLogger('SILENT'),
      identity,
      dataConverter: createDataConverter(options.encryption),
      ...options,
    });
    const running = worker.run();
    return {
      stop: async () => {
        worker.shutdown();
        await running;
        await connection.close();
      },
    };
  } catch (err) {
    await connection.close();
    return { error: err as Error, stop: async () => undefined };
  }
}

/** Starts a worker and stops it at once if it was admitted; the error when it was refused. */
async function tryWorker(
  taskQueue: string,
  identity: string,
  options: Partial<PaymentWorkerOptions> & { encryption?: EncryptionConfig },
): Promise<Error | undefined> {
  const { error, stop } = await startWorker(taskQueue, identity, options);
  await stop();
  return error;
}

/** The fleet's members, as the gateway-health workflow keeps them. */
async function members(taskQueue: string): Promise<string[]> {
  const client = await rawClient(testServer.server);
  try {
    const state = await client.workflow.getHandle(gatewayHealthWorkflowId(taskQueue)).query(healthQuery);
    return Object.keys(state.members ?? {}).sort();
  } finally {
    await client.connection.close();
  }
}

/** The identities that polled the payment task queue (workflow or activity tasks). */
async function pollers(taskQueue: string): Promise<string[]> {
  const client = await rawClient(testServer.server);
  try {
    const identities = await Promise.all(
      [1, 2].map(async (taskQueueType) => {
        const { pollers } = await client.workflowService.describeTaskQueue({
          namespace: testServer.server.namespace,
          taskQueue: { name: taskQueue },
          taskQueueType,
        });
        return pollers.map((p) => p.identity ?? '');
      }),
    );
    return identities.flat();
  } finally {
    await client.connection.close();
  }
}

test('a second worker with other gateways refuses to start, names the difference and never polls', async () => {
  const taskQueue = testTaskQueue();
  const first = await startTestWorker(testServer.server, taskQueue, [new MockGateway()]);
  try {
    const stripe = new StripeGateway({ apiKey: 'sk_test_fleet', baseUrl: 'http://127.0.0.1:9' });
    const err = await tryWorker(taskQueue, 'stripe-worker', { gateways: [stripe, new MockGateway()] });
    expect(err).toBeInstanceOf(ConfigurationError);
    expect(err!.message).toContain('gateways: this worker STRIPE,MOCK, fleet MOCK');
    expect(err!.message).toContain('use a new task queue');
    expect(await pollers(taskQueue)).not.toContain('stripe-worker');

    // The fleet still pays.
    const aegis = testClient(testServer.server, taskQueue);
    expect((await aegis.pay(cardPayment())).state).toBe('SUCCESS');
    await aegis.close();
  } finally {
    await first.stop();
  }
}, 60_000);

test('an application with its own gateways on a queue whose worker has others is told at its first call, and starts nothing', async () => {
  const taskQueue = testTaskQueue();
  const first = await startTestWorker(testServer.server, taskQueue, [new MockGateway()]);
  const aegis = testClient(testServer.server, taskQueue);
  aegis.registerGatewayInstance(
    new StripeGateway({ apiKey: 'sk_test_fleet', baseUrl: 'http://127.0.0.1:9' }),
  );
  try {
    const request = cardPayment();
    const err = await aegis.pay(request).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(ConfigurationError);
    expect(err!.message).toContain('gateways: this worker STRIPE, fleet MOCK');
    const raw = await rawClient(testServer.server);
    await expect(
      raw.workflow.getHandle(paymentWorkflowId(request.idempotencyKey)).describe(),
    ).rejects.toBeInstanceOf(WorkflowNotFoundError);
    await raw.connection.close();
  } finally {
    await aegis.close();
    await first.stop();
  }
}, 60_000);

test('workers with the same policy share the queue and both take payments', async () => {
  const taskQueue = testTaskQueue();
  const workers = await Promise.all(
    ['worker-a', 'worker-b'].map((id) => startWorker(taskQueue, id, { riskCheck: limit1000 })),
  );
  expect(workers.map((w) => w.error)).toEqual([undefined, undefined]);
  const aegis = testClient(testServer.server, taskQueue);
  try {
    const payments = await Promise.all(
      Array.from({ length: 12 }, (_, i) => aegis.pay(cardPayment({ amount: 10 + i }))),
    );
    expect(payments.map((p) => p.state)).toEqual(Array(12).fill('SUCCESS'));
    expect(await members(taskQueue)).toEqual(['worker-a', 'worker-b']);
  } finally {
    await aegis.close();
    await Promise.all(workers.map((w) => w.stop()));
  }
}, 60_000);

test('a worker without the risk check is refused where one with it runs; once it stopped, the other may start', async () => {
  const taskQueue = testTaskQueue();
  const checked = await startTestWorker(testServer.server, taskQueue, [new MockGateway()], {
    riskCheck: limit1000,
  });
  let stopped = false;
  try {
    const err = await tryWorker(taskQueue, 'unchecked-worker', {});
    expect(err).toBeInstanceOf(ConfigurationError);
    expect(err!.message).toContain("risk check: this worker none, fleet 'limit-1000");

    // A payment over the limit is denied: no worker without the check ever routed it.
    const aegis = testClient(testServer.server, taskQueue);
    const denied = await aegis.pay(cardPayment({ amount: 5000 }));
    expect(denied.state).toBe('FAILURE');
    await aegis.close();

    // Changing the policy on purpose: a stopped worker leaves at once.
    await checked.stop();
    stopped = true;
    expect(await tryWorker(taskQueue, 'unchecked-worker', {})).toBeUndefined();
  } finally {
    if (!stopped) await checked.stop();
  }
}, 60_000);

test('two workers starting together with different policies: exactly one is admitted', async () => {
  const taskQueue = testTaskQueue();
  const stripe = new StripeGateway({ apiKey: 'sk_test_fleet', baseUrl: 'http://127.0.0.1:9' });
  const started = await Promise.all([
    startWorker(taskQueue, 'mock-worker', {}),
    startWorker(taskQueue, 'stripe-worker', { gateways: [stripe] }),
  ]);
  try {
    const admitted = started.filter((s) => !s.error);
    expect(admitted).toHaveLength(1);
    const refused = started.find((s) => s.error)!.error!;
    expect(refused).toBeInstanceOf(ConfigurationError);
    expect(refused.message).toMatch(/gateways: this worker (MOCK|STRIPE), fleet (MOCK|STRIPE)/);
    expect(await members(taskQueue)).toHaveLength(1);
  } finally {
    await Promise.all(started.map((s) => s.stop()));
  }
}, 60_000);

test('a worker without keys is refused on a queue whose workers encrypt', async () => {
  const taskQueue = testTaskQueue();
  const keyed = await startTestWorker(testServer.server, taskQueue, [new MockGateway()], {
    encryption: KEYS,
  });
  try {
    const err = await tryWorker(taskQueue, 'keyless-worker', {});
    expect(err).toBeInstanceOf(ConfigurationError);
    expect(err!.message).toContain('encrypted with key k1');
    expect(await pollers(taskQueue)).not.toContain('keyless-worker');
  } finally {
    await keyed.stop();
  }
}, 60_000);

test('a client without keys is refused before anything starts on an encrypted fleet; a client with them pays', async () => {
  const taskQueue = testTaskQueue();
  const worker = await startTestWorker(testServer.server, taskQueue, [new MockGateway()], {
    encryption: KEYS,
  });
  const keyless = testClient(testServer.server, taskQueue);
  const keyed = testClient(testServer.server, taskQueue, { encryption: KEYS });
  const raw = await rawClient(testServer.server);
  try {
    for (const call of ['pay', 'createPayment'] as const) {
      const request = cardPayment();
      const err = await expectAegisError(keyless[call](request), 'ENCRYPTION_REQUIRED');
      expect(err.message).toContain(`task queue "${taskQueue}"`);
      await expect(
        raw.workflow.getHandle(paymentWorkflowId(request.idempotencyKey)).describe(),
      ).rejects.toBeInstanceOf(WorkflowNotFoundError);
    }
    const paid = await keyed.pay(cardPayment());
    expect(paid.state).toBe('SUCCESS');
    await expectAegisError(keyless.processPayment({ paymentId: paid.id }), 'ENCRYPTION_REQUIRED');
    // Reading it without keys fails clearly too, not with the payload converter's ValueError.
    await expectAegisError(keyless.getPayment(paid.id), 'ENCRYPTION_REQUIRED');
  } finally {
    await raw.connection.close();
    await keyless.close();
    await keyed.close();
    await worker.stop();
  }
}, 60_000);
