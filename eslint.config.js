// Flat config: ESLint's and typescript-eslint's recommended rules, without type information so
// `eslint .` stays fast; `tsc -p tsconfig.json` does the type checking.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores([
    '**/node_modules/',
    '.tools/',
    '.local/',
    'infra/kafka/target/',
    'outbox/',
    'coverage/',
    '**/drizzle/**',
  ]),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      // A leading underscore marks a parameter or binding that is deliberately unused.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Tests match raw bytes on purpose (ASCII ranges, ANSI colour codes).
    files: ['**/*.test.ts', '**/test/**/*.ts'],
    rules: { 'no-control-regex': 'off' },
  },
);
