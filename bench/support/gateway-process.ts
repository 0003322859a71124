/**
 * The Eventline gateway as the benchmarks run it: a child process serving the gateway's own
 * server (handlers/gateway/run.ts's startGateway, as MODE=gateway does) on 127.0.0.1 and a
 * free port, against the emulators. MODE=gateway itself would listen on every interface
 * (its container's network is the only way in); the benchmarks keep all traffic on loopback.
 * Environment: PUBSUB_EMULATOR_HOST, GOOGLE_CLOUD_PROJECT, LOG_LEVEL, and the tracing
 * settings handlers/main.ts reads (OTEL_EXPORTER_OTLP_ENDPOINT, EVENTLINE_TRACE_SAMPLE_RATIO).
 */
import type { AddressInfo } from "node:net";
import { PubSub } from "@google-cloud/pubsub";
import type { LevelWithSilent } from "pino";
import { noAuthentication } from "../../handlers/gateway/admission";
import { startGateway } from "../../handlers/gateway/run";
import { createLogger } from "../../handlers/runtime/logger";
import { Settings } from "../../handlers/runtime/settings";
import { tracingFromSettings } from "../../handlers/runtime/trace-export";
import { announceReady } from "./children";
import { BENCH_PRODUCER } from "./gateways";
import { exitWithParent } from "./recorder";

process.env["METADATA_SERVER_DETECTION"] = "none";
exitWithParent();

async function main(): Promise<void> {
  const tracing = tracingFromSettings(new Settings(process.env), "gateway");
  const projectId = process.env["GOOGLE_CLOUD_PROJECT"]!;
  const pubsub = new PubSub({
    projectId,
    apiEndpoint: process.env["PUBSUB_EMULATOR_HOST"]!,
    emulatorMode: true,
  });
  const logger = createLogger({
    level: (process.env["LOG_LEVEL"] || "warn") as LevelWithSilent,
    base: { service: "gateway" },
  });
  const running = await startGateway(
    { port: 0, host: "127.0.0.1", projectId, stack: "local" },
    // Without token checks or a rate limit, and with the benchmarks' own producer (gateways.ts).
    {
      pubsub,
      logger,
      authenticate: noAuthentication,
      producers: [BENCH_PRODUCER],
      rateLimit: null,
    },
  );
  announceReady({ port: (running.server.address() as AddressInfo).port, pid: process.pid });
  await new Promise<void>((resolve) => process.once("SIGTERM", () => resolve()));
  running.server.closeAllConnections();
  await running.close();
  await pubsub.close();
  await tracing?.shutdown();
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench gateway: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
