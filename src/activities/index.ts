import { ApplicationFailure, Context } from '@temporalio/activity';
import { ErrorCode } from '../domain/errors';
import type {
  CaptureMethod,
  GatewayType,
  Money,
  PaymentMethodType,
  RoutingDecision,
  StoredPaymentMethod,
} from '../domain/types';
import type { Logger } from '../logging';
import { GatewayRegistry } from './gateway-registry';
import { GatewayError, type ChargeResult, type OperationStatus } from './gateways/gateway';

export interface RouteInput {
  paymentId: string;
  amount: Money;
  method: PaymentMethodType;
  /** The caller's explicit choice; routing honours it or fails. */
  pinned?: GatewayType;
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
}

export interface ActivityDeps {
  gateways: GatewayRegistry;
  logger: Logger;
}

/** The activities of the payment workflow, bound to this worker's gateways. */
export function createActivities({ gateways, logger }: ActivityDeps) {
  function gatewayOf(type: GatewayType) {
    const gateway = gateways.get(type);
    if (!gateway) {
      throw ApplicationFailure.nonRetryable(
        `Gateway ${type} is not registered on this worker`,
        ErrorCode.GATEWAY_NOT_REGISTERED,
      );
    }
    return gateway;
  }

  return {
    /** Chooses the gateway for a payment; runs as a local activity, its decision is kept in history. */
    async routePayment(input: RouteInput): Promise<RoutingDecision> {
      const candidates = gateways.all().map((g) => {
        const capable = GatewayRegistry.supports(g, input.amount.currency, input.method);
        const allowed = !input.pinned || input.pinned === g.type;
        const reason = !capable
          ? `cannot take ${input.amount.currency} ${input.method}`
          : !allowed
            ? 'not the pinned gateway'
            : undefined;
        return {
          gateway: g.type,
          score: capable && allowed ? 1 : 0,
          breaker: 'CLOSED' as const,
          eligible: capable && allowed,
          ...(reason ? { reason } : {}),
        };
      });
      const chosen = candidates.find((c) => c.eligible);
      if (!chosen) {
        const code =
          input.pinned && !gateways.get(input.pinned)
            ? ErrorCode.GATEWAY_NOT_REGISTERED
            : ErrorCode.NO_GATEWAY_AVAILABLE;
        throw ApplicationFailure.nonRetryable(
          input.pinned && code === ErrorCode.GATEWAY_NOT_REGISTERED
            ? `Gateway ${input.pinned} is not registered on the worker`
            : `No registered gateway can take ${input.amount.currency} ${input.method}`,
          code,
        );
      }
      return {
        gateway: chosen.gateway,
        strategy: input.pinned ? 'pinned' : 'first-eligible',
        reason: input.pinned
          ? `pinned to ${input.pinned}`
          : `first eligible of ${candidates.length} registered`,
        candidates,
      };
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
        log.info({ status: result.status, latencyMs }, 'gateway charge completed');
        return { ...result, latencyMs };
      } catch (err) {
        throw toActivityFailure(err, log);
      }
    },

    /** Asks the gateway what became of an earlier call (reconciliation of unknown outcomes). */
    async getChargeStatus(input: StatusInput): Promise<OperationStatus> {
      return gatewayOf(input.gateway).getStatus(input.gatewayIdempotencyKey);
    },
  };
}

export type PaymentActivities = ReturnType<typeof createActivities>;

/**
 * The one place gateway errors become Temporal failures. The failure `type` is the gateway's code
 * and the first detail its category, which the workflow reads to decide what happens next.
 */
function toActivityFailure(err: unknown, log: Logger): Error {
  if (err instanceof GatewayError) {
    log.warn({ code: err.code, category: err.category }, 'gateway call failed');
    // Only transient and unknown outcomes are retried: retrying with the same idempotency key is safe.
    const retryable = err.category === 'retry-same-gateway' || err.category === 'unknown';
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
