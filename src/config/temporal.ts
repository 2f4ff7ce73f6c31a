import { z } from 'zod';
import { loadSettings, settingMeta, type SettingsSection } from './loader';

const text = z.string().min(1).optional();

/**
 * Where Temporal is, as Temporal's environment configuration reads it (a profile of a TOML file,
 * overridden by the standard `TEMPORAL_*` variables); see resolveConnection.
 */
export const temporalSettingsSchema = z.strictObject({
  configFile: text.meta({
    env: 'TEMPORAL_CONFIG_FILE',
    doc: "TOML file of connection profiles (Temporal's environment configuration).",
    shownDefault: '`~/.config/temporalio/temporal.toml`',
  }),
  profile: text.meta({
    env: 'TEMPORAL_PROFILE',
    doc: 'Profile to use from that file.',
    shownDefault: '`default`',
  }),
  address: text.meta({
    env: 'TEMPORAL_ADDRESS',
    doc: 'Temporal frontend; overrides the profile.',
    shownDefault: "the profile's, else `localhost:7233`",
  }),
  namespace: text.meta({
    env: 'TEMPORAL_NAMESPACE',
    doc: 'Namespace; overrides the profile.',
    shownDefault: "the profile's, else `default`",
  }),
  apiKey: text.meta({ env: 'TEMPORAL_API_KEY', doc: 'API key (Temporal Cloud); implies TLS.' }),
  tls: z
    .boolean()
    .optional()
    .meta({ env: 'TEMPORAL_TLS', doc: '`true`/`false`/`1`/`0`: server-verified TLS on or off.' }),
  tlsClientCertPath: text.meta({
    env: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
    doc: 'mTLS: client certificate file.',
  }),
  tlsClientKeyPath: text.meta({ env: 'TEMPORAL_TLS_CLIENT_KEY_PATH', doc: 'mTLS: client key file.' }),
  tlsServerCaCertPath: text.meta({ env: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH', doc: 'Server CA file.' }),
  tlsClientCertData: text.meta({
    env: 'TEMPORAL_TLS_CLIENT_CERT_DATA',
    doc: 'mTLS client certificate as PEM text instead of a file (e.g. from a secret store).',
  }),
  tlsClientKeyData: text.meta({ env: 'TEMPORAL_TLS_CLIENT_KEY_DATA', doc: 'mTLS client key as PEM text.' }),
  tlsServerCaCertData: text.meta({ env: 'TEMPORAL_TLS_SERVER_CA_CERT_DATA', doc: 'Server CA as PEM text.' }),
  tlsServerName: text.meta({ env: 'TEMPORAL_TLS_SERVER_NAME', doc: 'Server name override for TLS.' }),
});
export type TemporalSettings = z.output<typeof temporalSettingsSchema>;

/**
 * The settings as the `TEMPORAL_*` variables Temporal's environment configuration reads, over `env`:
 * values from a settings file or code reach it the same way as the environment's own.
 */
export function temporalEnvOf(settings: TemporalSettings, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const shape = temporalSettingsSchema.shape as Record<string, z.ZodType>;
  const vars = Object.entries(settings).flatMap(([field, value]) =>
    value === undefined ? [] : [[settingMeta(shape[field]!)!.env!, String(value)]],
  );
  return { ...env, ...Object.fromEntries(vars) };
}

export const temporalSettings = {
  key: 'temporal',
  what: 'Temporal environment configuration',
  schema: temporalSettingsSchema,
} satisfies SettingsSection;

/** Whether the settings ask for TLS, an API key or a profile: a connection only Temporal's environment configuration builds. */
export function isSecuredConnection(settings: TemporalSettings): boolean {
  const { apiKey, profile, configFile, tls, tlsClientCertPath, tlsClientCertData } = settings;
  return [apiKey, profile, configFile, tls, tlsClientCertPath, tlsClientCertData].some(
    (v) => v !== undefined,
  );
}

/** `isSecuredConnection` of the environment's `TEMPORAL_*` variables. */
export function isSecuredConnectionFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return isSecuredConnection(loadSettings(temporalSettings, { env }));
}
