/**
 * The container's entrypoint. MODE chooses what runs: a consumer (push on Cloud Run, pull on
 * GKE, local against the emulators) named by HANDLER, the gateway, or the tracker; every
 * variable is in infra/model/settings.ts. A configuration problem is one line per problem on
 * stderr and exit code 2, before anything serves, so a workload missing a setting never
 * becomes ready; a clean shutdown exits 0.
 */
import { system } from "../infra/system";
import { capabilityChecks } from "./adapters/environment";
import { runGateway, runTracker } from "./gateway/run";
import { logLevelSetting } from "./runtime/config";
import { launch } from "./runtime/launcher";
import { createLogger } from "./runtime/logger";
import { ConfigError, Settings, useSettings } from "./runtime/settings";
import { registry } from "./registry";

function serviceLogger(settings: Settings, service: string) {
  const projectId = settings.get("GOOGLE_CLOUD_PROJECT");
  return createLogger({
    level: logLevelSetting(settings),
    base: { service },
    ...(projectId !== undefined && { projectId }),
  });
}

async function main(): Promise<number> {
  const settings = new Settings(process.env);
  useSettings(settings);
  const mode = settings.get("MODE");
  if (mode === "gateway" || mode === "tracker") {
    await (mode === "gateway" ? runGateway : runTracker)(settings, serviceLogger(settings, mode));
    return 0;
  }
  const runtime = await launch({ system, registry, capabilityChecks, settings });
  return runtime.stopped;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`eventline: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(
      `eventline: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
