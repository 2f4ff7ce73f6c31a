import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { AegisPayError, ValidationError } from '../domain/errors';
import { checkCancelRequest } from '../domain/follow-up-requests';
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
  resolveReviewSignal,
  resolveReviewUpdate,
  type RefundRequest,
} from '../domain/messages';
import type { PaymentWorkflowInput } from '../domain/payment';
import { isSettled } from '../domain/state-machine';
import type { Payment } from '../domain/types';
import {
  checkCompleteActionRequest,
  checkProcessRequest,
  paymentInputIssues,
} from '../domain/workflow-requests';
import { EventDelivery } from './event-delivery';
import { guard, toFailure } from './failures';
import { PaymentLifecycle } from './payment-lifecycle';
import { PaymentOperations } from './payment-operations';
import { PaymentRecord } from './payment-record';

/** Patch: Temporal's cancellation request is handled (void or refuse) instead of ending the payment. */
const HANDLE_WORKFLOW_CANCELLATION = 'handle-workflow-cancellation';

/**
 * One payment, from creation to the end of its refund window. Its state and rules live in
 * PaymentRecord, its gateway work in PaymentOperations; this function is the payment's life in order.
 */
export async function paymentWorkflow(input: PaymentWorkflowInput): Promise<Payment> {
  // A workflow started by hand (`temporal workflow start`) skips the client's checks: an input the
  // client would never send ends the run before anything is recorded or any gateway is called.
  const inputIssues = paymentInputIssues(input, workflowInfo().workflowId);
  if (inputIssues.length > 0) throw toFailure(new ValidationError(inputIssues, 'payment workflow input'));
  const { settings } = input;
  const record = new PaymentRecord(input);
  const operations = new PaymentOperations(record, settings);
  const delivery = new EventDelivery(record, settings);
  const lifecycle = new PaymentLifecycle(record, operations, delivery, settings);

  // First, before any handler is registered: an update delivered with the start (pay) runs as soon
  // as its handler exists, and the payment's first event must stay its first.
  record.begin();
  registerQueriesAndUpdates(record, operations);
  registerOperatorSignals(record, operations);
  delivery.start();

  try {
    await lifecycle.run();
  } catch (err) {
    // Payments that ran before this handling existed ended as cancelled here, and their histories
    // (replayed by every query of a closed payment) must replay as they were: the patch marker tells.
    if (!isCancellation(err) || !patched(HANDLE_WORKFLOW_CANCELLATION)) throw err;
    // A cancellation request is an operator's wish, handled like the `cancel` signal: the payment is
    // cancelled (with a void) where its state allows, otherwise the request is refused and recorded.
    // Either way the payment stays readable and usable, so the rest runs shielded from it.
    await CancellationScope.nonCancellable(async () => {
      await onCancellationRequested(record, operations);
      await lifecycle.run();
    });
  }
  return record.payment;
}

/** The client's calls: each update's validator refuses what its rules refuse before it is accepted. */
function registerQueriesAndUpdates(record: PaymentRecord, operations: PaymentOperations): void {
  const payment = record.payment;
  const handled = (fn: () => Promise<Payment>) => handledUpdate(record, fn);
  setHandler(paymentQuery, () => payment);
  setHandler(eventsQuery, () => record.events);
  setHandler(createUpdate, () => payment, {
    validator: (req) => guard(() => record.assertSameRequest(req?.fingerprint)),
  });
  setHandler(
    processUpdate,
    (req) =>
      handled(async () => {
        // The state changes before the first await, so a concurrent duplicate only waits for the outcome.
        if (payment.state === 'INITIATED') {
          try {
            await operations.process(checkProcessRequest(req));
          } catch (err) {
            record.unexpected(err);
          }
        }
        await condition(() => isSettled(payment.state));
        return payment;
      }),
    {
      validator: (req) =>
        guard(() => {
          record.assertSameRequest(checkProcessRequest(req).fingerprint);
          record.assertProcessable();
        }),
    },
  );
  setHandler(captureUpdate, (req) => handled(() => operations.capture(req)), {
    validator: (req) => void guard(() => record.captureAmount(req)),
  });
  setHandler(
    cancelUpdate,
    (req) => handled(() => operations.cancel(checkCancelRequest(req).reason ?? 'requested_by_customer')),
    {
      validator: (req) =>
        guard(() => {
          checkCancelRequest(req);
          record.repeatsCancel();
        }),
    },
  );
  setHandler(refundUpdate, (req) => handled(() => operations.refund(req)), {
    validator: (req) => void guard(() => record.refundDecision(req)),
  });
  setHandler(
    completeActionUpdate,
    (req) => handled(() => operations.completeAction(checkCompleteActionRequest(req).succeeded)),
    {
      validator: (req) =>
        guard(() => {
          checkCompleteActionRequest(req);
          record.assertAwaitsAction();
        }),
    },
  );
  setHandler(
    resolveReviewUpdate,
    (req) => handled(() => operations.resolveReview(() => record.checkResolveReview(req))),
    {
      validator: (req) => void guard(() => record.checkResolveReview(req)),
    },
  );
}

/** The operator's signals: they never fail the workflow, so what is not allowed is recorded as rejected. */
function registerOperatorSignals(record: PaymentRecord, operations: PaymentOperations): void {
  const signal = (kind: string, req: unknown, fn: () => Promise<unknown>) =>
    CancellationScope.nonCancellable(async () => {
      try {
        await fn();
      } catch (err) {
        record.rejectRequest(kind, req, err);
      }
    });
  setHandler(cancelSignal, (req?: unknown) =>
    signal('cancel', req, async () => {
      const reason = checkCancelRequest(req).reason ?? 'cancelled_by_operator';
      if (record.repeatsCancel()) return; // already what was asked
      await operations.cancel(reason);
    }),
  );
  setHandler(refundSignal, (req?: unknown) =>
    signal('refund', req, () => operations.refund(req as RefundRequest)),
  );
  setHandler(resolveReviewSignal, (req?: unknown) =>
    signal('resolveReview', req, async () => {
      const checked = record.checkResolveReview(req);
      await operations.resolveReview(() => checked);
    }),
  );
}

/**
 * Runs an update's work shielded from workflow cancellation. Failures the caller must hear
 * (validation, state, gateway refusals) pass through; anything else sends the payment to review.
 */
async function handledUpdate(record: PaymentRecord, fn: () => Promise<Payment>): Promise<Payment> {
  return CancellationScope.nonCancellable(async () => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ApplicationFailure || err instanceof AegisPayError) throw toFailure(err);
      record.unexpected(err);
      return record.payment;
    }
  });
}

/** Temporal's own cancellation (Web UI "Request Cancellation", `temporal workflow cancel`). */
async function onCancellationRequested(record: PaymentRecord, operations: PaymentOperations): Promise<void> {
  record.record('CANCELLATION_REQUESTED', { source: 'temporal' });
  try {
    record.assertCancellable();
    await operations.cancel('cancellation_requested');
  } catch (err) {
    record.rejectRequest('workflow-cancel', undefined, err);
  }
}
