/**
 * `npm run temporal`: runs the local Temporal dev server with the settings of temporal-dev.yml.
 * State lives in the db file named there, so payments survive a restart.
 * `npm run temporal -- <command…>` runs the pinned Temporal CLI with those arguments instead
 * (`npm run temporal -- workflow list`), since the binary is not on PATH in a clone.
 */
import { spawnSync } from 'node:child_process';
import { startDevServer } from '../src/toolchain/dev-server';
import { findTemporalCli } from '../src/toolchain/temporal-binaries';

/** Runs the Temporal CLI with `args` on this terminal and exits with its exit code. */
function runTemporalCli(args: string[]): never {
  const run = spawnSync(findTemporalCli(), args, { stdio: 'inherit' });
  if (run.error) throw run.error;
  process.exit(run.status ?? 1);
}

async function main(): Promise<void> {
  const server = await startDevServer({ inheritOutput: true });
  const { settings } = server;
  console.log(`\nAegisPay Temporal dev server is ready`);
  console.log(`  gRPC address: ${server.address} (namespace ${server.namespace})`);
  console.log(`  Web UI:       ${server.uiUrl}`);
  console.log(`  Persistence:  ${settings.dbFile ?? 'in memory (lost on exit)'}`);
  if (settings.codecEndpoint) console.log(`  Codec server: ${settings.codecEndpoint}`);
  console.log(`Press Ctrl+C to stop.\n`);

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the Temporal dev server...`);
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  // If the server dies on its own (port taken, bad db file), say so instead of hanging.
  void server.exited.then((code) => {
    if (stopping) return;
    console.error(`Temporal dev server exited unexpectedly (${code}).`);
    process.exit(1);
  });
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

const args = process.argv.slice(2);
(args.length > 0 ? Promise.resolve().then(() => runTemporalCli(args)) : main()).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
