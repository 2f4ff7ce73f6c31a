import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CONFIG_DOC, configTable, settingsTable, withAllTables } from '../../scripts/config-docs';
import { aegisPayConfigSchema } from '../../src/config';
import { nestedShape, settingMeta } from '../../src/config/loader';
import { SETTINGS_SECTIONS } from '../../src/config/sections';

/** Every environment variable a settings schema declares, nested groups included. */
function variablesOf(shape: Record<string, z.ZodType>): string[] {
  return Object.values(shape).flatMap((schema) => {
    const nested = nestedShape(schema);
    if (nested) return variablesOf(nested);
    const env = settingMeta(schema)?.env;
    return env ? [env] : [];
  });
}

describe('the settings tables in docs/configuration.md', () => {
  it('are the ones generated from the schemas (run `npm run docs:config` after changing src/config/)', () => {
    const page = readFileSync(CONFIG_DOC, 'utf8');
    expect(withAllTables(page)).toBe(page);
  });

  it('have a row for every field of the constructor schema, nested ones under their parent', () => {
    const table = `${configTable()}\n${configTable(true)}`;
    for (const key of Object.keys(aegisPayConfigSchema.shape)) {
      expect(table).toMatch(new RegExp(`^\\| \`${key}(\\.\\w+)?\` `, 'm'));
    }
    expect(table).toContain('| `retry.maxRetries` ');
    expect(table).toContain('| `logging.level` ');
    expect(configTable()).not.toContain('| `routing` ');
    expect(configTable(true)).toContain('| `routing` ');
  });

  it('have a row naming each environment variable of every process section', () => {
    for (const section of SETTINGS_SECTIONS) {
      const table = settingsTable(section.schema.shape);
      const variables = variablesOf(section.schema.shape);
      expect(variables.length).toBeGreaterThan(0);
      for (const name of variables)
        expect(table).toMatch(new RegExp(`^\\| \`[\\w.]+\` +\\| \`${name}\` `, 'm'));
    }
    expect(settingsTable(SETTINGS_SECTIONS[0]!.schema.shape)).toContain('| `connectors.STRIPE.apiKey` ');
  });
});
