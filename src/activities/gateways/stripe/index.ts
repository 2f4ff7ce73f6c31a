import { z } from 'zod';
import { defineConnector, intFromEnv } from '../connector';
import { StripeGateway, type StripeGatewayOptions } from './adapter';

export { StripeGateway, type StripeGatewayOptions } from './adapter';

export const stripeConnector = defineConnector({
  type: 'STRIPE',
  create: (options: StripeGatewayOptions) => new StripeGateway(options),
  env: {
    STRIPE_API_KEY: z.string().min(1).optional(),
    STRIPE_BASE_URL: z.url().optional(),
    /** How long Stripe's search may lag (default 60 s); reconciliation waits it out before failing over. */
    STRIPE_LOOKUP_LAG_MS: intFromEnv.optional(),
  },
  optionsFromEnv: (vars) => ({
    apiKey: vars.STRIPE_API_KEY,
    ...(vars.STRIPE_BASE_URL ? { baseUrl: vars.STRIPE_BASE_URL } : {}),
    ...(vars.STRIPE_LOOKUP_LAG_MS !== undefined ? { lookupLagMs: vars.STRIPE_LOOKUP_LAG_MS } : {}),
  }),
  // The sandbox's search has no lag unless a `searchLagMs` fault adds one.
  sandboxOptions: (url) => ({ apiKey: 'sk_test_aegispay', baseUrl: url, lookupLagMs: 0 }),
});
