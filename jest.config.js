/** Unit tests run in parallel; integration tests each start their own Temporal dev server. */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // test/cluster runs against the local cluster, under `npm run test:cluster` (which sets AEGISPAY_TEST_CLUSTER).
  testPathIgnorePatterns: process.env.AEGISPAY_TEST_CLUSTER
    ? ['/node_modules/']
    : ['/node_modules/', '<rootDir>/test/cluster/'],
  setupFiles: ['<rootDir>/test/helpers/setup.ts'],
  testTimeout: 60_000,
  maxWorkers: 2,
};
