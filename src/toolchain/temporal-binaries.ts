import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { toolchainFromEnv, toolchainVariable } from '../config/toolchain';
import { ConfigurationError } from '../domain/errors';
import { findProjectRoot } from '../project-root';
// Two folders up from src/toolchain and dist/toolchain alike: the one home of the pinned versions.
import {
  TEMPORAL_CLI_VERSION,
  TEMPORAL_TEST_SERVER_VERSION,
  isExecutable,
  isInstalledPackage,
  toolchainTarget,
} from '../../scripts/temporal-toolchain.cjs';

export { TEMPORAL_CLI_VERSION, TEMPORAL_TEST_SERVER_VERSION, isInstalledPackage };
export { findProjectRoot };

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

function find(what: string, setting: 'temporalBin' | 'testServerBin', command: string): string {
  const envVar = toolchainVariable(setting);
  const fromEnv = toolchainFromEnv()[setting];
  if (fromEnv) {
    // An explicit setting that is wrong must fail loudly rather than silently fall back.
    if (isExecutable(fromEnv)) return fromEnv;
    const problem = existsSync(fromEnv) ? 'is not executable' : 'does not exist';
    throw new ConfigurationError(
      `${envVar}=${fromEnv} ${problem}. Point ${envVar} at the ${what} binary, or unset it to use ` +
        `\`${command}\` on PATH or the copy installed by \`${setupCommand()}\`.`,
    );
  }
  const tried = [`${envVar} (not set)`, `\`${command}\` on PATH (not found)`];
  const found = onPath(command);
  if (found) return found;
  let local: string | undefined;
  try {
    local = join(toolchainTarget(findProjectRoot()).dir, 'bin', command);
    if (isExecutable(local)) return local;
    tried.push(`${local} (${existsSync(local) ? 'not executable' : 'missing'})`);
  } catch (err) {
    tried.push(`the pinned copy (${(err as Error).message})`);
  }
  throw new ConfigurationError(
    `Cannot find the ${what}. Tried: ${tried.join('; ')}. ` +
      `Fix: run \`${setupCommand()}\` (installs the pinned version with pip), ` +
      `or set ${envVar} to an existing binary, or put \`${command}\` on your PATH.`,
  );
}

/** The command that installs the toolchain, as the user can type it where AegisPay runs. */
export function setupCommand(): string {
  try {
    return isInstalledPackage(findProjectRoot()) ? 'npx aegispay setup' : 'npm run setup';
  } catch {
    return 'npx aegispay setup';
  }
}

/** Finds the Temporal CLI: AEGISPAY_TEMPORAL_BIN, then `temporal` on PATH, then the pinned copy (see `toolchainTarget`). */
export function findTemporalCli(): string {
  return find(`Temporal CLI (${TEMPORAL_CLI_VERSION})`, 'temporalBin', 'temporal');
}

/** Finds the time-skipping test server: AEGISPAY_TEMPORAL_TEST_SERVER_BIN, then `temporal-test-server` on PATH, then the project-local copy. */
export function findTemporalTestServer(): string {
  return find(
    `Temporal test server (${TEMPORAL_TEST_SERVER_VERSION})`,
    'testServerBin',
    'temporal-test-server',
  );
}
