import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Starts (or finds) Redis and a MongoDB-wire server once per run; test files get their URLs through inject().
    globalSetup: ['test/support/global-setup.ts'],
    // Forks, not threads: servers, sockets and child processes behave as in production, one process per file.
    pool: 'forks',
    // The CI machines have 2 cores; more workers only make FerretDB (SQLite) and timing-sensitive tests slower.
    maxWorkers: 2,
    // Generous: tests wait on conditions, so a quiet machine never waits this long; a busy 2-core CI may need it.
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
