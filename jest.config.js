/** One jest run covers unit specs (next to the code) and e2e specs (test/e2e) against real services. */
module.exports = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  rootDir: '.',
  testRegex: '(src/.*\\.spec\\.ts|test/.*\\.e2e-spec\\.ts)$',
  transform: { '^.+\\.ts$': 'ts-jest' },
  testEnvironment: 'node',
  globalSetup: '<rootDir>/test/global-setup.ts',
  // Every response the e2e suites receive is checked against the OpenAPI document (test/contract).
  setupFilesAfterEnv: ['<rootDir>/test/contract/jest-setup.ts'],
  globalTeardown: '<rootDir>/test/contract/global-teardown.ts',
  testTimeout: 60000,
};
