/**
 * A runtime process for tests that need a real process (SIGTERM): handlers/main.ts with the
 * test registry instead of the image's. Configured by the same environment variables.
 */
import { system } from "../../infra/system";
import { capabilityChecks } from "../../handlers/adapters/environment";
import { launch } from "../../handlers/runtime/launcher";
import { ConfigError } from "../../handlers/runtime/settings";
import { testRegistry } from "./test-handlers";

launch({ system, registry: testRegistry, capabilityChecks }).then(
  async (runtime) => process.exit(await runtime.stopped),
  (err: unknown) => {
    process.stderr.write(
      `test worker: ${err instanceof ConfigError ? err.message : String(err)}\n`,
    );
    process.exit(2);
  },
);
