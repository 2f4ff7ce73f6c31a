import { z } from 'zod';
import type { GatewayType } from '../../domain/types';
import type { Gateway, GatewayConfig } from './gateway';

/**
 * One gateway connector: its folder holds the adapter, its status and error tables and its currency
 * rules; this is what the registry (`index.ts`), the standalone worker and the CLI read of it.
 */
export interface Connector<Options extends GatewayConfig, Settings extends z.ZodObject> {
  type: GatewayType;
  create(options: Options): Gateway;
  /**
   * The standalone worker's settings of this connector, each field with its doc and environment
   * variable (`.meta({ doc, env })`); once parsed, they are the adapter's options.
   */
  settings: Settings & z.ZodType<NoInfer<Options>>;
  /** Options that point the adapter at the sandbox PSP at `url`, for `aegispay dev`. */
  sandboxOptions(url: string): Options;
}

/** Types a connector definition (the identity, with its options and variables inferred). */
export function defineConnector<Options extends GatewayConfig, Settings extends z.ZodObject>(
  connector: Connector<Options, Settings>,
): Connector<Options, Settings> {
  return connector;
}

/** A duration setting in milliseconds. */
export const msSetting = z.number().int().nonnegative();
