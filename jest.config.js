// Unit tests (`*.test.ts`) need nothing running; integration tests
// (`*.it.test.ts`) run against the local stack that `make test` starts.
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
const roots = ['<rootDir>/libs', '<rootDir>/services', '<rootDir>/test'];

module.exports = {
  projects: [
    {
      displayName: 'unit',
      roots,
      transform,
      testEnvironment: 'node',
      testMatch: ['**/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '\\.it\\.test\\.ts$'],
    },
    {
      displayName: 'integration',
      roots,
      transform,
      testEnvironment: 'node',
      testMatch: ['**/test/**/*.it.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/support/integration-setup.ts'],
      slowTestThreshold: 30,
    },
  ],
};
