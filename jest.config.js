// Native ESM: run with `node --experimental-vm-modules` (see package.json "test").
// Sources import siblings with their .ts extension (Node 24 runs them directly), so
// ts-jest only strips types; `npm run typecheck` does the type checking once.
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, diagnostics: false }],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 30000,
  maxWorkers: 2,
};
