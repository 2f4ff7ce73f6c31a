import { ApplicationFailure, Context } from '@temporalio/activity';
import { AegisPayError, ErrorCode } from '../domain/errors';
import type { PaymentStore } from '../store';
import type {
  CaptureMethod,
  DomainEvent,
  GatewayType,
  Metadata,
  Money,
  Payment,
  PaymentMethodType,
  RiskAssessment,
  RoutingDecision,
  StoredPaymentMethod,
} from '../domain/types';
import { ROUTING_TRIES } from '../domain/payment';
import type { Logger } from '../logging';
import { assessRisk, type RiskCheck, type RiskCheckInput } from './risk';
import type { GatewayOperation, PaymentMetrics } from '../metrics';
import type { EventBus } from './events';
import type { GatewayRegistry } from './gateway-registry';
import type { GatewayRouter } from './gateway-router';
import {
  GatewayError,
  type ChargeResult,
  type FollowUpRequest,
  type Gateway,
  type GatewayErrorCategory,
  type OperationStatus,
} from './gateways/gateway';

export interface RouteInput {
  paymentId: string;
  amount: Money;
  method: PaymentMethodType;
  metadata: Metadata;
  country?: string;
  /** The caller's explicit choice; routing honours it or fails. */
  pinned?: GatewayType;
  /** Gateways this payment has already failed over from. */
  exclude?: GatewayType[];
  /** The payment, for the worker's risk check (sent with the first routing only). */
  risk?: RiskCheckInput;
}

export interface ChargeInput {
  paymentId: string;
  gateway: GatewayType;
  gatewayIdempotencyKey: string;
  amount: Money;
  paymentMethod: StoredPaymentMethod;
  captureMethod: CaptureMethod;
  customerId: string;
}

export interface StatusInput {
  gateway: GatewayType;
  gatewayIdempotencyKey: string;
  /** The charge's gateway reference, for a follow-up's lookup. */
  reference?: string;
}

/** A lookup's answer, with how long the gateway's lookups may lag behind its calls. */
export type StatusAnswer = OperationStatus & { lookupLagMs: number };

/** A follow-up call on an earlier charge (confirm, capture, void, refund). */
export interface FollowUpInput {
  paymentId: string;
  gateway: GatewayType;
  gatewayIdempotencyKey: string;
  /** The charge's gateway reference. */
  reference: string;
  /** Capture and refund amounts. */
  amount?: Money;
  reason?: string;
}

export interface ActivityDeps {
  gateways: GatewayRegistry;
  /** Breakers and statistics of this worker's gateways. */
  router: GatewayRouter;
  logger: Logger;
  /** Where domain events go; without one, publishing is a no-op. */
  eventBus?: EventBus;
  /** Business metrics; without them, counting is a no-op. */
  metrics?: PaymentMetrics;
  /** A fraud or risk check made before each payment's first charge. */
  riskCheck?: RiskCheck;
  /** The system of record the workflows project into; without one, projecting is a no-op. */
  store?: PaymentStore;
}

/** A refund asked for after the payment's workflow closed, as the late-refund workflow runs it. */
export interface LateRefundInput {
  paymentId: string;
  refundId: string;
  /** Minor units; absent with `full`: everything still refundable. */
  amount?: number;
  full?: boolean;
  /** How long after capture a refund is still taken. */
  windowMs: number;
}

/** The activities of the payment workflow, bound to this worker's gateways. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...routingActivities(deps),
    ...chargeActivities(deps),
    ...followUpActivities(deps),
    ...storeActivities(deps),
  };
}

export type PaymentActivities = ReturnType<typeof createActivities>;

function storeOrFail(store: PaymentStore | undefined): PaymentStore {
  if (store) return store;
  // Retryable: another worker of the fleet may have the store this one lacks.
  throw ApplicationFailure.create({
    message: 'This worker has no payment store',
    type: 'STORE_NOT_CONFIGURED',
  });
}

function gatewayOf(gateways: GatewayRegistry, type: GatewayType): Gateway {
  const gateway = gateways.get(type);
  if (!gateway) {
    // Retryable, so that the retry can land on a worker that has it; the category is `unknown`
    // because an earlier try of the same call, on another worker, may have reached the gateway.
    throw ApplicationFailure.create({
      message: `Gateway ${type} is not registered on this worker`,
      type: ErrorCode.GATEWAY_NOT_REGISTERED,
      details: ['unknown'],
    });
  }
  return gateway;
}

/** The routing decision (with the risk check, when asked for). */
function routingActivities({ router, logger, riskCheck }: ActivityDeps) {
  return {
    /**
     * Chooses the gateway for one attempt; runs as a local activity, its decision is kept in history.
     * With `input.risk` and a risk check on this worker, the check runs first and its answer comes along.
     */
    async routePayment(input: RouteInput): Promise<RoutingDecision & { risk?: RiskAssessment }> {
      const risk =
        input.risk && riskCheck
          ? await assessRisk(riskCheck, input.risk, Context.current().info.attempt >= ROUTING_TRIES)
          : undefined;
      if (risk) {
        const log = logger.child({ paymentId: input.paymentId });
        if (risk.checkFailed)
          log.warn({ decision: risk.decision, error: risk.checkFailed }, 'risk check failed');
        else log.info({ decision: risk.decision, score: risk.score }, 'risk assessed');
      }
      const decision = router.route(
        {
          paymentId: input.paymentId,
          amount: input.amount,
          method: input.method,
          metadata: input.metadata,
          ...(input.country ? { country: input.country } : {}),
        },
        input.pinned,
        input.exclude,
      );
      if ('error' in decision) {
        throw ApplicationFailure.nonRetryable(decision.message, decision.error, {
          candidates: decision.candidates,
        });
      }
      return risk ? { ...decision, risk } : decision;
    },
  };
}

/** The first call of an attempt at a gateway, and the status lookup that reconciles its unknown outcomes. */
function chargeActivities({ gateways, router, logger, metrics }: ActivityDeps) {
  return {
    /** Charges (or authorizes) at one gateway under the attempt's idempotency key. */
    async chargePayment(input: ChargeInput): Promise<ChargeResult & { latencyMs: number }> {
      const { attempt } = Context.current().info;
      const log = logger.child({ paymentId: input.paymentId, gateway: input.gateway, attempt });
      const started = Date.now();
      try {
        const result = await gatewayOf(gateways, input.gateway).charge({
          paymentId: input.paymentId,
          idempotencyKey: input.gatewayIdempotencyKey,
          amount: input.amount,
          paymentMethod: input.paymentMethod,
          captureMethod: input.captureMethod,
          customerId: input.customerId,
        });
        const latencyMs = Date.now() - started;
        router.record(input.gateway, 'succeeded', latencyMs);
        metrics?.gatewayCall(input.gateway, 'charge', 'succeeded', latencyMs);
        log.info({ status: result.status, latencyMs }, 'gateway charge completed');
        return { ...result, latencyMs };
      } catch (err) {
        // Declines prove the gateway works; anything else counts against its breaker.
        const declined = err instanceof GatewayError && err.category === 'decline';
        const latencyMs = Date.now() - started;
        router.record(input.gateway, declined ? 'declined' : 'failed', latencyMs);
        metrics?.gatewayCall(input.gateway, 'charge', declined ? 'declined' : 'failed', latencyMs);
        throw toActivityFailure(err, log, 'charge');
      }
    },

    /** Asks the gateway what became of an earlier call (reconciliation of unknown outcomes). */
    async getOperationStatus(input: StatusInput): Promise<StatusAnswer> {
      const started = Date.now();
      try {
        const gateway = gatewayOf(gateways, input.gateway);
        const status = await gateway.getStatus(input.gatewayIdempotencyKey, input.reference);
        metrics?.gatewayCall(input.gateway, 'status', 'succeeded', Date.now() - started);
        return { ...status, lookupLagMs: gateway.lookupLagMs };
      } catch (err) {
        metrics?.gatewayCall(input.gateway, 'status', 'failed', Date.now() - started);
        if (err instanceof ApplicationFailure) throw err;
        // A lookup reads and never moves money: any failure of one is worth another try.
        throw ApplicationFailure.create({
          message: err instanceof Error ? err.message : String(err),
          type: err instanceof GatewayError ? err.code : 'lookup_failed',
          details: ['unknown'],
        });
      }
    },
  };
}

/** The calls that follow a charge at the same gateway: confirm, capture, void, refund. */
function followUpActivities(deps: ActivityDeps) {
  const call = <T>(
    input: FollowUpInput,
    name: Exclude<GatewayOperation, 'charge' | 'status'>,
    operation: (gateway: Gateway, request: FollowUpRequest) => Promise<T>,
  ) => followUpCall(deps, input, name, operation);
  return {
    /** Finishes a charge after the customer completed the action the gateway asked for. */
    async confirmCharge(input: FollowUpInput): Promise<ChargeResult> {
      return call(input, 'confirm', (g, req) => g.confirm(req));
    },

    /** Captures an authorization, fully or partially. */
    async capturePayment(input: FollowUpInput): Promise<{ reference: string }> {
      return call(input, 'capture', (g, req) => g.capture({ ...req, amount: input.amount! }));
    },

    /** Releases an uncaptured authorization (or an unfinished 3-D Secure charge). */
    async voidPayment(input: FollowUpInput): Promise<void> {
      return call(input, 'void', (g, req) => g.void(req));
    },

    /** Refunds part or all of a captured charge. */
    async refundPayment(input: FollowUpInput): Promise<{ reference: string }> {
      return call(input, 'refund', (g, req) =>
        g.refund({ ...req, amount: input.amount!, ...(input.reason ? { reason: input.reason } : {}) }),
      );
    },
  };
}

/** The payment store's projection, late refunds and the event bus. */
function storeActivities({ store, eventBus }: ActivityDeps) {
  return {
    /**
     * Writes the payment's view and its new events to the store. Idempotent by payment ID and version:
     * a retry, a replay or an older view changes nothing. Card data or a conflicting event is refused
     * for good (a retry would be refused too).
     */
    async projectPayment(input: { view: Payment; events: DomainEvent[] }): Promise<void> {
      if (!store) return;
      try {
        await store.project(input.view, input.events);
      } catch (err) {
        throw definiteStoreFailure(err);
      }
    },

    /**
     * Reserves a refund of a payment whose workflow closed: the store's row lock keeps concurrent
     * reservations within what was captured. Answers the reservation and the payment (for the gateway call).
     */
    async reserveLateRefund(
      input: LateRefundInput,
    ): Promise<{ amount: number; status: string; payment: Payment }> {
      const s = storeOrFail(store);
      try {
        const payment = await s.getPayment(input.paymentId);
        if (!payment)
          throw new AegisPayError(ErrorCode.PAYMENT_NOT_FOUND, `No payment ${input.paymentId} in the store`);
        const events = await s.getEvents(input.paymentId);
        const captured = events
          .filter((e) => e.type === 'PAYMENT_SUCCEEDED' || e.type === 'PAYMENT_CAPTURED')
          .at(-1);
        if (captured && Date.parse(captured.at) + input.windowMs < Date.now()) {
          throw new AegisPayError(
            ErrorCode.INVALID_STATE_TRANSITION,
            `The refund window of payment ${input.paymentId} closed ${new Date(Date.parse(captured.at) + input.windowMs).toISOString()}`,
          );
        }
        const amount = input.full ? await s.refundableAmount(input.paymentId) : input.amount!;
        const reservation = await s.reserveRefund(input.paymentId, input.refundId, amount);
        return { amount: reservation.amount, status: reservation.status, payment };
      } catch (err) {
        throw definiteStoreFailure(err);
      }
    },

    /** Records a late refund's definite outcome in the store; answers the payment as it now stands. */
    async settleLateRefund(input: {
      paymentId: string;
      refundId: string;
      status: 'succeeded' | 'failed';
      reason?: string;
    }): Promise<Payment> {
      try {
        return await storeOrFail(store).settleRefund(input.paymentId, input.refundId, {
          status: input.status,
          ...(input.reason ? { reason: input.reason } : {}),
        });
      } catch (err) {
        throw definiteStoreFailure(err);
      }
    },

    /** Hands a batch of domain events to the event bus, in order. */
    async publishEvents(input: { events: DomainEvent[] }): Promise<void> {
      await eventBus?.publish(input.events);
    },
  };
}

/** One follow-up call with its log line and metrics; failures become activity failures with their category. */
async function followUpCall<T>(
  { gateways, logger, metrics }: ActivityDeps,
  input: FollowUpInput,
  name: Exclude<GatewayOperation, 'charge' | 'status'>,
  operation: (gateway: Gateway, request: FollowUpRequest) => Promise<T>,
): Promise<T> {
  const { activityType, attempt } = Context.current().info;
  const log = logger.child({
    paymentId: input.paymentId,
    gateway: input.gateway,
    attempt,
    operation: activityType,
  });
  const started = Date.now();
  try {
    const result = await operation(gatewayOf(gateways, input.gateway), {
      paymentId: input.paymentId,
      idempotencyKey: input.gatewayIdempotencyKey,
      reference: input.reference,
    });
    metrics?.gatewayCall(input.gateway, name, 'succeeded', Date.now() - started);
    if (name === 'refund') metrics?.refund(input.gateway, 'succeeded', input.amount);
    log.info('gateway call completed');
    return result;
  } catch (err) {
    const declined = err instanceof GatewayError && err.category === 'decline';
    const outcome = declined ? 'declined' : 'failed';
    metrics?.gatewayCall(input.gateway, name, outcome, Date.now() - started);
    // An unknown outcome is retried or reconciled: only a definite refusal is a refund outcome.
    if (name === 'refund' && err instanceof GatewayError && err.category !== 'unknown') {
      metrics?.refund(input.gateway, outcome);
    }
    throw toActivityFailure(err, log, 'follow-up');
  }
}

/** Store refusals that a retry cannot change become non-retryable failures with their code; the rest retry. */
function definiteStoreFailure(err: unknown): Error {
  if (err instanceof AegisPayError) {
    return ApplicationFailure.create({
      message: err.message,
      type: err.code,
      nonRetryable: err.code !== ErrorCode.TEMPORAL_UNAVAILABLE,
      details: [err.details ?? {}],
    });
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** Categories that speak of one request only, not of the operation: definite on a first try alone. */
const REQUEST_NOT_PROCESSED: readonly GatewayErrorCategory[] = ['retry-same-gateway', 'failover'];

/**
 * The one place gateway errors become Temporal failures. The failure `type` is the gateway's code
 * and the first detail its category, which the workflow reads to decide what happens next.
 */
function toActivityFailure(err: unknown, log: Logger, kind: 'charge' | 'follow-up'): Error {
  if (
    err instanceof GatewayError &&
    Context.current().info.attempt > 1 &&
    REQUEST_NOT_PROCESSED.includes(err.category)
  ) {
    // "This request was not processed" (a rate limit, a refused connection, a failed first step) says
    // nothing of an earlier try of the same call, whose answer was lost and which may have gone through:
    // only a lookup can tell now.
    err = new GatewayError(
      'unknown',
      err.code,
      `${err.message} (an earlier try may have reached the gateway)`,
    );
  }
  if (err instanceof GatewayError) {
    log.warn({ code: err.code, category: err.category }, 'gateway call failed');
    // Unknown outcomes are retried here, under the same idempotency key, which is what makes the
    // retry safe. A gateway may replay a stored error for a charge's key (Stripe does), so a transient
    // "not processed" charge error gets a new attempt, with a new key, from the workflow instead; a
    // follow-up has no attempts of its own, and a rate limit or lock is never stored, so it retries
    // here. In-progress answers are not retried: the same call would only repeat "in progress".
    const retryable =
      err.category === 'unknown' || (kind === 'follow-up' && err.category === 'retry-same-gateway');
    return ApplicationFailure.create({
      message: err.message,
      type: err.code,
      nonRetryable: !retryable,
      details: [err.category],
    });
  }
  if (err instanceof ApplicationFailure) return err;
  log.warn(
    { err: err instanceof Error ? err.message : String(err) },
    'gateway call failed with an unexpected error',
  );
  return ApplicationFailure.create({
    message: err instanceof Error ? err.message : String(err),
    type: 'gateway_unexpected_error',
    details: ['unknown'],
  });
}
