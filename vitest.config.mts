import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Integration tests start emulators (JVMs) and child processes: separate processes
    // keep their global state (Pulumi mocks, Google clients) apart.
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 120_000,
    env: { METADATA_SERVER_DETECTION: "none" },
  },
});
