import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SearchAttributeType } from '@temporalio/common';
import { parse } from 'yaml';
import { PAYMENT_SEARCH_ATTRIBUTES } from '../../src/domain/search-attributes';
import { loadDevServerSettings } from '../../src/toolchain/dev-server';
import { findProjectRoot } from '../../src/toolchain/temporal-binaries';

/** The CLI's `Name=Type` spelling of the SDK's search attribute types. */
const CLI_TYPE: Partial<Record<SearchAttributeType, string>> = {
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.INT]: 'Int',
};

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

const expected = PAYMENT_SEARCH_ATTRIBUTES.map((key) => ({ name: key.name, type: CLI_TYPE[key.type] })).sort(
  byName,
);

describe('search attributes', () => {
  it('every payment search attribute has a type the dev server can register (Keyword or Int)', () => {
    expect(PAYMENT_SEARCH_ATTRIBUTES.length).toBeGreaterThan(0);
    for (const attr of expected) expect(attr.type).toMatch(/^(Keyword|Int)$/);
  });

  it('temporal-dev.yml registers exactly PAYMENT_SEARCH_ATTRIBUTES, with matching types', () => {
    const { searchAttributes } = loadDevServerSettings();
    expect([...searchAttributes].sort(byName)).toEqual(expected);
  });

  it('the Compose service in temporal-dev.yml passes the same search attributes on its command line', () => {
    const doc = parse(readFileSync(join(findProjectRoot(), 'temporal-dev.yml'), 'utf8')) as {
      services: { temporal: { command: string[] } };
    };
    const command = doc.services.temporal.command;
    const registered = command
      .flatMap((arg, i) => (arg === '--search-attribute' ? [command[i + 1]!] : []))
      .map((s) => {
        const [name, type] = s.split('=');
        return { name: name!, type };
      })
      .sort(byName);
    expect(registered).toEqual(expected);
  });

  it('has the names Temporal stores (never renamed)', () => {
    expect(PAYMENT_SEARCH_ATTRIBUTES.map((k) => k.name)).toEqual([
      'AegisPayState',
      'AegisPayGateway',
      'AegisPayAmount',
      'AegisPayCurrency',
      'AegisPayCustomerId',
      'AegisPayRefunded',
    ]);
  });
});
