/**
 * The local Temporal dev server's settings: the `x-aegispay` block of temporal-dev.yml (the settings
 * file of this section, since Docker Compose reads the same file), overridden by the environment so a
 * run can move off the shared defaults without editing it.
 */
import { z } from 'zod';
import type { SettingsSection } from './loader';

// Ports are strings in the YAML because Compose wants string command items.
/** The defaults are temporal-dev.yml's, which Compose reads too. */
const inFile = 'in temporal-dev.yml';

const port = z.coerce.number().int().min(0).max(65535);

/** `KEY=VALUE` entries (as the CLI's `--dynamic-config-value` and `--sqlite-pragma` take them) as an object. */
const keyValues = (pattern: RegExp, shape: string) =>
  z
    .array(
      z.string().transform((entry, ctx) => {
        const m = pattern.exec(entry);
        if (m) return [m[1]!, m[2]!] as const;
        ctx.addIssue({ code: 'custom', message: `${JSON.stringify(entry)} is not ${shape}` });
        return z.NEVER;
      }),
    )
    .default([]);

export const devServerSettingsSchema = z.strictObject({
  namespace: z.string().min(1).meta({ shownDefault: inFile, doc: 'Namespace the dev server creates.' }),
  ip: z
    .string()
    .min(1)
    .meta({ shownDefault: inFile, doc: 'Interface the native server binds (the container binds 0.0.0.0).' }),
  grpcPort: port.meta({
    shownDefault: inFile,
    env: 'AEGISPAY_TEMPORAL_PORT',
    doc: 'Frontend (gRPC) port; `0` picks free ports for it and the UI.',
  }),
  uiPort: port.meta({
    shownDefault: inFile,
    env: 'AEGISPAY_TEMPORAL_UI_PORT',
    doc: 'Web UI port; `0` picks a free one.',
  }),
  dbFile: z.string().optional().meta({
    shownDefault: inFile,
    env: 'AEGISPAY_TEMPORAL_DB_FILE',
    keepEmpty: true,
    doc: 'SQLite file, relative to the project root (in an app: its working directory); empty keeps the state in memory.',
  }),
  logLevel: z.string().min(1).meta({ shownDefault: inFile, doc: "The server's log level." }),
  codecEndpoint: z
    .string()
    .optional()
    .transform((s) => s || undefined)
    .meta({
      shownDefault: inFile,
      env: 'AEGISPAY_CODEC_ENDPOINT',
      doc: "The Web UI's codec endpoint (`--ui-codec-endpoint`): the codec server's `uiEndpoint`.",
    }),
  searchAttributes: keyValues(/^(\w+)=(\w+)$/, 'Name=Type')
    .transform((entries) => entries.map(([name, type]) => ({ name, type })))
    .meta({ shownDefault: inFile, doc: "AegisPay's search attributes, `Name=Type`." }),
  dynamicConfig: keyValues(/^([\w.]+)=(.+)$/, 'KEY=VALUE')
    .transform((entries) => Object.fromEntries(entries))
    .meta({ shownDefault: inFile, doc: 'Server dynamic config, `KEY=VALUE` (see docs/performance.md).' }),
  sqlitePragmas: keyValues(/^([\w.]+)=(.+)$/, 'KEY=VALUE')
    .transform((entries) => Object.fromEntries(entries))
    .meta({ shownDefault: inFile, doc: 'SQLite pragmas for a server with a database file, `KEY=VALUE`.' }),
});

export const devServerSettings = {
  key: 'devServer',
  what: 'dev server settings',
  schema: devServerSettingsSchema,
} satisfies SettingsSection;
