import { z } from 'zod';
import { defineConnector, msSetting } from '../connector';
import { StripeGateway, type StripeGatewayOptions } from './adapter';

export { StripeGateway, type StripeGatewayOptions } from './adapter';

export const stripeConnector = defineConnector({
  type: 'STRIPE',
  create: (options: StripeGatewayOptions) => new StripeGateway(options),
  settings: z.strictObject({
    apiKey: z.string().min(1).optional().meta({
      env: 'STRIPE_API_KEY',
      doc: 'STRIPE secret key (required with STRIPE).',
      shownDefault: 'none',
    }),
    baseUrl: z.url().optional().meta({
      env: 'STRIPE_BASE_URL',
      doc: "Stripe's API base URL (the sandbox's, for tests).",
      shownDefault: "Stripe's API",
    }),
    lookupLagMs: msSetting.optional().meta({
      env: 'STRIPE_LOOKUP_LAG_MS',
      doc: 'How long Stripe\'s search may lag; reconciliation waits it out before trusting "not found" (0 against the sandbox).',
      shownDefault: '`60000`',
    }),
  }),
  // The sandbox's search has no lag unless a `searchLagMs` fault adds one.
  sandboxOptions: (url) => ({ apiKey: 'sk_test_aegispay', baseUrl: url, lookupLagMs: 0 }),
});
