/** The workflow bundle's entry point: every workflow type the worker registers. */
export { paymentWorkflow } from './payment-workflow';
export { gatewayHealthWorkflow } from './gateway-health-workflow';
export { lateRefundWorkflow } from './late-refund-workflow';
