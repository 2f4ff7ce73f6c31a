/**
 * Where AegisPay's own files are (temporal-dev.yml, the default data directories), in a checkout and
 * when installed into an app.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigurationError } from './domain/errors';

export { isInstalledPackage } from '../scripts/temporal-toolchain.cjs';

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
