import { z } from 'zod';
import { defineConnector } from '../connector';
import { PaypalGateway, type PaypalGatewayOptions } from './adapter';

export { PaypalGateway, type PaypalGatewayOptions } from './adapter';

export const paypalConnector = defineConnector({
  type: 'PAYPAL',
  create: (options: PaypalGatewayOptions) => new PaypalGateway(options),
  settings: z.strictObject({
    clientId: z
      .string()
      .min(1)
      .optional()
      .meta({ env: 'PAYPAL_CLIENT_ID', doc: 'PAYPAL client ID (required with PAYPAL).' }),
    clientSecret: z
      .string()
      .min(1)
      .optional()
      .meta({ env: 'PAYPAL_CLIENT_SECRET', doc: 'PAYPAL client secret (required with PAYPAL).' }),
    baseUrl: z.url().optional().meta({
      env: 'PAYPAL_BASE_URL',
      doc: 'PayPal API base URL (`https://api-m.paypal.com` for live payments).',
      shownDefault: '`https://api-m.sandbox.paypal.com`',
    }),
  }),
  sandboxOptions: (url) => ({ clientId: 'aegispay', clientSecret: 'secret', baseUrl: url }),
});
