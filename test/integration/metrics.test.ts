import { freePort } from '../../src/toolchain/dev-server';
import {
  cardPayment,
  eventually,
  useTestServer,
  startTestWorker,
  TEST_CARDS,
  testClient,
  testTaskQueue,
  spawnWorkerProcess,
} from '../helpers';
import { createGateway } from '../../src/activities/gateways';

const testServer = useTestServer();

/** Prometheus text format → `name{a="x",b="y"}` (labels sorted) → value. */
function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || line.startsWith('#')) continue;
    const labels = [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)]
      .map(([, k, v]) => `${k}="${v}"`)
      .sort()
      .join(',');
    samples.set(`${m[1]}{${labels}}`, Number(m[3]));
  }
  return samples;
}

/** A sample's value; absent samples read as 0, as Prometheus counters do before their first increment. */
function sample(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  const key = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  return samples.get(`${name}{${key}}`) ?? 0;
}

/** The sum of a metric's samples over every label combination containing `labels`. */
function total(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum = 0;
  for (const [key, value] of samples) {
    if (!key.startsWith(`${name}{`)) continue;
    const have = key.slice(name.length + 1, -1).split(',');
    if (wanted.every((l) => have.includes(l))) sum += value;
  }
  return sum;
}

async function scrape(port: number): Promise<{ text: string; samples: Map<string, number> }> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, samples: parseMetrics(text) };
}

test('the standalone worker serves business metrics that match what happened, plus the Temporal core metrics', async () => {
  const taskQueue = testTaskQueue();
  const port = await freePort();
  const worker = spawnWorkerProcess({
    TEMPORAL_ADDRESS: testServer.server.address,
    AEGISPAY_TASK_QUEUE: taskQueue,
    AEGISPAY_GATEWAYS: 'MOCK',
    AEGISPAY_METRICS_PORT: String(port),
    AEGISPAY_LOG_LEVEL: 'INFO',
  });
  const aegis = testClient(testServer.server, taskQueue);
  try {
    await worker.ready;
    const successes = await Promise.all([10, 20, 30].map((amount) => aegis.pay(cardPayment({ amount }))));
    const declines = await Promise.all(
      [1, 2].map(() => aegis.pay(cardPayment({ cardNumber: TEST_CARDS.declined }))),
    );
    expect(successes.map((p) => p.state)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
    expect(declines.map((p) => p.state)).toEqual(['FAILURE', 'FAILURE']);
    const refunded = await aegis.refundPayment(successes[0]!.id, { amount: 4.25, refundId: 're_metrics_1' });
    expect(refunded.amounts.refunded).toBe(425);

    const { text, samples } = await scrape(port);
    const mock = { gateway: 'MOCK' };
    expect(
      sample(samples, 'aegispay_gateway_calls_total', { ...mock, operation: 'charge', outcome: 'succeeded' }),
    ).toBe(3);
    expect(
      sample(samples, 'aegispay_gateway_calls_total', { ...mock, operation: 'charge', outcome: 'declined' }),
    ).toBe(2);
    expect(
      sample(samples, 'aegispay_gateway_calls_total', { ...mock, operation: 'charge', outcome: 'failed' }),
    ).toBe(0);
    expect(
      sample(samples, 'aegispay_gateway_calls_total', { ...mock, operation: 'refund', outcome: 'succeeded' }),
    ).toBe(1);
    expect(total(samples, 'aegispay_gateway_calls_total')).toBe(6);
    expect(sample(samples, 'aegispay_gateway_latency_seconds_count', { ...mock, operation: 'charge' })).toBe(
      5,
    );
    expect(sample(samples, 'aegispay_gateway_latency_seconds_count', { ...mock, operation: 'refund' })).toBe(
      1,
    );
    // Every state each payment entered, as its workflow reported it: created and processing before
    // routing chose a gateway, then settled at MOCK, and one partly refunded.
    const none = { gateway: 'none' };
    expect(sample(samples, 'aegispay_payments_total', { ...none, state: 'INITIATED' })).toBe(5);
    expect(sample(samples, 'aegispay_payments_total', { ...none, state: 'PROCESSING' })).toBe(5);
    expect(sample(samples, 'aegispay_payments_total', { ...mock, state: 'SUCCESS' })).toBe(3);
    expect(sample(samples, 'aegispay_payments_total', { ...mock, state: 'FAILURE' })).toBe(2);
    expect(sample(samples, 'aegispay_payments_total', { ...mock, state: 'PARTIALLY_REFUNDED' })).toBe(1);
    expect(total(samples, 'aegispay_payments_total')).toBe(16);
    expect(sample(samples, 'aegispay_refunds_total', { ...mock, outcome: 'succeeded' })).toBe(1);
    expect(total(samples, 'aegispay_refunds_total')).toBe(1);
    expect(sample(samples, 'aegispay_refunded_amount_minor_total', { currency: 'USD' })).toBe(425);
    expect(sample(samples, 'aegispay_circuit_breaker_state', mock)).toBe(0);
    expect(total(samples, 'aegispay_circuit_breaker_transitions_total')).toBe(0);
    expect(total(samples, 'aegispay_routing_decisions_total', mock)).toBe(5);
    expect(sample(samples, 'aegispay_routing_decisions_total', { ...mock, strategy: 'intelligent' })).toBe(5);

    // The Temporal core's own metrics come in the same scrape: 5 charges, 1 refund and 5 routing
    // local activities; the two declined payments' workflows have completed (FAILURE is terminal).
    expect(text).toMatch(/^temporal_workflow_task_execution_latency_bucket\{/m);
    const wf = { workflow_type: 'paymentWorkflow' };
    expect(total(samples, 'temporal_activity_task_received', { ...wf, activity_type: 'chargePayment' })).toBe(
      5,
    );
    expect(total(samples, 'temporal_activity_task_received', { ...wf, activity_type: 'refundPayment' })).toBe(
      1,
    );
    expect(total(samples, 'temporal_local_activity_total', { ...wf, activity_type: 'routePayment' })).toBe(5);
    await eventually(
      async () => total((await scrape(port)).samples, 'temporal_workflow_completed', wf) === 2,
    );
  } finally {
    await aegis.close();
    worker.child.kill('SIGTERM');
    await new Promise((resolve) => worker.child.once('exit', resolve));
  }
}, 90_000);

test('an AegisPay worker started with a metrics port serves them too, counting every call', async () => {
  const taskQueue = testTaskQueue();
  const port = await freePort();
  // In this process the Temporal runtime is already installed (test setup), so only AegisPay's own metrics show.
  const worker = await startTestWorker(testServer.server, taskQueue, [createGateway('MOCK')], {
    metrics: { port },
  });
  const aegis = testClient(testServer.server, taskQueue);
  try {
    await aegis.pay(cardPayment({ cardNumber: TEST_CARDS.insufficientFunds }));
    const { samples } = await scrape(port);
    expect(
      sample(samples, 'aegispay_gateway_calls_total', {
        gateway: 'MOCK',
        operation: 'charge',
        outcome: 'declined',
      }),
    ).toBe(1);
    expect(sample(samples, 'aegispay_payments_total', { gateway: 'MOCK', state: 'FAILURE' })).toBe(1);
  } finally {
    await aegis.close();
    await worker.stop();
  }
  // The endpoint lives as long as the worker runs.
  await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
}, 60_000);
