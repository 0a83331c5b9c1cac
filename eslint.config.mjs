// ESLint for the whole repository (server, workers, CLI, tests and web/), run by `npm run lint`
// and therefore by `npm test` and CI. Type-aware where it matters (floating promises), plain
// elsewhere; formatting is Prettier's job (.prettierrc.json), import cycles dependency-cruiser's
// (.dependency-cruiser.cjs).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Temporal runs workflow code in a deterministic sandbox: no Node built-ins, no I/O libraries
// (https://docs.temporal.io/develop/typescript/core-application#workflow-logic-requirements). The
// SDK's own bundler check fails at worker start; this fails at lint time, naming the import.
const WORKFLOW_FORBIDDEN = [
  { group: ['node:*'], message: 'Workflow code runs in a sandbox: no Node built-ins (do it in an activity).' },
  ...[
    'fs',
    'path',
    'os',
    'crypto',
    'http',
    'https',
    'net',
    'child_process',
    'worker_threads',
    'stream',
    'zlib',
    'dns',
    'url',
    'util',
    'events',
    'timers',
    'process',
  ].map((name) => ({
    group: [name, `${name}/*`],
    message: 'Workflow code runs in a sandbox: no Node built-ins (do it in an activity).',
  })),
  {
    group: [
      '@temporalio/client',
      '@temporalio/worker',
      '@temporalio/activity',
      '@prisma/*',
      'pg',
      'express',
      'openai',
      'puppeteer',
      'nodemailer',
      'pino',
      '**/lib/db',
      '**/lib/env',
      '**/lib/logger',
      '**/lib/temporal',
      '**/activities/*',
      '**/api/*',
      '**/services/*',
      '**/prisma/*',
    ],
    message:
      'Workflow code is deterministic: no I/O libraries, database, environment or activity implementations (import activity types only, through proxyActivities).',
    allowTypeImports: true,
  },
];

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'web/node_modules/**',
      'web/dist/**',
      '.data/**',
      '.tools/**',
      'prisma/generated/**',
      'bench-results/**',
      'docs/**',
      'coverage/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      'no-console': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'max-lines': ['error', { max: 500, skipBlankLines: false, skipComments: false }],
      'max-lines-per-function': ['error', { max: 120, skipBlankLines: false, skipComments: false, IIFEs: true }],
    },
  },
  {
    // Command-line entry points and benchmarks print to the terminal on purpose.
    files: ['bin/**', 'cli/**', 'bench/**', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // Tests and the partner stand-in are long by nature (one describe per capability), and tests
    // read JSON answers they then assert on field by field.
    files: ['test/**', 'sandbox/**'],
    rules: {
      'max-lines': 'off',
      'max-lines-per-function': 'off',
      'no-console': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      // Tests assert that control characters are absent (a pipe gets no terminal codes).
      'no-control-regex': 'off',
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: WORKFLOW_FORBIDDEN }] },
  },
  {
    files: ['**/*.mjs', '**/*.cjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
      },
    },
  },
);
