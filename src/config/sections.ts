import { codecServerSettings } from './codec-server';
import { devServerSettings } from './dev-server';
import type { SettingsSection } from './loader';
import { toolchainSettings } from './toolchain';
import { workerSettings } from './worker';

/** Every process's settings section, in the order docs/configuration.md shows them. */
export const SETTINGS_SECTIONS: SettingsSection[] = [
  workerSettings,
  codecServerSettings,
  devServerSettings,
  toolchainSettings,
];
