/**
 * The container's entrypoint: runs the consumer HANDLER names in MODE (push, pull or local),
 * or the gateway with MODE=gateway,
 * configured from the environment (handlers/runtime/config.ts lists every variable). A
 * configuration problem is one line on stderr and exit code 2; a clean shutdown exits 0.
 */
import type { LevelWithSilent } from "pino";
import { runGateway } from "./gateway/run";
import { ConfigError } from "./runtime/config";
import { launch } from "./runtime/launcher";
import { createLogger } from "./runtime/logger";
import { registry } from "./registry";

// MODE=gateway runs the gateway (handlers/gateway/run.ts lists its variables) instead of a consumer.
const stopped =
  process.env["MODE"] === "gateway"
    ? runGateway(process.env, createLogger({ level: (process.env["LOG_LEVEL"] || "info") as LevelWithSilent, base: { service: "gateway" }, ...(process.env["GOOGLE_CLOUD_PROJECT"] ? { projectId: process.env["GOOGLE_CLOUD_PROJECT"] } : {}) })).then(() => 0)
    : launch({ registry }).then((runtime) => runtime.stopped);

stopped.then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`eventline: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`eventline: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
