import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  proxyActivities,
  proxyLocalActivities,
  proxySinks,
  setCurrentDetails,
  setHandler,
  sleep,
  TimeoutFailure,
  upsertSearchAttributes,
  uuid4,
} from '@temporalio/workflow';
import type { FollowUpInput, PaymentActivities } from '../activities';
import { AegisPayError, ErrorCode } from '../domain/errors';
import { gatewayIdempotencyKey } from '../domain/ids';
import { assertCancellable, resolveCapture, resolveRefund, stateAfterRefund } from '../domain/lifecycle';
import {
  cancelSignal,
  cancelUpdate,
  captureUpdate,
  completeActionUpdate,
  createUpdate,
  eventsQuery,
  paymentQuery,
  processUpdate,
  refundSignal,
  refundUpdate,
  type CancelRequest,
  type ProcessRequest,
  type RefundRequest,
} from '../domain/messages';
import {
  initialPaymentView,
  paymentSummary,
  ROUTING_TRIES,
  type PaymentWorkflowInput,
} from '../domain/payment';
import { PAYMENT_GATEWAY, PAYMENT_STATE } from '../domain/search-attributes';
import { assertTransition, isSettled, isTerminal } from '../domain/state-machine';
import type { DomainEvent, DomainEventType, GatewayType, Payment, PaymentState } from '../domain/types';
import type { PaymentSinks } from './sinks';

const { paymentMetrics } = proxySinks<PaymentSinks>();

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
  let published = 0;
  /** Refunds accepted but not finished, by refund ID: they count against what is still refundable. */
  const pendingRefunds = new Map<string, number>();
  /** Gateway calls run one at a time: two handlers never act on the same charge at once. */
  let gatewayBusy = false;

  const routing = proxyLocalActivities<PaymentActivities>({
    startToCloseTimeout: '10s',
    retry: { maximumAttempts: ROUTING_TRIES },
  });

  function riskCheckInput() {
    const { id: paymentId, amount, paymentMethod, customer, metadata } = payment;
    return { paymentId, amount, paymentMethod, customer, metadata };
  }
  const gateway = proxyActivities<PaymentActivities>({
    startToCloseTimeout: settings.gatewayCallTimeoutMs,
    retry: {
      maximumAttempts: settings.retry.maximumAttempts,
      initialInterval: settings.retry.initialIntervalMs,
      maximumInterval: settings.retry.maximumIntervalMs,
      backoffCoefficient: settings.retry.backoffCoefficient,
    },
  });
  // Reconciliation, follow-up calls on a charge (confirm, capture, void, refund) and event delivery
  // retry until they get a definite answer: giving up would mean guessing whether money moved, or
  // losing an event. A follow-up is retried under its own idempotency key, so the gateway replays
  // what it already did instead of doing it twice; definite refusals are not retried.
  const durable = proxyActivities<PaymentActivities>({
    startToCloseTimeout: settings.gatewayCallTimeoutMs,
    retry: {
      initialInterval: settings.retry.initialIntervalMs,
      maximumInterval: settings.retry.maximumIntervalMs,
      backoffCoefficient: settings.retry.backoffCoefficient,
    },
  });

  function record(
    type: DomainEventType,
    data: Record<string, unknown>,
    to?: PaymentState,
    patch: Partial<Payment> = {},
  ) {
    if (to) assertTransition(payment.state, to);
    const entered = to !== undefined && to !== payment.state;
    Object.assign(payment, patch, to ? { state: to } : {});
    if (entered) paymentMetrics.stateEntered(to, payment.gateway ?? 'none');
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

  async function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    await condition(() => !gatewayBusy);
    gatewayBusy = true;
    try {
      return await fn();
    } finally {
      gatewayBusy = false;
    }
  }

  function assertSameRequest(fingerprint: string | undefined) {
    if (fingerprint !== undefined && fingerprint !== request.fingerprint) {
      throw ApplicationFailure.nonRetryable(
        `Idempotency key "${request.idempotencyKey}" was already used for a different payment request`,
        ErrorCode.IDEMPOTENCY_CONFLICT,
      );
    }
  }

  /** A follow-up call on the charge (confirm, capture, void, refund) with its own idempotency key. */
  function followUp(
    operation: string,
    attempt: string | number,
    extra: Partial<FollowUpInput> = {},
  ): FollowUpInput {
    return {
      paymentId: payment.id,
      gateway: payment.gateway!,
      gatewayIdempotencyKey: gatewayIdempotencyKey(payment.id, operation, attempt),
      reference: payment.gatewayReference!,
      ...extra,
    };
  }

  /**
   * Runs a gateway call. Only an unknown outcome (a timeout or 5xx after the request left, once the
   * activity's own same-key retries are spent) is reconciled: the gateway is asked, under the same
   * idempotency key, whether the operation happened, a few times with a growing pause, before the
   * workflow concludes it did not. Declines and definite "not processed" answers are taken as given.
   */
  async function callGateway<T>(
    input: { gateway: GatewayType; gatewayIdempotencyKey: string },
    call: () => Promise<T>,
  ): Promise<GatewayOutcome<T>> {
    try {
      return { ok: true, value: await call() };
    } catch (err) {
      const failure = failureOf(err);
      if (failure.category !== 'unknown') return { ok: false, ...failure };
      const unansweredAt = Date.now();
      for (let check = 1; ; check++) {
        const status = await durable.getOperationStatus(input);
        if (status.status !== 'failed' && status.status !== 'not_found') {
          const reconciled = { status: status.status, reference: status.reference };
          return { ok: true, reconciled, errorCode: failure.code, reconciliationChecks: check };
        }
        if (status.status === 'failed') return { ok: false, ...failure, reconciliationChecks: check };
        // A gateway's lookup may lag behind its writes (Stripe's search: up to a minute). "Not found"
        // means "not charged" only after a few looks and once that lag has passed since the call;
        // trusting it sooner could fail over while the first gateway holds the charge.
        const lagLeftMs = unansweredAt + status.lookupLagMs - Date.now();
        if (check >= RECONCILIATION_CHECKS && lagLeftMs <= 0) {
          return { ok: false, ...failure, reconciliationChecks: check };
        }
        // Keep looking while the lag lasts (a charge usually shows well before it ends), a few more
        // times at most however short the backoff, and the last look after it.
        const interval = Math.max(backoff(check), status.lookupLagMs / RECONCILIATION_CHECKS);
        await sleep(check < RECONCILIATION_CHECKS ? backoff(check) : Math.min(interval, lagLeftMs));
      }
    }
  }

  function backoff(retry: number): number {
    const { initialIntervalMs, backoffCoefficient, maximumIntervalMs } = settings.retry;
    return Math.min(initialIntervalMs * backoffCoefficient ** (retry - 1), maximumIntervalMs);
  }

  /**
   * Routes and charges until the payment settles: a transient "not processed" error is retried on the
   * same gateway with a new attempt (and key); a definite "not charged" fails over to another gateway
   * unless the caller pinned one; a decline ends it. Two gateways never both hold a charge, because a
   * gateway is left only once it has definitely not charged.
   */
  async function processOnce(req: ProcessRequest): Promise<void> {
    record('PAYMENT_PROCESSING', {}, 'PROCESSING');
    const pinned = req.gatewayType ?? request.gatewayType;
    const exclude: GatewayType[] = [];
    let last: { code: string; message: string; gateway: GatewayType } | undefined;
    for (;;) {
      let decision: Awaited<ReturnType<typeof routing.routePayment>>;
      try {
        decision = await routing.routePayment({
          paymentId: payment.id,
          amount: payment.amount,
          method: payment.paymentMethod.type,
          metadata: payment.metadata,
          exclude,
          ...(payment.customer.country ? { country: payment.customer.country } : {}),
          ...(pinned ? { pinned } : {}),
          // The worker's risk check (if it has one) runs once, before the first charge.
          ...(payment.risk ? {} : { risk: riskCheckInput() }),
        });
      } catch (err) {
        const routingFailure = failureOf(err);
        // After a failover, the gateway's own answer explains the failure better than "none left".
        if (last) return fail(last.code, `${last.message} (${routingFailure.message})`, last.gateway);
        return fail(routingFailure.code, routingFailure.message);
      }
      const { risk, ...route } = decision;
      if (risk) {
        record('RISK_ASSESSED', { ...risk }, undefined, { risk });
        if (risk.decision === 'deny') {
          return fail(RISK_DENIED, risk.reason ?? 'The risk check denied the payment');
        }
      }
      const chosen = route.gateway;
      record('PAYMENT_ROUTED', { gateway: chosen, reason: route.reason }, undefined, {
        gateway: chosen,
        routing: route,
      });

      for (let retry = 1; ; retry++) {
        const outcome = await chargeAttempt(chosen);
        if (outcome === 'settled') return;
        last = { code: outcome.code, message: outcome.message, gateway: chosen };
        if (outcome.category !== 'retry-same-gateway' || retry >= settings.retry.maximumAttempts) break;
        record('PAYMENT_RETRY_ATTEMPTED', { gateway: chosen, code: outcome.code, next: 'same-gateway' });
        await sleep(backoff(retry));
      }
      if (pinned) return fail(last.code, last.message, chosen);
      exclude.push(chosen);
      record('PAYMENT_RETRY_ATTEMPTED', { gateway: chosen, code: last.code, next: 'failover' });
    }
  }

  /** One charge attempt at one gateway under its own idempotency key; settles the payment unless it must go on. */
  async function chargeAttempt(
    chosen: GatewayType,
  ): Promise<'settled' | { category: string; code: string; message: string }> {
    const number = payment.attempts.length + 1;
    const key = gatewayIdempotencyKey(payment.id, 'charge', number);
    const startedAt = Date.now();
    const result = await callGateway({ gateway: chosen, gatewayIdempotencyKey: key }, () =>
      gateway.chargePayment({
        paymentId: payment.id,
        gateway: chosen,
        gatewayIdempotencyKey: key,
        amount: payment.amount,
        paymentMethod: payment.paymentMethod,
        captureMethod: payment.captureMethod,
        customerId: payment.customer.id,
      }),
    );
    const attempt = {
      number,
      gateway: chosen,
      gatewayIdempotencyKey: key,
      at: new Date(startedAt).toISOString(),
      latencyMs: result.ok && result.value ? result.value.latencyMs : Date.now() - startedAt,
      ...(result.reconciliationChecks ? { reconciliationChecks: result.reconciliationChecks } : {}),
    };
    if (!result.ok) {
      const declined = result.category === 'decline' || result.category === 'requires-action';
      payment.attempts.push({
        ...attempt,
        outcome: declined ? 'declined' : 'failed',
        errorCode: result.code,
      });
      if (!declined) return result;
      fail(result.code, result.message, chosen);
      return 'settled';
    }
    const charged = result.value ?? result.reconciled;
    payment.attempts.push({
      ...attempt,
      outcome: 'succeeded',
      gatewayReference: charged.reference,
      ...(result.errorCode ? { errorCode: result.errorCode } : {}),
    });
    settleCharged(charged.status, charged.reference);
    return 'settled';
  }

  function settleCharged(status: 'succeeded' | 'authorized' | 'requires_action', reference: string) {
    const amount = payment.amount.amount;
    const patch = { gatewayReference: reference };
    if (status === 'requires_action') {
      record('PAYMENT_REQUIRES_ACTION', { reference }, 'REQUIRES_ACTION', patch);
    } else if (status === 'authorized') {
      record('PAYMENT_AUTHORIZED', { reference }, 'AUTHORIZED', {
        ...patch,
        amounts: { ...payment.amounts, authorized: amount },
      });
    } else {
      record('PAYMENT_SUCCEEDED', { reference }, 'SUCCESS', {
        ...patch,
        amounts: { ...payment.amounts, authorized: amount, captured: amount },
      });
    }
  }

  async function capture(amount: number): Promise<Payment> {
    return exclusive(async () => {
      if (payment.state !== 'AUTHORIZED')
        throw toFailure(
          new AegisPayError(
            ErrorCode.INVALID_STATE_TRANSITION,
            `Payment is ${payment.state}, not AUTHORIZED`,
          ),
        );
      const input = followUp('capture', 1, { amount: { amount, currency: payment.amount.currency } });
      const result = await callGateway(input, () => durable.capturePayment(input));
      if (!result.ok) {
        throw ApplicationFailure.nonRetryable(
          `Capture failed at the gateway: ${result.message}`,
          ErrorCode.GATEWAY_ERROR,
          {
            gatewayCode: result.code,
          },
        );
      }
      record('PAYMENT_CAPTURED', { amount, released: payment.amounts.authorized - amount }, 'SUCCESS', {
        amounts: { ...payment.amounts, captured: amount },
      });
      return payment;
    });
  }

  /** Cancels before capture: at once from INITIATED, with a void at the gateway once it holds an authorization. */
  async function cancel(reason: string): Promise<Payment> {
    if (payment.state === 'INITIATED') {
      record('PAYMENT_CANCELLED', { reason }, 'CANCELLED', { cancellationReason: reason });
      return payment;
    }
    return exclusive(async () => {
      assertCancellableOrFail();
      await voidOrThrow();
      record('PAYMENT_CANCELLED', { reason }, 'CANCELLED', { cancellationReason: reason });
      return payment;
    });
  }

  /** Releases the authorization; returns the gateway's error code when it refused. */
  async function voidAtGateway(): Promise<string | undefined> {
    const input = followUp('void', 1);
    const result = await callGateway(input, () => durable.voidPayment(input));
    return result.ok ? undefined : result.code;
  }

  /** A void the caller asked for: when the gateway refuses, the payment stays as it is and the caller hears why. */
  async function voidOrThrow(): Promise<void> {
    const refused = await voidAtGateway();
    if (refused) {
      throw ApplicationFailure.nonRetryable(
        `Void failed at the gateway (${refused})`,
        ErrorCode.GATEWAY_ERROR,
        {
          gatewayCode: refused,
        },
      );
    }
  }

  function assertCancellableOrFail() {
    try {
      assertCancellable(payment);
    } catch (err) {
      throw toFailure(err);
    }
  }

  async function refund(req: RefundRequest): Promise<Payment> {
    const decision = resolveRefund(payment, req, sum(pendingRefunds.values()));
    if (decision.kind === 'existing') return payment;
    const refundId = req.refundId ?? `re_${uuid4().replace(/-/g, '')}`;
    if (pendingRefunds.has(refundId)) {
      // The same refund is already under way: wait for it and answer with its outcome.
      await condition(() => !pendingRefunds.has(refundId));
      return payment;
    }
    pendingRefunds.set(refundId, decision.amount);
    try {
      return await exclusive(async () => {
        const amount = { amount: decision.amount, currency: payment.amount.currency };
        const input = followUp('refund', refundId, { amount, ...(req.reason ? { reason: req.reason } : {}) });
        const result = await callGateway(input, () => durable.refundPayment(input));
        const entry = {
          id: refundId,
          amount: decision.amount,
          at: now(),
          ...(req.reason ? { reason: req.reason } : {}),
        };
        if (!result.ok) {
          payment.refunds.push({ ...entry, status: 'failed' });
          record('REFUND_FAILED', {
            refundId,
            amount: decision.amount,
            code: result.code,
            message: result.message,
          });
          return payment;
        }
        payment.refunds.push({ ...entry, status: 'succeeded' });
        payment.amounts = { ...payment.amounts, refunded: payment.amounts.refunded + decision.amount };
        record('REFUND_SUCCEEDED', { refundId, amount: decision.amount }, stateAfterRefund(payment));
        return payment;
      });
    } finally {
      pendingRefunds.delete(refundId);
    }
  }

  async function completeAction(succeeded: boolean): Promise<Payment> {
    return exclusive(async () => {
      if (payment.state !== 'REQUIRES_ACTION') return payment;
      if (!succeeded) {
        await voidOrThrow();
        fail('authentication_failed', 'The customer did not complete the required action', payment.gateway);
        return payment;
      }
      const input = followUp('confirm', 1);
      const result = await callGateway(input, () => durable.confirmCharge(input));
      if (!result.ok) {
        fail(result.code, result.message, payment.gateway);
        return payment;
      }
      const status = (result.value ?? result.reconciled!).status;
      settleCharged(status === 'requires_action' ? 'succeeded' : status, payment.gatewayReference!);
      return payment;
    });
  }

  /** Operator signals never fail the workflow: what is not allowed is recorded as a rejected request. */
  function rejectRequest(kind: string, req: unknown, err: unknown) {
    const { code, message } = err instanceof AegisPayError ? err : failureOf(err);
    record('REQUEST_REJECTED', {
      request: kind,
      code,
      message,
      ...(isPlainRecord(req) ? { payload: req } : {}),
    });
  }

  // First, before any handler is registered: an update delivered with the start (pay) runs as soon
  // as its handler exists, and the payment's first event must stay its first.
  record('PAYMENT_INITIATED', { amount: payment.amount, captureMethod: payment.captureMethod });
  paymentMetrics.stateEntered(payment.state, payment.gateway ?? 'none');
  setCurrentDetails(paymentSummary(payment));

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
  setHandler(captureUpdate, (req) => capture(resolveCapture(payment, req)), {
    validator: (req) => guard(() => resolveCapture(payment, req)),
  });
  setHandler(cancelUpdate, (req) => cancel(req?.reason ?? 'requested_by_customer'), {
    validator: (_req) => guard(() => assertCancellable(payment)),
  });
  setHandler(refundUpdate, (req) => refund(req ?? {}), {
    validator: (req) => guard(() => resolveRefund(payment, req ?? {}, sum(pendingRefunds.values()))),
  });
  setHandler(completeActionUpdate, (req) => completeAction(req?.succeeded === true), {
    validator: (_req) => {
      if (payment.state !== 'REQUIRES_ACTION') {
        throw toFailure(
          new AegisPayError(
            ErrorCode.INVALID_STATE_TRANSITION,
            `Payment is ${payment.state}, not REQUIRES_ACTION`,
          ),
        );
      }
    },
  });
  setHandler(cancelSignal, async (req?: CancelRequest) => {
    try {
      assertCancellable(payment);
      await cancel(typeof req?.reason === 'string' ? req.reason : 'cancelled_by_operator');
    } catch (err) {
      rejectRequest('cancel', req, err);
    }
  });
  setHandler(refundSignal, async (req?: RefundRequest) => {
    try {
      await refund(req ?? {});
    } catch (err) {
      rejectRequest('refund', req, err);
    }
  });

  if (settings.publishEvents) void publishEvents();

  if (!(await condition(() => payment.state !== 'INITIATED', settings.pendingTimeoutMs))) {
    record('PAYMENT_CANCELLED', { reason: 'abandoned' }, 'CANCELLED', { cancellationReason: 'abandoned' });
  }
  await condition(() => isSettled(payment.state));
  await waitOutLifecycle();
  await condition(
    () => allHandlersFinished() && !gatewayBusy && (!settings.publishEvents || published === events.length),
  );
  return payment;

  /** Delivers events in order, in batches, at least once; the workflow does not end before all are delivered. */
  async function publishEvents(): Promise<void> {
    for (;;) {
      await condition(() => published < events.length);
      const batch = events.slice(published);
      await durable.publishEvents({ events: batch });
      published += batch.length;
    }
  }

  /** Timers of the states that wait for someone: customer action, capture, refunds. */
  async function waitOutLifecycle(): Promise<void> {
    while (!isTerminal(payment.state)) {
      const state = payment.state;
      if (state === 'REQUIRES_ACTION' || state === 'AUTHORIZED') {
        const timeout =
          state === 'REQUIRES_ACTION' ? settings.actionTimeoutMs : settings.authorizationExpiryMs;
        if (await condition(() => payment.state !== state, timeout)) continue;
        await exclusive(async () => {
          if (payment.state !== state) return;
          // A timer must never fail the workflow: if the gateway refuses the void, the authorization
          // lapses there on its own, and the refusal is kept in the event.
          const voidRefused = await voidAtGateway();
          const data = voidRefused ? { voidRefused } : {};
          if (state === 'AUTHORIZED') {
            record('PAYMENT_CANCELLED', { reason: 'authorization_expired', ...data }, 'CANCELLED', {
              cancellationReason: 'authorization_expired',
            });
          } else {
            fail(
              'action_timeout',
              'The customer did not complete the required action in time',
              payment.gateway,
            );
          }
        });
        continue;
      }
      // SUCCESS or PARTIALLY_REFUNDED: open for refunds until the window closes or all is refunded.
      await condition(() => payment.state === 'REFUNDED', settings.refundWindowMs);
      return;
    }
  }
}

/** The failure code of a payment the worker's risk check denied. */
const RISK_DENIED = 'risk_denied';

/** How many times an unknown outcome is looked up at the gateway before it counts as not charged. */
const RECONCILIATION_CHECKS = 3;

type GatewayOutcome<T> =
  | { ok: true; value: T; reconciled?: undefined; errorCode?: undefined; reconciliationChecks?: undefined }
  | {
      ok: true;
      value?: undefined;
      /** The call failed without a definite answer, and the gateway says it happened after all. */
      reconciled: { status: 'succeeded' | 'authorized' | 'requires_action'; reference: string };
      errorCode: string;
      reconciliationChecks: number;
    }
  | { ok: false; category: string; code: string; message: string; reconciliationChecks?: number };

/** Turns a domain error into the failure a validator or handler throws, keeping its code. */
function toFailure(err: unknown): Error {
  if (err instanceof AegisPayError)
    return ApplicationFailure.nonRetryable(err.message, err.code, err.details ?? {});
  return err as Error;
}

/** Runs a validator's check, rethrowing domain errors as failures the client maps back. */
function guard(check: () => unknown): void {
  try {
    check();
  } catch (err) {
    throw toFailure(err);
  }
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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
  if (cause instanceof TimeoutFailure) {
    return { code: 'gateway_timeout', message: 'The gateway did not answer in time', category: 'unknown' };
  }
  return {
    code: 'gateway_error',
    message: cause instanceof Error ? cause.message : String(cause),
    category: 'unknown',
  };
}
