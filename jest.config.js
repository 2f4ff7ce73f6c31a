/** Unit tests run in parallel; integration tests each start their own Temporal dev server. */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  setupFiles: ['<rootDir>/test/helpers/setup.ts'],
  testTimeout: 60_000,
  maxWorkers: 2,
};
