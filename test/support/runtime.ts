/**
 * A consumer's runtime in the test's own process, as `npm start` runs it: the real launcher with
 * the test registry, local mode, against the test's emulators, logs silent. Unary pulls unless
 * `transport` says streaming (what runs against Pub/Sub).
 */
import { system } from "../../infra/system";
import { capabilityChecks } from "../../handlers/adapters/environment";
import { launch, type RunningRuntime } from "../../handlers/runtime/launcher";
import { createLogger } from "../../handlers/runtime/logger";
import type { EmulatorFixture } from "./emulators";
import { testRegistry } from "./test-handlers";

export function launchLocalConsumer(
  emulators: EmulatorFixture,
  consumer: string,
  transport: "unary" | "streaming" = "unary",
): Promise<RunningRuntime> {
  return launch({
    system,
    capabilityChecks,
    registry: testRegistry,
    env: emulators.runtimeEnv({
      HANDLER: consumer,
      MODE: "local",
      STACK: "local",
      PORT: "0",
      PULL_TRANSPORT: transport,
    }),
    handleSignals: false,
    logger: createLogger({ level: "silent" }),
  });
}
