import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConnection, temporalConnectionSchema } from '../../src/temporal/connection';
import { AegisPay } from '../../src/embedded/aegis-pay';

// Not real key material: connection options only carry the bytes, nothing here opens a TLS session.
const dir = mkdtempSync(join(tmpdir(), 'aegispay-envconfig-'));
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const cert = file('client.pem', '-----BEGIN CERTIFICATE-----\nclient\n-----END CERTIFICATE-----\n');
const key = file('client.key', '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n');
const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n');
const configFile = file(
  'temporal.toml',
  `
[profile.default]
address = "temporal.staging.internal:7233"
namespace = "staging"

[profile.cloud]
address = "payments.a1b2c.tmprl.cloud:7233"
namespace = "payments.a1b2c"
api_key = "cloud-api-key"

[profile.mtls]
address = "temporal.prod.internal:7233"
namespace = "payments"

[profile.mtls.tls]
client_cert_path = "${cert}"
client_key_path = "${key}"
server_ca_cert_path = "${ca}"
server_name = "temporal.prod.internal"
`,
);
/** An environment with nothing but what the test sets: no user config file is found under this HOME. */
const env = (vars: Record<string, string> = {}) => ({ HOME: dir, ...vars });
const text = (bytes: unknown) => Buffer.from(bytes as Uint8Array).toString('utf8');
/** TLS options with their byte fields as text, to compare a Buffer and a Uint8Array by content. */
const readable = (tls: unknown) => {
  const t = tls as {
    clientCertPair: { crt: Uint8Array; key: Uint8Array };
    serverRootCACertificate: Uint8Array;
    serverNameOverride: string;
  };
  return {
    crt: text(t.clientCertPair.crt),
    key: text(t.clientCertPair.key),
    ca: text(t.serverRootCACertificate),
    serverNameOverride: t.serverNameOverride,
  };
};

describe('Temporal environment configuration', () => {
  test('a profile with an API key connects with TLS and the key (Temporal Cloud)', () => {
    expect(
      resolveConnection('env', env({ TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_PROFILE: 'cloud' })),
    ).toEqual({
      namespace: 'payments.a1b2c',
      options: { address: 'payments.a1b2c.tmprl.cloud:7233', apiKey: 'cloud-api-key', tls: true },
    });
  });

  test('a profile with client certificate paths reads the files into an mTLS client pair', () => {
    const { namespace, options } = resolveConnection(
      'env',
      env({ TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_PROFILE: 'mtls' }),
    );
    expect(namespace).toBe('payments');
    expect(options.address).toBe('temporal.prod.internal:7233');
    expect(options.apiKey).toBeUndefined();
    expect(readable(options.tls)).toEqual({
      crt: expect.stringContaining('client'),
      key: expect.stringContaining('PRIVATE KEY'),
      ca: expect.stringContaining('ca'),
      serverNameOverride: 'temporal.prod.internal',
    });
  });

  test('without TEMPORAL_PROFILE the default profile is used', () => {
    expect(resolveConnection('env', env({ TEMPORAL_CONFIG_FILE: configFile }))).toEqual({
      namespace: 'staging',
      options: { address: 'temporal.staging.internal:7233' },
    });
  });

  test('the standard TEMPORAL_* variables override the profile', () => {
    const resolved = resolveConnection(
      'env',
      env({
        TEMPORAL_CONFIG_FILE: configFile,
        TEMPORAL_PROFILE: 'cloud',
        TEMPORAL_ADDRESS: 'other.tmprl.cloud:7233',
        TEMPORAL_NAMESPACE: 'other',
        TEMPORAL_API_KEY: 'rotated-key',
      }),
    );
    expect(resolved).toEqual({
      namespace: 'other',
      options: { address: 'other.tmprl.cloud:7233', apiKey: 'rotated-key', tls: true },
    });
  });

  test('variables alone configure mTLS, with no file at all', () => {
    const { options } = resolveConnection(
      'env',
      env({
        TEMPORAL_ADDRESS: 'temporal.prod.internal:7233',
        TEMPORAL_TLS_CLIENT_CERT_PATH: cert,
        TEMPORAL_TLS_CLIENT_KEY_PATH: key,
        TEMPORAL_TLS_SERVER_NAME: 'temporal.prod.internal',
      }),
    );
    expect(options).toMatchObject({
      address: 'temporal.prod.internal:7233',
      tls: { serverNameOverride: 'temporal.prod.internal' },
    });
    expect(text((options.tls as { clientCertPair: { crt: Uint8Array } }).clientCertPair.crt)).toContain(
      'client',
    );
  });

  test('with nothing configured it is the local dev server', () => {
    expect(resolveConnection('env', env())).toEqual({
      namespace: 'default',
      options: { address: 'localhost:7233' },
    });
  });

  test('a profile that is not in the file is a configuration error', () => {
    expect(() =>
      resolveConnection('env', env({ TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_PROFILE: 'nope' })),
    ).toThrow(
      expect.objectContaining({ code: 'CONFIGURATION_ERROR', message: expect.stringContaining('nope') }),
    );
  });
});

describe('explicit connection settings', () => {
  test('an API key implies TLS', () => {
    expect(resolveConnection({ address: 'payments.a1b2c.tmprl.cloud:7233', apiKey: 'k' })).toEqual({
      namespace: 'default',
      options: { address: 'payments.a1b2c.tmprl.cloud:7233', apiKey: 'k', tls: true },
    });
  });

  test('certificate paths are read into the same options a profile gives', () => {
    const explicit = resolveConnection({
      address: 'temporal.prod.internal:7233',
      namespace: 'payments',
      tls: {
        clientCertPath: cert,
        clientKeyPath: key,
        serverRootCACertPath: ca,
        serverNameOverride: 'temporal.prod.internal',
      },
    });
    const profile = resolveConnection(
      'env',
      env({ TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_PROFILE: 'mtls' }),
    );
    expect(explicit.namespace).toBe(profile.namespace);
    expect(readable(explicit.options.tls)).toEqual(readable(profile.options.tls));
  });

  test('PEM contents give the same options as the files holding them', () => {
    const pemText = (path: string) => readFileSync(path, 'utf8');
    const fromFiles = resolveConnection({
      address: 'temporal.prod.internal:7233',
      tls: { clientCertPath: cert, clientKeyPath: key, serverRootCACertPath: ca },
    });
    const fromPem = resolveConnection({
      address: 'temporal.prod.internal:7233',
      tls: { clientCert: pemText(cert), clientKey: pemText(key), serverRootCACert: pemText(ca) },
    });
    expect(readable(fromPem.options.tls)).toEqual(readable(fromFiles.options.tls));
  });

  test('a certificate both as a path and as PEM, a missing key and non-PEM text are all named', () => {
    const result = temporalConnectionSchema.safeParse({
      tls: { clientCertPath: cert, clientCert: readFileSync(cert, 'utf8'), serverRootCACert: 'not pem' },
    });
    expect(result.success).toBe(false);
    const issues = result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^tls\.serverRootCACert: must be PEM/),
        'tls.clientCert: give clientCert or clientCertPath, not both',
        'tls.clientKey: clientKey or clientKeyPath is required',
      ]),
    );
  });

  test('PEM contents in TEMPORAL_TLS_*_DATA variables configure mTLS without files', () => {
    const pemText = (path: string) => readFileSync(path, 'utf8');
    const { options } = resolveConnection(
      'env',
      env({
        TEMPORAL_ADDRESS: 'temporal.prod.internal:7233',
        TEMPORAL_TLS_CLIENT_CERT_DATA: pemText(cert),
        TEMPORAL_TLS_CLIENT_KEY_DATA: pemText(key),
        TEMPORAL_TLS_SERVER_CA_CERT_DATA: pemText(ca),
        TEMPORAL_TLS_SERVER_NAME: 'temporal.prod.internal',
      }),
    );
    expect(readable(options.tls)).toEqual({
      crt: pemText(cert),
      key: pemText(key),
      ca: pemText(ca),
      serverNameOverride: 'temporal.prod.internal',
    });
  });

  test("AegisPay with temporal: 'env' reads temporalEnv, not the process's variables", async () => {
    const aegis = new AegisPay({
      temporal: 'env',
      temporalEnv: env({ TEMPORAL_ADDRESS: '127.0.0.1:1', TEMPORAL_NAMESPACE: 'elsewhere' }),
      temporalTimeoutMs: 200,
      logging: { level: 'SILENT' },
    });
    try {
      await expect(aegis.getPayment('payment:order_1')).rejects.toMatchObject({
        code: 'TEMPORAL_UNAVAILABLE',
        message: expect.stringContaining('127.0.0.1:1'),
      });
    } finally {
      await aegis.close();
    }
  });

  test("AegisPay accepts temporal: 'env'", () => {
    expect(() => new AegisPay({ temporal: 'env', logging: { level: 'SILENT' } })).not.toThrow();
  });
});
