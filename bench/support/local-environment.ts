/**
 * `npm start` as the seed-burst benchmark runs it: the whole declared system (gateway, every
 * implemented consumer with the image's real handlers, archivers, push endpoints) in one
 * child process, on the benchmark's emulators (reused, never stopped by it: PUBSUB_EMULATOR_HOST
 * and FIRESTORE_EMULATOR_HOST are set), in the run's project, on a free port, recording no
 * state file, so a developer's own `npm start` is neither found nor disturbed.
 */
import type { LevelWithSilent } from "pino";
import { createLogger } from "../../handlers/runtime/logger";
import { localSettings } from "../../tools/local/settings";
import { startLocalEnvironment } from "../../tools/local/start";
import { eventTypesFor } from "../../handlers/declared";
import { announceReady } from "./children";
import { BENCH_PRODUCER } from "./gateways";
import { exitWithParent } from "./recorder";

process.env["METADATA_SERVER_DETECTION"] = "none";
exitWithParent();

async function main(): Promise<void> {
  const logger = createLogger({ level: (process.env["LOG_LEVEL"] || "warn") as LevelWithSilent });
  const environment = await startLocalEnvironment({
    settings: { ...localSettings(process.env), port: 0 },
    logger,
    stateFile: false,
    authenticate: false,
    producers: [...eventTypesFor("local").system.producers, BENCH_PRODUCER],
  });
  announceReady({
    url: environment.baseUrl,
    hosted: environment.hosted.map((consumer) => consumer.name),
  });
  await new Promise<void>((resolve) => process.once("SIGTERM", () => resolve()));
  await environment.stop();
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench local environment: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
