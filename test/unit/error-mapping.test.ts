import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { Metadata, status } from '@grpc/grpc-js';
import { ServiceError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { isUnansweredUpdate, isUpdateAnswerLost, toAegisPayError } from '../../src/client/errors';
import { ValidationError } from '../../src/domain/errors';

type Coded = { code?: unknown; message?: unknown; details?: unknown };

describe('toAegisPayError', () => {
  it('maps an IDEMPOTENCY_CONFLICT ApplicationFailure nested as the cause of another error', () => {
    const failure = ApplicationFailure.create({ type: 'IDEMPOTENCY_CONFLICT', message: 'x' });
    const wrapped = new Error('update failed', { cause: failure });
    const mapped = toAegisPayError(wrapped, { idempotencyKey: 'order_1' }) as Coded;
    expect(mapped).not.toBe(wrapped);
    expect(mapped.code).toBe('IDEMPOTENCY_CONFLICT');
    expect(mapped.message).toContain('order_1');
  });

  it('finds the failure several causes deep (as in WorkflowUpdateFailedError)', () => {
    const failure = ApplicationFailure.create({
      type: 'IDEMPOTENCY_CONFLICT',
      message: 'x',
      details: [{ idempotencyKey: 'order_7' }],
    });
    const wrapped = new Error('outer', {
      cause: new WorkflowUpdateFailedError('Workflow Update failed', failure),
    });
    const mapped = toAegisPayError(wrapped) as Coded;
    expect(mapped.code).toBe('IDEMPOTENCY_CONFLICT');
    // Without a context key, the key comes from the failure's details.
    expect(mapped.message).toContain('order_7');
  });

  it('maps an INVALID_STATE_TRANSITION failure, keeping its message and from/to details', () => {
    const failure = ApplicationFailure.create({
      type: 'INVALID_STATE_TRANSITION',
      message: 'Cannot move a payment from SUCCESS to CANCELLED',
      details: [{ from: 'SUCCESS', to: 'CANCELLED' }],
    });
    const mapped = toAegisPayError(new Error('update failed', { cause: failure }), {
      paymentId: 'payment:o1',
    }) as Coded;
    expect(mapped.code).toBe('INVALID_STATE_TRANSITION');
    expect(mapped.message).toBe('Cannot move a payment from SUCCESS to CANCELLED');
    expect(mapped).toMatchObject({ from: 'SUCCESS', to: 'CANCELLED' });
  });

  it('maps a VALIDATION_ERROR failure to a ValidationError with its issues', () => {
    const issues = [{ path: 'amount', message: 'amount must be positive' }];
    const failure = ApplicationFailure.create({
      type: 'VALIDATION_ERROR',
      message: 'bad',
      details: [{ issues }],
    });
    const mapped = toAegisPayError(new Error('wrapper', { cause: failure }));
    expect((mapped as Coded).code).toBe('VALIDATION_ERROR');
    expect((mapped as ValidationError).issues).toEqual(issues);
  });

  it('maps any other AegisPay code to an error with that code and message', () => {
    const failure = ApplicationFailure.create({ type: 'REFUND_EXCEEDS_CAPTURED', message: 'too much' });
    const mapped = toAegisPayError(new Error('wrapper', { cause: failure })) as Coded;
    expect(mapped.code).toBe('REFUND_EXCEEDS_CAPTURED');
    expect(mapped.message).toBe('too much');
  });

  it('maps a failure that is itself the error (not wrapped)', () => {
    const failure = ApplicationFailure.create({ type: 'IDEMPOTENCY_CONFLICT', message: 'x' });
    expect((toAegisPayError(failure, { idempotencyKey: 'k' }) as Coded).code).toBe('IDEMPOTENCY_CONFLICT');
  });

  it.each([
    ['an unknown failure type', ApplicationFailure.create({ type: 'card_declined', message: 'declined' })],
    ['a failure without a type', ApplicationFailure.create({ message: 'no type' })],
  ])('passes the original error through for %s', (_what, failure) => {
    const wrapped = new Error('update failed', { cause: failure });
    expect(toAegisPayError(wrapped, { paymentId: 'payment:o1' })).toBe(wrapped);
  });

  it('passes plain errors and non-errors through unchanged', () => {
    const plain = new Error('boom');
    expect(toAegisPayError(plain)).toBe(plain);
    expect(toAegisPayError('a string')).toBe('a string');
    expect(toAegisPayError(undefined)).toBeUndefined();
  });

  it('returns an AegisPay error as it is', () => {
    const err = new ValidationError([{ path: 'x', message: 'y' }]);
    expect(toAegisPayError(err, { paymentId: 'payment:o1' })).toBe(err);
  });

  it('maps WorkflowNotFoundError to PAYMENT_NOT_FOUND naming the payment, given a paymentId', () => {
    const err = new WorkflowNotFoundError('workflow not found', 'payment:order_1', undefined);
    const mapped = toAegisPayError(err, { paymentId: 'payment:order_1' }) as Coded;
    expect(mapped.code).toBe('PAYMENT_NOT_FOUND');
    expect(mapped.message).toContain('payment:order_1');
    expect(mapped.details).toEqual({ paymentId: 'payment:order_1' });
  });

  it('passes WorkflowNotFoundError through when there is no paymentId context', () => {
    const err = new WorkflowNotFoundError('workflow not found', 'payment:order_1', 'run-1');
    expect(toAegisPayError(err)).toBe(err);
  });
});

describe('isUnansweredUpdate', () => {
  it('is true for an update the workflow never decided: no cause, or the server UnprocessedUpdate failure', () => {
    // The shape the server gives an update that a workflow task completed without taking.
    const unprocessed = ApplicationFailure.create({
      type: 'UnprocessedUpdate',
      message: "Workflow Update is rejected because it wasn't processed by worker.",
      nonRetryable: true,
    });
    expect(isUnansweredUpdate(new WorkflowUpdateFailedError('no answer', undefined))).toBe(true);
    expect(isUnansweredUpdate(new WorkflowUpdateFailedError('dropped', unprocessed))).toBe(true);
  });

  it('is false for an answer from the workflow and for other errors', () => {
    const answered = new WorkflowUpdateFailedError(
      'rejected',
      ApplicationFailure.create({ type: 'IDEMPOTENCY_CONFLICT', message: 'x' }),
    );
    expect(isUnansweredUpdate(answered)).toBe(false);
    expect(isUnansweredUpdate(new Error('other'))).toBe(false);
    expect(isUnansweredUpdate(new WorkflowUpdateRPCTimeoutOrCancelledError('timed out'))).toBe(false);
  });
});

describe('isUpdateAnswerLost', () => {
  it('is true only when the client stopped waiting for the answer', () => {
    expect(isUpdateAnswerLost(new WorkflowUpdateRPCTimeoutOrCancelledError('timed out'))).toBe(true);
    expect(isUpdateAnswerLost(new WorkflowUpdateFailedError('no answer', undefined))).toBe(false);
  });
});

describe('toAegisPayError for Temporal not answering', () => {
  const grpcError = (code: status, details: string) =>
    Object.assign(new Error(`${code} ${details}`), { code, details, metadata: new Metadata() });

  it('maps UNAVAILABLE and DEADLINE_EXCEEDED, anywhere in the cause chain, to TEMPORAL_UNAVAILABLE with the reason', () => {
    for (const code of [status.UNAVAILABLE, status.DEADLINE_EXCEEDED]) {
      const err = new ServiceError('Workflow Update failed', {
        cause: grpcError(code, 'Temporal did not answer UpdateWorkflowExecution within 30 s'),
      });
      const mapped = toAegisPayError(err) as Coded;
      expect(mapped.code).toBe('TEMPORAL_UNAVAILABLE');
      expect(mapped.message).toBe(
        'Temporal is unavailable: Temporal did not answer UpdateWorkflowExecution within 30 s',
      );
    }
  });

  it('leaves other gRPC failures alone (a missing workflow is not an outage)', () => {
    const err = grpcError(status.NOT_FOUND, 'workflow not found for ID: payment:x');
    expect(toAegisPayError(err)).toBe(err);
    expect((toAegisPayError(grpcError(status.RESOURCE_EXHAUSTED, 'busy')) as Coded).code).toBe(8);
  });
});
