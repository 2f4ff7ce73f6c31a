/** AegisPay's public API. */
export { AegisPay } from './client/aegis-pay';
export type { AegisPayConfig } from './client/config';
export type { CardTokenizer } from './client/prepare-payment';
export type { ListPaymentsRequest, PaymentListItem, PaymentListPage } from './client/list-payments';
export type { TemporalConnectionConfig } from './client/connection';
export { Currency, CURRENCIES, type CurrencyCode } from './domain/currencies';
export * from './domain/errors';
export { GatewayType, PaymentMethodType, PaymentState } from './domain/types';
export type * from './domain/types';
export { formatMinor, formatMoney, toMinorUnits } from './domain/money';
export { paymentWorkflowId, parsePaymentWorkflowId } from './domain/ids';
export { TRANSITIONS, canTransition } from './domain/state-machine';
export type {
  Gateway,
  GatewayConfig,
  GatewayCapabilities,
  ChargeRequest,
  ChargeResult,
  OperationStatus,
} from './activities/gateways/gateway';
export { GatewayError, type GatewayErrorCategory } from './activities/gateways/gateway';
export { MockGateway, type MockGatewayOptions } from './activities/gateways/mock';
export {
  InMemoryEventBus,
  WebhookEventBus,
  signWebhookBody,
  SIGNATURE_HEADER,
  type EventBus,
  type EventHandler,
} from './activities/events';
