import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * The search attributes a payment workflow sets, so payments can be filtered in the Web UI and
 * listed by `listPayments`. Names are stored by Temporal: never rename them.
 */
export const PAYMENT_STATE = defineSearchAttributeKey('AegisPayState', SearchAttributeType.KEYWORD);
export const PAYMENT_GATEWAY = defineSearchAttributeKey('AegisPayGateway', SearchAttributeType.KEYWORD);
export const PAYMENT_AMOUNT = defineSearchAttributeKey('AegisPayAmount', SearchAttributeType.INT);
export const PAYMENT_CURRENCY = defineSearchAttributeKey('AegisPayCurrency', SearchAttributeType.KEYWORD);
export const PAYMENT_CUSTOMER_ID = defineSearchAttributeKey(
  'AegisPayCustomerId',
  SearchAttributeType.KEYWORD,
);
/** What was refunded, in minor units; set once a refund succeeds while the payment's workflow runs. */
export const PAYMENT_REFUNDED = defineSearchAttributeKey('AegisPayRefunded', SearchAttributeType.INT);

/** All of them, for registering on a namespace. */
export const PAYMENT_SEARCH_ATTRIBUTES = [
  PAYMENT_STATE,
  PAYMENT_GATEWAY,
  PAYMENT_AMOUNT,
  PAYMENT_CURRENCY,
  PAYMENT_CUSTOMER_ID,
  PAYMENT_REFUNDED,
] as const;
