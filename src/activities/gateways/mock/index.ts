import { z } from 'zod';
import { defineConnector, msSetting } from '../connector';
import { MockGateway, type MockGatewayOptions } from './adapter';

export { MockGateway, type MockGatewayOptions } from './adapter';

export const mockConnector = defineConnector({
  type: 'MOCK',
  create: (options: MockGatewayOptions) => new MockGateway(options),
  settings: z.strictObject({
    latencyMs: msSetting
      .default(0)
      .meta({ env: 'AEGISPAY_MOCK_LATENCY_MS', doc: 'MOCK delay before a call.' }),
    delayAfterCommitMs: msSetting.default(0).meta({
      env: 'AEGISPAY_MOCK_DELAY_AFTER_COMMIT_MS',
      doc: 'MOCK delay after recording a call, before answering (crash testing).',
    }),
    ledgerFile: z.string().min(1).optional().meta({
      env: 'AEGISPAY_MOCK_LEDGER_FILE',
      doc: 'Keep the MOCK ledger in a JSON file (shared across processes and restarts).',
    }),
  }),
  // The MOCK gateway answers in-process: it needs no sandbox.
  sandboxOptions: () => ({}),
});
