/** @jest-config-loader esbuild-register */
import type { Config } from 'jest';

/**
 * One real Temporal dev server and one embedded PostgreSQL for the whole run (test/support/
 * global-setup.ts); each test file gets its own database and its own task queue.
 */
const config: Config = {
  testEnvironment: 'node',
  transform: { '^.+\\.tsx?$': ['@swc/jest', {}] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  setupFiles: ['<rootDir>/test/support/env.ts'],
  testTimeout: 120_000,
  maxWorkers: 2,
  // The generated Prisma client imports its own .ts files with .js extensions.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  modulePathIgnorePatterns: ['<rootDir>/.data', '<rootDir>/web'],
};

export default config;
