import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway } from '../../src/activities/gateways';
import type { Gateway } from '../../src/activities/gateways/gateway';
import type { RoutingConfigInput } from '../../src/activities/routing';
import { startSandbox, type Sandbox } from '../../src/sandbox/server';
import type { DevServer } from '../../src/toolchain/dev-server';
import { useTestServer } from './index';

/** Where an adapter sends its requests and how long it waits for an answer. */
export interface AdapterOptions {
  /** Default: the sandbox. */
  baseUrl?: string;
  /** Default: the suite's `adapterTimeoutMs`. */
  timeout?: number;
  /** STRIPE only: how long its search lags; the sandbox's has no lag unless a test adds one. Default 0. */
  lookupLagMs?: number;
}

/** The sandbox PSP of a test file, and adapters that talk to it over HTTP with its test credentials. */
export interface SandboxPsp {
  readonly sandbox: Sandbox;
  stripe(options?: AdapterOptions): Gateway;
  paypal(options?: AdapterOptions): Gateway;
}

/**
 * The sandbox PSP for the test file (its ledger in a file of its own): started before its first test,
 * stopped after its last; its faults and books are reset after each test.
 */
export function useSandbox({ adapterTimeoutMs }: { adapterTimeoutMs: number }): SandboxPsp {
  let sandbox: Sandbox | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aegispay-sandbox-'));
    sandbox = await startSandbox({ port: 0, ledgerFile: join(dir, 'ledger.json') });
  });
  afterEach(() => sandbox?.reset());
  afterAll(async () => {
    await sandbox?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const started = (): Sandbox => {
    if (!sandbox) throw new Error('the sandbox starts in beforeAll');
    return sandbox;
  };
  return {
    get sandbox() {
      return started();
    },
    stripe: ({ baseUrl = started().url, timeout = adapterTimeoutMs, lookupLagMs = 0 } = {}) =>
      createGateway('STRIPE', { apiKey: 'sk_test_aegispay', baseUrl, timeout, lookupLagMs }),
    paypal: ({ baseUrl = started().url, timeout = adapterTimeoutMs } = {}) =>
      createGateway('PAYPAL', { clientId: 'aegispay', clientSecret: 'secret', baseUrl, timeout }),
  };
}

/** A dev server and the sandbox PSP for the test file (see `useTestServer` and `useSandbox`). */
export function useSandboxHarness(options: {
  adapterTimeoutMs: number;
}): SandboxPsp & { readonly server: DevServer } {
  const t = useTestServer();
  const psp = useSandbox(options);
  return {
    get server() {
      return t.server;
    },
    get sandbox() {
      return psp.sandbox;
    },
    stripe: psp.stripe,
    paypal: psp.paypal,
  };
}

/** Cost-optimized routing under which the first gateway is the cheaper, so it is tried first. */
export function preferFirst(gateways: Gateway[]): RoutingConfigInput {
  const [first, second] = gateways;
  return {
    strategy: 'cost-optimized',
    costs: {
      [first!.type]: { fixed: 0, percentage: 1 },
      ...(second ? { [second.type]: { fixed: 30, percentage: 2.9 } } : {}),
    },
  };
}
