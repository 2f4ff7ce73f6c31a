/**
 * How long the client waits for Temporal, and what it reports when Temporal does not answer. Every
 * request carries a gRPC deadline, so a call never hangs on a silent server, and the client's error is
 * TEMPORAL_UNAVAILABLE rather than whatever the SDK makes of the failed request (a missing workflow, a
 * timed-out update).
 */
import {
  InterceptingCall,
  ListenerBuilder,
  Metadata,
  status,
  type Interceptor,
  type NextCall,
  type StatusObject,
} from '@grpc/grpc-js';
import { defaultGrpcRetryOptions, isGrpcServiceError, makeGrpcRetryInterceptor } from '@temporalio/client';
import { TemporalUnavailableError } from '../domain/errors';

/** The client config's default for how long one request to Temporal may go unanswered. */
export const DEFAULT_TEMPORAL_TIMEOUT_MS = 10_000;

/**
 * How long Temporal holds a long poll before it answers "not yet" (its default
 * `history.longPollExpirationInterval`): an update waiting for the payment to settle, a workflow's result.
 */
export const TEMPORAL_LONG_POLL_MS = 20_000;

/** Requests that Temporal answers when the workflow has moved on, or after a long poll. */
const LONG_POLLS = new Set([
  'ExecuteMultiOperation',
  'UpdateWorkflowExecution',
  'PollWorkflowExecutionUpdate',
  'GetWorkflowExecutionHistory',
]);

const TIMER_SLACK_MS = 100;

const NAMESPACE_NOT_FOUND = /^Namespace .* is not found/;

/**
 * A request that cannot be made because the connection was closed (an SDK retry whose timer fired after
 * `close()`): it ends at once with CANCELLED, which nothing retries, where gRPC would throw from the timer
 * and take the application down with it.
 */
function closedConnectionCall(reason: string): InterceptingCall {
  const nothing = () => undefined;
  const inert: ConstructorParameters<typeof InterceptingCall>[0] = {
    cancelWithStatus: nothing,
    getPeer: () => '',
    start: nothing,
    sendMessageWithContext: nothing,
    sendMessage: nothing,
    startRead: nothing,
    halfClose: nothing,
    getAuthContext: () => null,
  };
  return new InterceptingCall(inert, {
    start(_metadata, listener) {
      const ended = {
        code: status.CANCELLED,
        details: `The client is closed: ${reason}`,
        metadata: new Metadata(),
      };
      setImmediate(() => listener.onReceiveStatus(ended));
    },
  });
}

/** Rewrites the status a request ends with; the rest of the call passes through. */
function mapStatus(next: ReturnType<NextCall>, map: (s: StatusObject) => StatusObject): InterceptingCall {
  return new InterceptingCall(next, {
    start(metadata, listener, start) {
      start(metadata, new ListenerBuilder().withOnReceiveStatus((s, receive) => receive(map(s))).build());
    },
  });
}

/**
 * UNAVAILABLE made on this side: a refused connection or a passed deadline. A status the server sent
 * carries its metadata (content type, error details); one gRPC makes up locally carries none.
 */
const unanswered = (s: StatusObject) =>
  s.code === status.UNAVAILABLE && Object.keys(s.metadata.getMap()).length === 0;

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** The gRPC interceptors of a client connection, and the switch that says its namespace has worked. */
export interface TemporalCallBounds {
  interceptors: Interceptor[];
  /** From now on, "namespace not found" means Temporal cannot read its persistence (it existed a moment ago). */
  namespaceConfirmed(): void;
}

/**
 * Bounds every request to Temporal by `timeoutMs`: each attempt has a gRPC deadline of `timeoutMs` (plus
 * the server's long-poll time for the requests that wait on a workflow), and a request that got no
 * answer (refused, or past its deadline) is sent again only while less than `timeoutMs` has passed since
 * its first attempt. Such a request ends with UNAVAILABLE, which the SDK never takes for a lost update
 * answer (that would be sent again) and `temporalUnavailable` reports. Answers from a live server that say
 * "try again" (RESOURCE_EXHAUSTED when it is busy, UNAVAILABLE when it aborted an update that many
 * concurrent callers raced for) keep the SDK's own retries: the server is there, and cutting them would
 * turn a contended payment into an outage.
 */
export function temporalCallBounds(timeoutMs: number): TemporalCallBounds {
  let namespaceWorks = false;
  const withDeadline: Interceptor = (options, nextCall) => {
    // A deadline the caller set itself (Connection.withDeadline) is kept, and so is its error.
    if (options.deadline !== undefined) return new InterceptingCall(nextCall(options));
    const method = options.method_definition.path.split('/').pop() ?? '';
    const waitMs = timeoutMs + (LONG_POLLS.has(method) ? TEMPORAL_LONG_POLL_MS : 0);
    const deadline = Date.now() + waitMs;
    // A deadline error that comes (a timer tick) before ours is Temporal's own, and left to the SDK.
    return mapStatus(nextCall({ ...options, deadline }), (s) =>
      s.code === status.DEADLINE_EXCEEDED && Date.now() >= deadline - TIMER_SLACK_MS
        ? {
            ...s,
            code: status.UNAVAILABLE,
            details: `Temporal did not answer ${method} within ${seconds(waitMs)}`,
          }
        : s,
    );
  };
  const defaults = defaultGrpcRetryOptions();
  // The SDK's retries, those of unanswered requests stopped where the time is up.
  const retryWithinTimeout: Interceptor = (options, nextCall) => {
    const giveUpAt = Date.now() + timeoutMs;
    let delayMs = 0;
    return makeGrpcRetryInterceptor({
      retryableDecider(attempt, s) {
        delayMs = defaults.delayFunction(attempt, s);
        const inTime = !unanswered(s) || Date.now() + delayMs < giveUpAt;
        return defaults.retryableDecider(attempt, s) && inTime;
      },
      delayFunction: () => delayMs,
    })(options, nextCall);
  };
  // While its database is down, Temporal answers every request with "Namespace … is not found": an
  // outage once the namespace has worked (and retried as one), a configuration error before that.
  const persistenceOutage: Interceptor = (options, nextCall) =>
    mapStatus(nextCall(options), (s) => {
      if (!namespaceWorks || s.code !== status.NOT_FOUND || !NAMESPACE_NOT_FOUND.test(s.details)) return s;
      // Without its NamespaceNotFoundFailure detail, which the SDK would throw whatever the code, and
      // without the server's metadata, so that it is retried as an unanswered request: within the bound.
      const details = `Temporal cannot read its persistence (${s.details})`;
      return { ...s, code: status.UNAVAILABLE, details, metadata: new Metadata() };
    });
  const closedConnection: Interceptor = (options, nextCall) => {
    try {
      return new InterceptingCall(nextCall(options));
    } catch (err) {
      return closedConnectionCall((err as Error).message);
    }
  };
  return {
    // The first is the outermost: each retry is a new attempt with a deadline of its own.
    interceptors: [retryWithinTimeout, withDeadline, persistenceOutage, closedConnection],
    namespaceConfirmed: () => (namespaceWorks = true),
  };
}

/** TEMPORAL_UNAVAILABLE for a failure that is Temporal not answering (anywhere in the cause chain). */
export function temporalUnavailable(err: unknown): TemporalUnavailableError | undefined {
  for (let cause: unknown = err; cause instanceof Error; cause = (cause as { cause?: unknown }).cause) {
    if (!isGrpcServiceError(cause)) continue;
    if (cause.code === status.UNAVAILABLE || cause.code === status.DEADLINE_EXCEEDED) {
      return new TemporalUnavailableError(`Temporal is unavailable: ${cause.details}`);
    }
  }
  return undefined;
}
