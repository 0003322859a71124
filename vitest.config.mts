import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Integration tests start emulators (JVMs) and child processes: separate processes
    // keep their global state (Pulumi mocks, Google clients) apart.
    pool: "forks",
    // Two files at a time, though the machine has two cores (Vitest's default would be one):
    // most of a test's time is spent waiting on emulators and child processes, and the whole
    // suite took 871 s one file at a time and 470 s two at a time, all green (2026-12-07).
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 120_000,
    env: { METADATA_SERVER_DETECTION: "none" },
  },
});
