import { ApplicationFailure, Context } from '@temporalio/activity';
import { ErrorCode } from '../domain/errors';
import type {
  CaptureMethod,
  DomainEvent,
  GatewayType,
  Metadata,
  Money,
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
}

/** The activities of the payment workflow, bound to this worker's gateways. */
export function createActivities({ gateways, router, logger, eventBus, metrics, riskCheck }: ActivityDeps) {
  function gatewayOf(type: GatewayType) {
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

    /** Charges (or authorizes) at one gateway under the attempt's idempotency key. */
    async chargePayment(input: ChargeInput): Promise<ChargeResult & { latencyMs: number }> {
      const { attempt } = Context.current().info;
      const log = logger.child({ paymentId: input.paymentId, gateway: input.gateway, attempt });
      const started = Date.now();
      try {
        const result = await gatewayOf(input.gateway).charge({
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

    /** Hands a batch of domain events to the event bus, in order. */
    async publishEvents(input: { events: DomainEvent[] }): Promise<void> {
      await eventBus?.publish(input.events);
    },

    /** Asks the gateway what became of an earlier call (reconciliation of unknown outcomes). */
    async getOperationStatus(input: StatusInput): Promise<StatusAnswer> {
      const started = Date.now();
      try {
        const gateway = gatewayOf(input.gateway);
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

  async function call<T>(
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
      const result = await operation(gatewayOf(input.gateway), {
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
}

export type PaymentActivities = ReturnType<typeof createActivities>;

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
