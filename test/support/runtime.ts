/**
 * A consumer's runtime in the test's own process, as `npm start` runs it: the real launcher with
 * the test registry, local mode, unary pulls against the test's emulators, logs silent.
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
      PULL_TRANSPORT: "unary",
    }),
    handleSignals: false,
    logger: createLogger({ level: "silent" }),
  });
}
