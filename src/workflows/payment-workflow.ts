import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  TimeoutFailure,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { PaymentActivities } from '../activities';
import { ErrorCode } from '../domain/errors';
import { gatewayIdempotencyKey } from '../domain/ids';
import {
  createUpdate,
  eventsQuery,
  paymentQuery,
  processUpdate,
  type ProcessRequest,
} from '../domain/messages';
import {
  awaitsRefundsOnly,
  initialPaymentView,
  paymentSummary,
  type PaymentWorkflowInput,
} from '../domain/payment';
import { PAYMENT_GATEWAY, PAYMENT_STATE } from '../domain/search-attributes';
import { assertTransition, isSettled } from '../domain/state-machine';
import type { DomainEvent, DomainEventType, GatewayType, Payment, PaymentState } from '../domain/types';

/**
 * One payment, from creation to the end of its refund window. The workflow is the payment's single
 * writer: its ID comes from the idempotency key, so there is never a second copy to race with.
 */
export async function paymentWorkflow({
  payment: request,
  settings,
}: PaymentWorkflowInput): Promise<Payment> {
  const payment = initialPaymentView(request, now());
  const events: DomainEvent[] = [];

  const routing = proxyLocalActivities<PaymentActivities>({
    startToCloseTimeout: '10s',
    retry: { maximumAttempts: 3 },
  });
  const gateway = proxyActivities<PaymentActivities>({
    startToCloseTimeout: settings.gatewayCallTimeoutMs,
    retry: {
      maximumAttempts: settings.retry.maximumAttempts,
      initialInterval: settings.retry.initialIntervalMs,
      maximumInterval: settings.retry.maximumIntervalMs,
      backoffCoefficient: settings.retry.backoffCoefficient,
    },
  });
  // Reconciliation retries until the gateway answers: giving up would mean guessing whether money moved.
  const reconcile = proxyActivities<PaymentActivities>({
    startToCloseTimeout: settings.gatewayCallTimeoutMs,
    retry: {
      initialInterval: settings.retry.initialIntervalMs,
      maximumInterval: '1 minute',
      backoffCoefficient: 2,
    },
  });

  function record(
    type: DomainEventType,
    data: Record<string, unknown>,
    to?: PaymentState,
    patch: Partial<Payment> = {},
  ) {
    if (to) assertTransition(payment.state, to);
    Object.assign(payment, patch, to ? { state: to } : {});
    payment.version += 1;
    payment.updatedAt = now();
    events.push({
      id: `${payment.id}:${payment.version}`,
      type,
      paymentId: payment.id,
      sequence: payment.version,
      at: payment.updatedAt,
      data,
    });
    if (to || patch.gateway) {
      upsertSearchAttributes([
        { key: PAYMENT_STATE, value: payment.state },
        ...(payment.gateway ? [{ key: PAYMENT_GATEWAY, value: payment.gateway }] : []),
      ]);
      setCurrentDetails(paymentSummary(payment));
    }
  }

  function fail(code: string, message: string, failedAt?: GatewayType) {
    const failure = { code, message, ...(failedAt ? { gateway: failedAt } : {}) };
    record('PAYMENT_FAILED', failure, 'FAILURE', { failure });
  }

  function assertSameRequest(fingerprint: string | undefined) {
    if (fingerprint !== undefined && fingerprint !== request.fingerprint) {
      throw ApplicationFailure.nonRetryable(
        `Idempotency key "${request.idempotencyKey}" was already used for a different payment request`,
        ErrorCode.IDEMPOTENCY_CONFLICT,
      );
    }
  }

  async function processOnce(req: ProcessRequest): Promise<void> {
    record('PAYMENT_PROCESSING', {}, 'PROCESSING');
    const pinned = req.gatewayType ?? request.gatewayType;
    let chosen: GatewayType;
    try {
      const decision = await routing.routePayment({
        paymentId: payment.id,
        amount: payment.amount,
        method: payment.paymentMethod.type,
        ...(pinned ? { pinned } : {}),
      });
      chosen = decision.gateway;
      record('PAYMENT_ROUTED', { gateway: chosen, reason: decision.reason }, undefined, {
        gateway: chosen,
        routing: decision,
      });
    } catch (err) {
      const { code, message } = failureOf(err);
      return fail(code, message);
    }

    const number = payment.attempts.length + 1;
    const key = gatewayIdempotencyKey(payment.id, 'charge', number);
    const startedAt = Date.now();
    const attempt = { number, gateway: chosen, gatewayIdempotencyKey: key, at: now() };
    try {
      const result = await gateway.chargePayment({
        paymentId: payment.id,
        gateway: chosen,
        gatewayIdempotencyKey: key,
        amount: payment.amount,
        paymentMethod: payment.paymentMethod,
        captureMethod: payment.captureMethod,
        customerId: payment.customer.id,
      });
      payment.attempts.push({
        ...attempt,
        outcome: 'succeeded',
        gatewayReference: result.reference,
        latencyMs: result.latencyMs,
      });
      return settleCharged(result.status, result.reference);
    } catch (err) {
      const failure = failureOf(err);
      const latencyMs = Date.now() - startedAt;
      if (failure.category === 'decline') {
        payment.attempts.push({ ...attempt, outcome: 'declined', errorCode: failure.code, latencyMs });
        return fail(failure.code, failure.message, chosen);
      }
      // Anything but a decline may have charged (a timeout after the request left, say):
      // ask the gateway under the same idempotency key before calling it a failure.
      const status = await reconcile.getChargeStatus({ gateway: chosen, gatewayIdempotencyKey: key });
      if (status.status === 'succeeded' || status.status === 'authorized') {
        payment.attempts.push({
          ...attempt,
          outcome: 'succeeded',
          gatewayReference: status.reference,
          errorCode: failure.code,
          latencyMs,
        });
        return settleCharged(status.status, status.reference);
      }
      payment.attempts.push({ ...attempt, outcome: 'failed', errorCode: failure.code, latencyMs });
      return fail(failure.code, failure.message, chosen);
    }
  }

  function settleCharged(status: 'succeeded' | 'authorized', reference: string) {
    const amount = payment.amount.amount;
    if (status === 'authorized') {
      record('PAYMENT_AUTHORIZED', { reference }, 'AUTHORIZED', {
        amounts: { ...payment.amounts, authorized: amount },
      });
    } else {
      record('PAYMENT_SUCCEEDED', { reference }, 'SUCCESS', {
        amounts: { ...payment.amounts, authorized: amount, captured: amount },
      });
    }
  }

  setHandler(paymentQuery, () => payment);
  setHandler(eventsQuery, () => events);
  setHandler(createUpdate, () => payment, { validator: ({ fingerprint }) => assertSameRequest(fingerprint) });
  setHandler(
    processUpdate,
    async (req) => {
      // The state changes before the first await, so a concurrent duplicate only waits for the outcome.
      if (payment.state === 'INITIATED') await processOnce(req);
      await condition(() => isSettled(payment.state));
      return payment;
    },
    {
      validator: (req) => {
        assertSameRequest(req.fingerprint);
        if (payment.state === 'CANCELLED' && payment.attempts.length === 0) {
          throw ApplicationFailure.nonRetryable(
            `Payment ${payment.id} was cancelled before processing`,
            ErrorCode.INVALID_STATE_TRANSITION,
          );
        }
      },
    },
  );

  record('PAYMENT_INITIATED', { amount: payment.amount, captureMethod: payment.captureMethod });
  setCurrentDetails(paymentSummary(payment));

  if (!(await condition(() => payment.state !== 'INITIATED', settings.pendingTimeoutMs))) {
    record('PAYMENT_CANCELLED', { reason: 'abandoned' }, 'CANCELLED', { cancellationReason: 'abandoned' });
  }
  await condition(() => isSettled(payment.state));
  if (awaitsRefundsOnly(payment.state)) await sleep(settings.refundWindowMs);
  await condition(allHandlersFinished);
  return payment;
}

function now(): string {
  // Workflow time: deterministic on replay.
  return new Date().toISOString();
}

/** Reads the code, message and gateway error category out of an activity failure. */
function failureOf(err: unknown): { code: string; message: string; category: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const category = typeof cause.details?.[0] === 'string' ? (cause.details[0] as string) : 'unknown';
    return { code: cause.type ?? 'gateway_error', message: cause.message, category };
  }
  if (cause instanceof TimeoutFailure)
    return { code: 'gateway_timeout', message: 'The gateway did not answer in time', category: 'unknown' };
  return {
    code: 'gateway_error',
    message: cause instanceof Error ? cause.message : String(cause),
    category: 'unknown',
  };
}
