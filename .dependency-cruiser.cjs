/**
 * The direction of AegisPay's imports, checked by `npm run lint` (dependency-cruiser):
 * domain ← workflows / activities ← worker; domain ← client; client, worker ← embedded runtime;
 * the sandbox PSP and the Temporal toolchain stay outside the product's import graph, and nothing imports in a cycle.
 */
const PRODUCT = '^src/(?!sandbox/|toolchain/|cli\\.ts$|cli-format\\.ts$)';

/** What every layer may use: the domain, the Temporal connection, and two small process helpers. */
const SHARED_OR = (own) => `^src/(${own}|domain|temporal)/|^src/(free-port|project-root)\\.ts$`;

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import cycle ties modules that should be able to change alone.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'domain-imports-domain',
      comment: 'The domain is the centre: it imports nothing else of AegisPay.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { path: '^src/', pathNot: '^src/domain/' },
    },
    {
      name: 'workflows-import-domain',
      comment: 'Workflow code sees the domain, and activities only as types for proxyActivities.',
      severity: 'error',
      from: { path: '^src/workflows/' },
      to: { path: '^src/', pathNot: '^src/(domain|workflows)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'activities-not-upwards',
      comment: 'Activities serve workflows and the worker; they never read workflow, client or worker code.',
      severity: 'error',
      from: { path: '^src/activities/' },
      to: { path: '^src/(workflows/|client/|worker\\.ts$|fleet-membership\\.ts$)' },
    },
    {
      name: 'client-not-activities',
      comment: 'The client talks to Temporal; gateway SDKs, tokenizers and routing belong to the worker.',
      severity: 'error',
      from: { path: '^src/client/' },
      to: { path: '^src/activities/' },
    },
    {
      name: 'client-not-worker',
      comment: 'Client and worker share the domain and the Temporal connection, never each other.',
      severity: 'error',
      from: { path: '^src/client/' },
      to: { path: '^src/(worker\\.ts|fleet-membership\\.ts)$' },
    },
    {
      name: 'worker-not-client',
      comment: 'Client and worker share the domain and the Temporal connection, never each other.',
      severity: 'error',
      from: { path: '^src/(worker\\.ts|fleet-membership\\.ts|activities/|workflows/)' },
      to: { path: '^src/client/' },
    },
    {
      name: 'product-not-sandbox',
      comment: 'The sandbox PSP is test equipment: the product never imports it.',
      severity: 'error',
      from: { path: PRODUCT },
      to: { path: '^src/sandbox/' },
    },
    {
      name: 'product-not-toolchain',
      comment: 'The Temporal toolchain (dev server, binaries) is dev tooling, not a product dependency.',
      severity: 'error',
      // The embedded runtime is the one product module whose job is to start a local Temporal server.
      from: { path: PRODUCT, pathNot: '^src/embedded/' },
      to: { path: '^src/toolchain/' },
    },
    {
      name: 'embedded-on-top',
      comment:
        'The embedded runtime uses the client and the worker; neither of them, nor what they use, uses it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(embedded/|index\\.ts$|cli\\.ts$)' },
      to: { path: '^src/embedded/' },
    },
    {
      name: 'sandbox-stands-alone',
      comment:
        'The sandbox PSP checks the adapters, so it must not reuse their code (currency tables included).',
      severity: 'error',
      from: { path: '^src/sandbox/' },
      to: { path: '^src/', pathNot: '^src/(sandbox|domain)/' },
    },
    {
      name: 'toolchain-stands-alone',
      comment:
        'The toolchain launches Temporal; it reads no product layer but the domain and its own settings (through the settings loader).',
      severity: 'error',
      from: { path: '^src/toolchain/' },
      to: { path: '^src/', pathNot: `${SHARED_OR('toolchain')}|^src/config/(loader|dev-server|toolchain)\\.ts$` },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
