import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { createGateway } from '../../src/activities/gateways';
import {
  cardPayment,
  eventually,
  useTestServer,
  startTestWorker,
  TEST_CARDS,
  testClient,
  testTaskQueue,
} from '../helpers';

const testServer = useTestServer();

test('one pay is one trace: from the client call through the workflow to the gateway activity', async () => {
  const exporter = new InMemorySpanExporter();
  // A simple processor hands each span over as it ends, so the test reads them without a flush.
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const taskQueue = testTaskQueue();
  const worker = await startTestWorker(testServer.server, taskQueue, [createGateway('MOCK')], {
    tracing: { tracerProvider },
  });
  const aegis = testClient(testServer.server, taskQueue, { tracing: { tracerProvider } });
  try {
    // A successful payment's workflow stays open for refunds, so its RunWorkflow span has not ended
    // yet; a declined one closes at once and shows that span too.
    const [paid, declined] = await Promise.all([
      aegis.pay(cardPayment({ amount: 12 })),
      aegis.pay(cardPayment({ cardNumber: TEST_CARDS.declined })),
    ]);
    expect([paid.state, declined.state]).toEqual(['SUCCESS', 'FAILURE']);

    /** The span names of the trace the client's pay call started for this payment. */
    const traceOf = async (paymentId: string, last: string) =>
      eventually(async () => {
        const spans = exporter.getFinishedSpans();
        const client = spans.find(
          (s) =>
            s.name === 'UpdateWithStartWorkflow:process' && s.attributes.temporalWorkflowId === paymentId,
        );
        const inTrace = spans.filter((s) => s.spanContext().traceId === client?.spanContext().traceId);
        return inTrace.some((s) => s.name === last) ? { client: client!, spans: inTrace } : undefined;
      });

    const success = await traceOf(paid.id, 'HandleUpdate:process');
    expect(success.spans.map((s) => s.name)).toEqual(
      expect.arrayContaining([
        'UpdateWithStartWorkflow:process',
        'ValidateUpdate:process',
        'HandleUpdate:process',
        'StartActivity:routePayment',
        'RunActivity:routePayment',
        'StartActivity:chargePayment',
        'RunActivity:chargePayment',
      ]),
    );
    // The gateway call hangs under the workflow's scheduling span, which hangs under the update handler.
    const span = (name: string): ReadableSpan => success.spans.find((s) => s.name === name)!;
    expect(span('RunActivity:chargePayment').parentSpanId).toBe(
      span('StartActivity:chargePayment').spanContext().spanId,
    );
    expect(span('StartActivity:chargePayment').parentSpanId).toBe(
      span('HandleUpdate:process').spanContext().spanId,
    );
    expect(span('HandleUpdate:process').parentSpanId).toBe(success.client.spanContext().spanId);
    expect(span('RunActivity:chargePayment').attributes).toMatchObject({ temporalWorkflowId: paid.id });

    const failure = await traceOf(declined.id, 'RunWorkflow:paymentWorkflow');
    expect(failure.spans.map((s) => s.name)).toEqual(
      expect.arrayContaining([
        'RunWorkflow:paymentWorkflow',
        'HandleUpdate:process',
        'RunActivity:chargePayment',
      ]),
    );
    expect(failure.client.spanContext().traceId).not.toBe(success.client.spanContext().traceId);
  } finally {
    await aegis.close();
    await worker.stop();
    await tracerProvider.shutdown();
  }
});
