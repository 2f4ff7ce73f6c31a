import { z } from 'zod';
import type { GatewayType } from '../../domain/types';
import type { Gateway, GatewayConfig } from './gateway';

/**
 * One gateway connector: its folder holds the adapter, its status and error tables and its currency
 * rules; this is what the registry (`index.ts`), the standalone worker and the CLI read of it.
 */
export interface Connector<Options extends GatewayConfig, Env extends z.ZodRawShape> {
  type: GatewayType;
  create(options: Options): Gateway;
  /** The standalone worker's environment variables of this connector. */
  env: Env;
  /** The adapter options from those variables, once parsed. */
  optionsFromEnv(vars: z.output<z.ZodObject<Env>>): Options;
  /** Options that point the adapter at the sandbox PSP at `url`, for `aegispay dev`. */
  sandboxOptions(url: string): Options;
}

/** Types a connector definition (the identity, with its options and variables inferred). */
export function defineConnector<Options extends GatewayConfig, Env extends z.ZodRawShape>(
  connector: Connector<Options, Env>,
): Connector<Options, Env> {
  return connector;
}

/** A non-negative whole number from an environment variable. */
export const intFromEnv = z.coerce.number().int().nonnegative();
