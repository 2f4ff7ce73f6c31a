/** AegisPay's public API. */
export { AegisPay } from './embedded/aegis-pay';
export type { AegisPayConfig } from './config';
export type { CardTokenizer } from './client/prepare-payment';
export type { ListPaymentsRequest, PaymentListItem, PaymentListPage } from './client/list-payments';
export type { TemporalConnectionConfig } from './temporal/connection';
export { Currency, CURRENCIES, type CurrencyCode } from './domain/currencies';
export * from './domain/errors';
export { GatewayType, PaymentMethodType, PaymentState } from './domain/types';
export type * from './domain/types';
export { formatMinor, formatMoney, toMinorUnits } from './domain/money';
export { paymentWorkflowId, parsePaymentWorkflowId } from './domain/ids';
export { paymentListUrl, webUiColumnsScript, WEB_UI_PAYMENT_COLUMNS } from './web-ui';
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
export { MockGateway, type MockGatewayOptions } from './activities/gateways/mock/adapter';
export {
  createGateway,
  StripeGateway,
  PaypalGateway,
  type GatewayFactoryConfig,
} from './activities/gateways';
export type { HealthSummary, GatewayHealthSummary } from './domain/health';
export type { RoutingStrategy, DeclarativeRule, FunctionRule, GatewayCost } from './activities/routing';
export type { CircuitBreakerConfig } from './activities/circuit-breaker';
export type { RiskCheckConfig, RiskCheckInput, RiskVerdict } from './activities/risk';
export { InMemoryEventBus, WebhookEventBus, type EventBus, type EventHandler } from './activities/events';
export {
  verifyWebhook,
  signWebhook,
  WebhookVerificationError,
  WEBHOOK_HEADERS,
  DEFAULT_WEBHOOK_TOLERANCE_SECONDS,
  type VerifyWebhookOptions,
} from './webhooks';
export {
  openPaymentStore,
  migratePaymentStore,
  storeConfigFromEnv,
  formatExport,
  type PaymentStore,
  type StoreConfig,
} from './store';
export type { ResolveReviewRequest } from './domain/review';
