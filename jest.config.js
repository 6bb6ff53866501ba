// Unit tests (`*.test.ts`) need nothing running; integration tests
// (`*.it.test.ts`) run against the local stack that `make test` starts.
// ts-jest transpiles only (isolatedModules in tsconfig): `npm run typecheck` checks types once.
const transform = { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] };
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
