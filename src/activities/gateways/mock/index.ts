import { z } from 'zod';
import { defineConnector, intFromEnv } from '../connector';
import { MockGateway, type MockGatewayOptions } from './adapter';

export { MockGateway, type MockGatewayOptions } from './adapter';

export const mockConnector = defineConnector({
  type: 'MOCK',
  create: (options: MockGatewayOptions) => new MockGateway(options),
  env: {
    AEGISPAY_MOCK_LATENCY_MS: intFromEnv.default(0),
    AEGISPAY_MOCK_DELAY_AFTER_COMMIT_MS: intFromEnv.default(0),
    AEGISPAY_MOCK_LEDGER_FILE: z.string().min(1).optional(),
  },
  optionsFromEnv: (vars) => ({
    latencyMs: vars.AEGISPAY_MOCK_LATENCY_MS,
    delayAfterCommitMs: vars.AEGISPAY_MOCK_DELAY_AFTER_COMMIT_MS,
    ...(vars.AEGISPAY_MOCK_LEDGER_FILE ? { ledgerFile: vars.AEGISPAY_MOCK_LEDGER_FILE } : {}),
  }),
  // The MOCK gateway answers in-process: it needs no sandbox.
  sandboxOptions: () => ({}),
});
