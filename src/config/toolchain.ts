/** Where the development toolchain's binaries are: the Temporal CLI, its test server, PostgreSQL. */
import { z } from 'zod';
import { loadSettings, settingMeta, type SettingsSection } from './loader';

const path = z.string().min(1);

export const toolchainSettingsSchema = z.strictObject({
  temporalBin: path.optional().meta({
    env: 'AEGISPAY_TEMPORAL_BIN',
    doc: 'The Temporal CLI to run; a wrong path is an error, never skipped. See [Install](install.md).',
    shownDefault: '`temporal` on PATH, else the pinned copy',
  }),
  testServerBin: path.optional().meta({
    env: 'AEGISPAY_TEMPORAL_TEST_SERVER_BIN',
    doc: 'The time-skipping test server to run.',
    shownDefault: '`temporal-test-server` on PATH, else the pinned copy',
  }),
  pgBin: path.default('/usr/lib/postgresql/15/bin').meta({
    env: 'AEGISPAY_PG_BIN',
    doc: 'Folder of the PostgreSQL binaries the tests and the local cluster run.',
  }),
  // Read by scripts/temporal-toolchain.cjs, which the npm setup script runs before any TypeScript can.
  cacheDir: path.optional().meta({
    env: 'AEGISPAY_CACHE_DIR',
    doc: 'Cache folder of the pinned Temporal binaries (see [Install](install.md)).',
    shownDefault: '`$XDG_CACHE_HOME/aegispay`, else `~/.cache/aegispay`',
  }),
});
export type ToolchainSettings = z.output<typeof toolchainSettingsSchema>;

export const toolchainSettings = {
  key: 'toolchain',
  what: 'toolchain settings',
  schema: toolchainSettingsSchema,
} satisfies SettingsSection;

/** The toolchain settings of this process's environment. */
export function toolchainFromEnv(env: NodeJS.ProcessEnv = process.env): ToolchainSettings {
  return loadSettings(toolchainSettings, { env });
}

/** The environment variable of a toolchain setting, for messages that tell what to set. */
export function toolchainVariable(field: keyof ToolchainSettings): string {
  return settingMeta(toolchainSettingsSchema.shape[field])!.env!;
}
