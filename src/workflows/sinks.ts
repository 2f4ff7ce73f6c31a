import type { Sinks } from '@temporalio/workflow';
import type { PaymentState } from '../domain/types';

/**
 * What payment workflows report to the worker process they run in. The worker skips calls made while
 * replaying, so each state change is counted once, by the worker that made it (a workflow task that
 * fails after the call and runs again can count it twice).
 */
export interface PaymentSinks extends Sinks {
  paymentMetrics: {
    /** The payment entered `state`; `gateway` holds it, `none` before routing. */
    stateEntered(state: PaymentState, gateway: string): void;
  };
}
