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
import { tracingFromSettings } from "./runtime/trace-export";
import { registry } from "./registry";

function serviceLogger(settings: Settings, service: string) {
  const projectId = settings.get("GOOGLE_CLOUD_PROJECT");
  return createLogger({
    level: logLevelSetting(settings),
    base: { service },
    ...(projectId !== undefined && { projectId }),
  });
}

/** How long a stopping process waits for its last spans to be sent. */
const TRACE_FLUSH_MS = 5_000;

async function main(): Promise<number> {
  const settings = new Settings(process.env);
  useSettings(settings);
  const mode = settings.get("MODE");
  const edge = mode === "gateway" || mode === "tracker";
  // Once per process, before anything makes a span (trace-export.ts).
  const tracing = tracingFromSettings(
    settings,
    edge ? mode : (settings.get("HANDLER") ?? "eventline"),
  );
  try {
    if (edge) {
      await (mode === "gateway" ? runGateway : runTracker)(settings, serviceLogger(settings, mode));
      return 0;
    }
    const runtime = await launch({ system, registry, capabilityChecks, settings });
    return await runtime.stopped;
  } finally {
    if (tracing !== undefined)
      await Promise.race([
        tracing.shutdown().catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, TRACE_FLUSH_MS).unref()),
      ]);
  }
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
