// Flat config: ESLint's and typescript-eslint's recommended rules, without type information so
// `eslint .` stays fast; `tsc -p tsconfig.json` does the type checking.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

const services = ['classifier', 'console', 'ingestion', 'messaging', 'scheduler'];

/**
 * Each service stands on its own: a file under services/<name>/ or tools/ reaches another
 * service only through that service's package exports (`@lifecycle/messaging/templates`),
 * never by a relative path into its folder. `forbidden` matches the import path.
 */
function serviceBoundary(files, forbidden, message) {
  return {
    files,
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: forbidden, message }] }],
      // no-restricted-imports does not look at import(): the same rule for dynamic imports.
      'no-restricted-syntax': ['error', { selector: `ImportExpression[source.value=/${forbidden.replaceAll('/', '\\/')}/]`, message }],
    },
  };
}

export default defineConfig(
  globalIgnores([
    '**/node_modules/',
    '.tools/',
    '.local/',
    'infra/kafka/target/',
    'outbox/',
    'coverage/',
    '**/drizzle/**',
    // Built output (the console's web app).
    '**/dist/',
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
  ...services.map((name) =>
    serviceBoundary(
      [`services/${name}/**/*.ts`],
      `^\\.\\.?/(?:.*/)?(?:${services.filter((other) => other !== name).join('|')})/`,
      `services/${name} must not reach into another service's folder; import its package exports (@lifecycle/<service>/...) and declare the dependency`,
    ),
  ),
  serviceBoundary(['tools/**/*.ts'], '^\\.\\.?/(?:.*/)?services/', "tools must not reach into a service's folder; import its package exports (@lifecycle/<service>/...) and declare the dependency"),
  {
    // Tests match raw bytes on purpose (ASCII ranges, ANSI colour codes).
    files: ['**/*.test.ts', '**/test/**/*.ts'],
    rules: { 'no-control-regex': 'off' },
  },
);
