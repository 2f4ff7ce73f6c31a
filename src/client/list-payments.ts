import type { temporal } from '@temporalio/proto';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { z } from 'zod';
import {
  PAYMENT_AMOUNT,
  PAYMENT_CURRENCY,
  PAYMENT_CUSTOMER_ID,
  PAYMENT_REFUNDED,
  PAYMENT_GATEWAY,
  PAYMENT_STATE,
} from '../domain/search-attributes';
import { GatewayType, PaymentState, type Payment } from '../domain/types';

/**
 * Filters of `listPayments`. State, customer and gateway work everywhere (search attributes); amount and
 * date ranges need the payment store, which answers lists whenever one is configured.
 */
export const listPaymentsRequestSchema = z.strictObject({
  state: z.enum(PaymentState).optional(),
  customerId: z.string().min(1).max(255).optional(),
  gatewayType: z.enum(GatewayType).optional(),
  /** Amount bounds in minor units, inclusive. */
  minAmount: z.number().int().min(0).optional(),
  maxAmount: z.number().int().min(0).optional(),
  /** Creation time bounds (ISO 8601): `from` inclusive, `to` exclusive. */
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.number().int().min(1).max(1000).default(50),
  pageToken: z.string().min(1).optional(),
});
export type ListPaymentsRequest = z.input<typeof listPaymentsRequestSchema>;

/** One row of `listPayments`: what visibility knows without asking the workflow. */
export interface PaymentListItem {
  id: string;
  state?: string;
  amount?: number;
  currency?: string;
  customerId?: string;
  gateway?: string;
  /** Refunded so far in minor units, once a refund succeeded while the payment's workflow ran. */
  refunded?: number;
  workflowStatus: string;
  createdAt?: string;
}

export interface PaymentListPage {
  payments: PaymentListItem[];
  nextPageToken?: string;
}

/** Builds the visibility query; values are quoted and escaped, never spliced in raw. */
export function listPaymentsQuery(filters: z.output<typeof listPaymentsRequestSchema>): string {
  const quote = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const clauses = ["WorkflowType = 'paymentWorkflow'"];
  if (filters.state) clauses.push(`${PAYMENT_STATE.name} = ${quote(filters.state)}`);
  if (filters.customerId) clauses.push(`${PAYMENT_CUSTOMER_ID.name} = ${quote(filters.customerId)}`);
  if (filters.gatewayType) clauses.push(`${PAYMENT_GATEWAY.name} = ${quote(filters.gatewayType)}`);
  // No ORDER BY: not every visibility store supports it; they all list newest first.
  return clauses.join(' AND ');
}

const STATUS_NAMES: Record<number, string> = {
  1: 'RUNNING',
  2: 'COMPLETED',
  3: 'FAILED',
  4: 'CANCELLED',
  5: 'TERMINATED',
  6: 'CONTINUED_AS_NEW',
  7: 'TIMED_OUT',
};

/** A stored payment as a list row. */
export function storedPaymentSummary(p: Payment, workflowStatus = 'STORED'): PaymentListItem {
  return {
    id: p.id,
    state: p.state,
    amount: p.amount.amount,
    currency: p.amount.currency,
    customerId: p.customer.id,
    ...(p.gateway ? { gateway: p.gateway } : {}),
    workflowStatus,
    createdAt: p.createdAt,
  };
}

/** Turns a raw visibility row into a `PaymentListItem`. */
export function toPaymentSummary(raw: temporal.api.workflow.v1.IWorkflowExecutionInfo): PaymentListItem {
  const attributes = decodeTypedSearchAttributes(raw.searchAttributes?.indexedFields);
  const started = raw.startTime?.seconds;
  // To the millisecond, so that a list sorted by creation keeps payments of the same second in order.
  const startedMs = Number(started) * 1000 + Math.floor((raw.startTime?.nanos ?? 0) / 1e6);
  const item: PaymentListItem = {
    id: raw.execution?.workflowId ?? '',
    workflowStatus: STATUS_NAMES[raw.status ?? 0] ?? 'UNKNOWN',
    ...(started != null ? { createdAt: new Date(startedMs).toISOString() } : {}),
  };
  const set = <K extends keyof PaymentListItem>(k: K, v: PaymentListItem[K] | undefined) => {
    if (v !== undefined) item[k] = v;
  };
  set('state', attributes.get(PAYMENT_STATE));
  set('amount', attributes.get(PAYMENT_AMOUNT));
  set('currency', attributes.get(PAYMENT_CURRENCY));
  set('customerId', attributes.get(PAYMENT_CUSTOMER_ID));
  set('gateway', attributes.get(PAYMENT_GATEWAY));
  set('refunded', attributes.get(PAYMENT_REFUNDED));
  return item;
}
