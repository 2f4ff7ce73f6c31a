/**
 * `npm run codec-server`: serves /encode and /decode for the Temporal Web UI and CLI, with the keys of
 * AEGISPAY_ENCRYPTION_KEYS / AEGISPAY_ENCRYPTION_ACTIVE_KEY (the worker's variables).
 */
import { codecServerOptionsFromEnv, startCodecServer } from '../src/codec/codec-server';

async function main(): Promise<void> {
  const options = codecServerOptionsFromEnv();
  const server = await startCodecServer(options);
  console.log(`AegisPay codec server listening on ${server.url}`);
  console.log(`  Allowed origins: ${(options.allowedOrigins ?? []).join(', ')}`);
  console.log(`  Point the Web UI at it: AEGISPAY_CODEC_ENDPOINT=${server.url} npm run temporal`);
  if (!options.token) {
    console.warn(
      '  No AEGISPAY_CODEC_TOKEN: any local process can call it (the local Web UI cannot send one).',
    );
  }
  const stop = () => void server.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
