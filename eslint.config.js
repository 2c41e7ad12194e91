// ESLint (flat config): typescript-eslint's type-checked rules over every TypeScript file, plus the
// floors of docs/architecture.md as import restrictions.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const outsideOrchestrator = {
  group: ['**/orchestrator/src/**'],
  message: 'the orchestrator is reached through orchestrator/index.ts (docs/architecture.md, "Floors")',
};
const sampleApp = {
  group: ['**/sample-app/**'],
  message: 'nothing imports the sample-app: what services share is in contract/ (docs/architecture.md, "Floors")',
};

export default tseslint.config(
  { ignores: ['dist/**', 'reports/**', 'node_modules/**', '**/*.mjs', '**/*.js', 'bin/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Async methods implement Promise-returning ports (Runtime, ProxyControl); many need no await.
      '@typescript-eslint/require-await': 'off',
      // An abort's reason, a caught error: rejected as they came, whatever they are.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Tests read JSON and use vitest's asymmetric matchers (typed any): no-unsafe-* would only add casts.
    files: ['**/test/**/*.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off', '@typescript-eslint/no-unsafe-member-access': 'off' },
  },
  { files: ['harness/src/**/*.ts', 'scripts/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [outsideOrchestrator, sampleApp] }] } },
  { files: ['orchestrator/**/*.ts', 'contract/**/*.ts', 'common/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [sampleApp] }] } },
);
