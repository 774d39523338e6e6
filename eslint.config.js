// `npm run lint`: typescript-eslint's recommended rules, plus the type-aware rules for promises
// (zctrace is mostly asynchronous: bpftrace children, pino flushes, the dashboard's timers, and a
// promise nobody awaits is the bug these rules catch that the compiler does not).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'lab/.cache/', 'bench/out/', '**/*.mjs', '**/*.js', '!eslint.config.js'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      // a parameter a method must take but does not use is named _x
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // a callback handed over before the object it reports to exists (export.ts, tui-replay.ts)
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // Tests and benchmarks read zctrace's NDJSON records and workloads' JSON field by field: `any`
    // is the honest type of a parsed record there.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
