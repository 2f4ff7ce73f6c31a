import { ConfigurationError } from '../../domain/errors';
import type { GatewayType } from '../../domain/types';
import type { Gateway } from './gateway';
import { MockGateway, type MockGatewayOptions } from './mock';
import { PaypalGateway, type PaypalGatewayOptions } from './paypal';
import { StripeGateway, type StripeGatewayOptions } from './stripe';

export { GatewayError, type Gateway, type GatewayConfig, type GatewayErrorCategory } from './gateway';
export { MockGateway } from './mock';
export { PaypalGateway } from './paypal';
export { StripeGateway } from './stripe';

/** Everything any adapter accepts; each takes the fields it knows. */
export type GatewayFactoryConfig = MockGatewayOptions & StripeGatewayOptions & PaypalGatewayOptions;

/** Builds the adapter for a gateway type; throws a `ConfigurationError` for types without one (ADYEN, RAZORPAY). */
export function createGateway(type: GatewayType, config: GatewayFactoryConfig = {}): Gateway {
  switch (type) {
    case 'MOCK':
      return new MockGateway(config);
    case 'STRIPE':
      return new StripeGateway(config);
    case 'PAYPAL':
      return new PaypalGateway(config);
    default:
      throw new ConfigurationError(
        `No adapter for gateway ${type}: AegisPay has adapters for MOCK, STRIPE and PAYPAL`,
      );
  }
}
