import { z } from 'zod';
import { defineConnector } from '../connector';
import { PaypalGateway, type PaypalGatewayOptions } from './adapter';

export { PaypalGateway, type PaypalGatewayOptions } from './adapter';

export const paypalConnector = defineConnector({
  type: 'PAYPAL',
  create: (options: PaypalGatewayOptions) => new PaypalGateway(options),
  env: {
    PAYPAL_CLIENT_ID: z.string().min(1).optional(),
    PAYPAL_CLIENT_SECRET: z.string().min(1).optional(),
    PAYPAL_BASE_URL: z.url().optional(),
  },
  optionsFromEnv: (vars) => ({
    clientId: vars.PAYPAL_CLIENT_ID,
    clientSecret: vars.PAYPAL_CLIENT_SECRET,
    ...(vars.PAYPAL_BASE_URL ? { baseUrl: vars.PAYPAL_BASE_URL } : {}),
  }),
  sandboxOptions: (url) => ({ clientId: 'aegispay', clientSecret: 'secret', baseUrl: url }),
});
