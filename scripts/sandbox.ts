/**
 * Runs the sandbox PSP in the foreground: `npm run sandbox -- --port 4242 --ledger .sandbox/ledger.json`.
 * Environment: SANDBOX_PORT, SANDBOX_LEDGER. Ctrl-C stops it; the ledger file stays.
 */
import { parseArgs } from 'node:util';
import { startSandbox } from '../src/sandbox/server';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', short: 'p' },
      ledger: { type: 'string', short: 'l' },
      memory: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log('usage: sandbox [--port 4242] [--ledger .sandbox/ledger.json | --memory]');
    return;
  }
  const port = Number(values.port ?? process.env.SANDBOX_PORT ?? 4242);
  const ledgerFile = values.memory
    ? undefined
    : (values.ledger ?? process.env.SANDBOX_LEDGER ?? '.sandbox/ledger.json');
  const sandbox = await startSandbox({ port, ...(ledgerFile ? { ledgerFile } : {}) });
  console.log(`Sandbox PSP listening on ${sandbox.url} (ledger: ${ledgerFile ?? 'in memory'})`);
  console.log(`  STRIPE: baseUrl ${sandbox.url}, apiKey sk_test_<anything>`);
  console.log(`  PAYPAL: baseUrl ${sandbox.url}, clientId <any>, clientSecret <any>`);
  console.log(
    `  admin:  GET ${sandbox.url}/__admin/ledger, POST ${sandbox.url}/__admin/faults, POST ${sandbox.url}/__admin/reset`,
  );
  const shutdown = () => {
    void sandbox.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
