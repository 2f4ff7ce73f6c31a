import tseslint from 'typescript-eslint';

/** Workflow and domain code end up in the workflow sandbox bundle: keep Node and I/O out of them. */
const sandboxRestrictions = {
  patterns: [
    {
      group: ['node:*', 'fs', 'path', 'crypto', 'http', 'https', 'net', 'os', 'child_process'],
      message: 'Not deterministic: keep Node APIs out of src/domain and src/workflows.',
    },
    {
      group: ['pino', 'pino/*', 'stripe', '@temporalio/client', '@temporalio/worker', '@temporalio/activity'],
      message: 'Not sandbox-safe: use it from activities, client or worker.',
    },
    {
      group: ['**/activities', '**/activities/*', '**/client', '**/client/*', '**/worker'],
      message: 'Workflow code imports only src/domain and @temporalio/workflow (type imports are fine).',
      allowTypeImports: true,
    },
  ],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.temporal/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Plain CommonJS shared by scripts and the library (see scripts/temporal-toolchain.cjs).
    files: ['**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // A function fits on a screen: longer ones hide their steps, which deserve names of their own.
    files: ['src/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 80 }] },
  },
  {
    files: ['src/domain/**/*.ts', 'src/workflows/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', sandboxRestrictions] },
  },
);
