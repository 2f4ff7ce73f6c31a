import { readFileSync } from 'node:fs';
import { CONFIG_DOC, configTable, withTable } from '../../scripts/config-docs';
import { aegisPayConfigSchema } from '../../src/config';

describe('the configuration table in docs/configuration.md', () => {
  it('is the one generated from the config schema (run `npm run docs:config` after changing src/config.ts)', () => {
    const page = readFileSync(CONFIG_DOC, 'utf8');
    expect(withTable(page, configTable())).toBe(page);
  });

  it('has a row for every field of the schema, nested ones under their parent', () => {
    const table = configTable();
    for (const key of Object.keys(aegisPayConfigSchema.shape)) {
      expect(table).toMatch(new RegExp(`^\\| \`${key}(\\.\\w+)?\` `, 'm'));
    }
    expect(table).toContain('| `retry.maxRetries` ');
    expect(table).toContain('| `logging.level` ');
  });
});
