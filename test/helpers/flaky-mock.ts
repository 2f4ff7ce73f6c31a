/**
 * The MOCK gateway with one-shot faults on follow-up calls, for tests that run on MOCK rather than the
 * sandbox PSP: the next capture, void or refund can be refused before it is processed (a 5xx or 429),
 * processed with its answer lost, processed and answered "in progress", or (refunds) declined. The
 * first three are asked again under the same idempotency key and MOCK replays what it did, so a caller
 * sees the same outcome as without the fault; a declined refund is a REFUND_FAILED.
 */
import {
  GatewayError,
  type CaptureRequest,
  type FollowUpRequest,
  type RefundRequest,
} from '../../src/activities/gateways/gateway';
import { MockGateway } from '../../src/activities/gateways/mock/adapter';

export type FollowUpOperation = 'capture' | 'void' | 'refund';
export type FollowUpFault = 'unavailable' | 'answer-lost' | 'in-progress' | 'declined';

export class FlakyMockGateway extends MockGateway {
  /** The fault armed for the next call of each operation. */
  private readonly armed = new Map<FollowUpOperation, FollowUpFault>();
  /** Faults that fired, by `operation fault`. */
  readonly fired: Record<string, number> = {};

  /** Arms a fault for the next call of `operation` (declined only for refunds). */
  arm(operation: FollowUpOperation, fault: FollowUpFault): void {
    if (fault === 'declined' && operation !== 'refund') throw new Error('only refunds can be declined');
    this.armed.set(operation, fault);
  }

  /** Removes a fault that no call used. */
  disarm(operation: FollowUpOperation): void {
    this.armed.delete(operation);
  }

  override capture(request: CaptureRequest): Promise<{ reference: string }> {
    return this.withFault('capture', () => super.capture(request));
  }

  override void(request: FollowUpRequest): Promise<void> {
    return this.withFault('void', () => super.void(request));
  }

  override refund(request: RefundRequest): Promise<{ reference: string }> {
    return this.withFault('refund', () => super.refund(request));
  }

  private async withFault<T>(operation: FollowUpOperation, call: () => Promise<T>): Promise<T> {
    const fault = this.armed.get(operation);
    this.armed.delete(operation);
    if (!fault) return call();
    this.fired[`${operation} ${fault}`] = (this.fired[`${operation} ${fault}`] ?? 0) + 1;
    switch (fault) {
      case 'unavailable':
        throw new GatewayError('retry-same-gateway', 'service_unavailable', 'injected 503 before processing');
      case 'answer-lost':
        await call();
        throw new GatewayError('unknown', 'gateway_timeout', 'injected: processed, answer lost');
      case 'in-progress':
        await call();
        throw new GatewayError('in-progress', 'processing', 'injected: processed, answered in progress');
      case 'declined':
        this.failRefundsWith = 'refund_declined';
        try {
          return await call();
        } finally {
          delete this.failRefundsWith;
        }
    }
  }
}
