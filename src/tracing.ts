import { context, propagation, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { Resource } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkerOptions } from '@temporalio/worker';
import { z } from 'zod';

/** How AegisPay traces: an application's own tracer provider, or an exporter AegisPay batches spans into. */
export interface TracingConfig {
  /** The application's tracer provider; its span processors also receive the spans made inside workflows. */
  tracerProvider?: BasicTracerProvider;
  /** Where spans go (OTLP, console, in-memory) when no provider is given; AegisPay batches into it. */
  exporter?: SpanExporter;
  /** `service.name` of a provider AegisPay builds. */
  serviceName?: string;
}

/** The `tracing` config field: a provider or an exporter, checked for shape only. */
export const tracingConfigSchema = z.custom<TracingConfig>((v) => {
  const c = v as TracingConfig | undefined;
  return (
    typeof c === 'object' &&
    c !== null &&
    (typeof c.tracerProvider?.getTracer === 'function' || typeof c.exporter?.export === 'function')
  );
}, 'tracing needs a tracerProvider or an exporter');

/** What the client and worker interceptors need: a tracer, and where workflow spans end up. */
export interface Tracing {
  /** The provider in use (the application's, or one AegisPay built); an embedded worker shares it. */
  provider: BasicTracerProvider;
  tracer: Tracer;
  spanProcessor: SpanProcessor;
  resource: Resource;
  /** Flushes and stops a provider AegisPay built; an application's own provider is left to it. */
  shutdown(): Promise<void>;
}

/**
 * The workflow interceptors module (inbound, outbound and internals interceptors) shipped with the
 * SDK; it must be bundled with the workflow code.
 */
export const TRACING_WORKFLOW_INTERCEPTORS =
  require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

/** The client interceptor that opens a span per call and sends its context to the workflow. */
export function tracingClientInterceptors(tracing: Tracing): WorkflowClientInterceptor[] {
  return [new OpenTelemetryWorkflowClientInterceptor({ tracer: tracing.tracer })];
}

/** Worker options for tracing: activity interceptors, and the sink that takes spans out of the workflow sandbox. */
export function tracingWorkerOptions(tracing: Tracing): Pick<WorkerOptions, 'sinks' | 'interceptors'> {
  return {
    sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
    interceptors: {
      activity: [
        (ctx) => ({
          inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer: tracing.tracer }),
          outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
    },
  };
}

/** Builds the tracer and span sink from the config, and makes sure trace context can cross processes. */
export function createTracing(config: TracingConfig): Tracing {
  registerPropagation();
  const own = config.tracerProvider
    ? undefined
    : new BasicTracerProvider({
        resource: new Resource({ 'service.name': config.serviceName ?? 'aegispay' }),
        spanProcessors: [new BatchSpanProcessor(config.exporter!)],
      });
  const provider = config.tracerProvider ?? own!;
  return {
    provider,
    tracer: provider.getTracer('aegispay'),
    spanProcessor: provider.getActiveSpanProcessor(),
    // Workflow spans are rebuilt outside the sandbox and need the provider's resource as a class.
    resource: new Resource(provider.resource.attributes),
    shutdown: async () => await own?.shutdown(),
  };
}

/**
 * The Temporal interceptors read the active span and inject it into headers through the global
 * OpenTelemetry API: without a context manager and a propagator, no trace would reach the workflow.
 * An application that registered its own keeps them.
 */
function registerPropagation(): void {
  const manager = new AsyncLocalStorageContextManager().enable();
  if (!context.setGlobalContextManager(manager)) manager.disable();
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}
