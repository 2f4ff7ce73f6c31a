import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { DomainEvent, GatewayType, Payment } from './types';

/**
 * The payment workflow's messages, shared by the client, the worker and the workflow.
 * Wire names are stored in history and typed by operators: never rename them.
 */

/** Attaches to (or, with Update-With-Start, creates) the payment; rejected when the fingerprint differs. */
export interface CreateRequest {
  fingerprint: string;
}

/** Routes and charges the payment; a duplicate call waits for and returns the first call's outcome. */
export interface ProcessRequest {
  /** Present on `pay` (Update-With-Start): duplicates with another request are conflicts. */
  fingerprint?: string;
  gatewayType?: GatewayType;
}

export const createUpdate = defineUpdate<Payment, [CreateRequest]>('create');
export const processUpdate = defineUpdate<Payment, [ProcessRequest]>('process');
export const paymentQuery = defineQuery<Payment>('payment');
export const eventsQuery = defineQuery<DomainEvent[]>('events');
