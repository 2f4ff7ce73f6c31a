import { z } from 'zod';
import { ConfigurationError } from '../../domain/errors';
import type { GatewayType } from '../../domain/types';
import type { Gateway } from './gateway';
import { mockConnector } from './mock';
import { paypalConnector } from './paypal';
import { stripeConnector } from './stripe';

export { GatewayError, type Gateway, type GatewayConfig, type GatewayErrorCategory } from './gateway';
export { MockGateway } from './mock';
export { PaypalGateway } from './paypal';
export { StripeGateway } from './stripe';

/** The connectors, one line each: what the worker, the CLI and `createGateway` offer. */
export const CONNECTORS = {
  MOCK: mockConnector,
  STRIPE: stripeConnector,
  PAYPAL: paypalConnector,
} as const satisfies { [T in GatewayType]: unknown };

/** The gateway types that have a connector. */
export type ConnectorType = keyof typeof CONNECTORS;
export const CONNECTOR_TYPES = Object.keys(CONNECTORS) as [ConnectorType, ...ConnectorType[]];

type Each = (typeof CONNECTORS)[ConnectorType];
type AllOf<U> = (U extends unknown ? (u: U) => void : never) extends (all: infer I) => void ? I : never;

/** The standalone worker's settings of every connector, by gateway type (`STRIPE.apiKey`, …). */
export const CONNECTOR_SETTINGS = z.strictObject(
  Object.fromEntries(
    CONNECTOR_TYPES.map((type) => [type, (CONNECTORS[type].settings as z.ZodObject).prefault({})]),
  ),
) as z.ZodObject<{ [T in ConnectorType]: z.ZodPrefault<(typeof CONNECTORS)[T]['settings']> }>;

/** Everything any adapter accepts; each takes the fields it knows. */
export type GatewayFactoryConfig = AllOf<Parameters<Each['create']>[0]>;

/** Builds the adapter for a gateway type; throws a `ConfigurationError` for a type without a connector. */
export function createGateway(type: GatewayType, config: GatewayFactoryConfig = {}): Gateway {
  const connector = (CONNECTORS as Partial<Record<GatewayType, Each>>)[type];
  if (!connector) {
    const offered = `${CONNECTOR_TYPES.slice(0, -1).join(', ')} and ${CONNECTOR_TYPES.at(-1)}`;
    throw new ConfigurationError(`No adapter for gateway ${type}: AegisPay has adapters for ${offered}`);
  }
  return connector.create(config);
}
