import { defineConfig } from 'vitest/config';

// npm run test:lab: the kernel-lab tests (test/lab/*.lab.ts). Each file boots qemu guests that
// run for minutes on a 2-core machine: one file at a time, generous timeouts.
export default defineConfig({
  test: {
    include: ['test/lab/**/*.lab.ts'],
    testTimeout: 1_800_000,
    hookTimeout: 1_800_000,
    fileParallelism: false,
    reporters: ['verbose'],
  },
});
