import { defineConfig } from 'vitest/config';

// Option names checked against vitest 4.1 (node_modules/vitest/dist/chunks/
// reporters.d.*.d.ts, InlineConfig): in vitest 4 `maxWorkers` is top-level under
// `test` and `poolOptions` / `minWorkers` no longer exist.
export default defineConfig({
  test: {
    include: ['test/**/*.test.{ts,tsx}'],
    // Integration tests talk to real RabbitMQ, Postgres and Redis.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Each test file uses its own HUB_NAMESPACE, so files may run side by side.
    fileParallelism: true,
    maxWorkers: 4,
  },
});
