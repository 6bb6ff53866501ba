// Unit tests (`*.test.ts`) need nothing running; integration tests
// (`*.it.test.ts`) run against the local stack that `make test` starts.
// ts-jest in transpile-only mode: `npm run typecheck` does the type checking once.
const transform = { '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }] };
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
