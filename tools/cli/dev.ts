/**
 * `eventline dev` (what `npm start` runs): the whole system on the emulators, the gateway and
 * the dashboard, until Ctrl-C, which stops everything it started, emulators included.
 */
import { Command, Option } from "commander";
import type { LevelWithSilent } from "pino";
import type { LogFormat } from "../local/logging";
import { LOCAL_LOG_FILE, localSettings } from "../local/settings";
import { load } from "./modules";

interface DevOptions {
  port?: string;
  pubsubPort?: string;
  firestorePort?: string;
  logFormat: LogFormat;
  logLevel: LevelWithSilent;
  auth: boolean;
  fastRetries: boolean;
}

export function devCommand(): Command {
  return new Command("dev")
    .description(
      "run the whole system on the Pub/Sub and Firestore emulators, with the gateway and the dashboard (Ctrl-C stops it all)",
    )
    .option(
      "-p, --port <port>",
      "port of the gateway and dashboard (env PORT)",
      process.env["PORT"],
    )
    .option(
      "--pubsub-port <port>",
      "port to start the Pub/Sub emulator on (env EVENTLINE_PUBSUB_PORT; PUBSUB_EMULATOR_HOST reuses a running one)",
    )
    .option(
      "--firestore-port <port>",
      "port to start the Firestore emulator on (env EVENTLINE_FIRESTORE_PORT; FIRESTORE_EMULATOR_HOST reuses a running one)",
    )
    .addOption(
      new Option("--log-format <format>", "log lines for people or for tools")
        .choices(["pretty", "json"])
        .default("pretty"),
    )
    .addOption(
      new Option("--log-level <level>", "least severe level logged")
        .choices(["trace", "debug", "info", "warn", "error", "fatal", "silent"])
        .default(process.env["LOG_LEVEL"] ?? "info"),
    )
    .option(
      "--no-auth",
      "let the gateway admit what any declared producer may post without a token (local only; env EVENTLINE_GATEWAY_AUTH=off)",
    )
    .option(
      "--fast-retries",
      "redeliver a nacked message at once, as the emulator does, instead of after its subscription's declared backoff, as Pub/Sub does (env EVENTLINE_FAST_RETRIES=1)",
      process.env["EVENTLINE_FAST_RETRIES"] === "1",
    )
    .addHelpText(
      "after",
      "\nThe gateway authenticates producers: `eventline token <producer>` prints a token for curl (Authorization: Bearer <token>).\nEnvironment: GOOGLE_CLOUD_PROJECT (default eventline-local), EVENTLINE_REDIRECT_HOSTS (hosts tracking clicks may redirect to).",
    )
    .action(async (options: DevOptions) => {
      const settings = localSettings({
        ...process.env,
        ...(options.port !== undefined && { PORT: options.port }),
        ...(options.pubsubPort !== undefined && { EVENTLINE_PUBSUB_PORT: options.pubsubPort }),
        ...(options.firestorePort !== undefined && {
          EVENTLINE_FIRESTORE_PORT: options.firestorePort,
        }),
      });
      const { localLogger } = load.logging();
      const { startLocalEnvironment } = load.start();
      const logger = localLogger({
        format: options.logFormat,
        level: options.logLevel,
        projectId: settings.projectId,
        file: LOCAL_LOG_FILE,
      });
      const say = (line: string): void => void process.stderr.write(`eventline: ${line}\n`);
      const authenticate = options.auth && process.env["EVENTLINE_GATEWAY_AUTH"] !== "off";
      const environment = await startLocalEnvironment({
        settings,
        logger,
        say,
        authenticate,
        fastRetries: options.fastRetries,
      });
      if (options.fastRetries)
        say("fast retries: a nacked message comes back at once, not after its declared backoff");
      const { baseUrl } = environment;
      process.stdout.write(
        [
          "eventline ready",
          `  dashboard  ${baseUrl}/`,
          `  gateway    ${baseUrl}/v1/events  ${baseUrl}/v1/shares`,
          `  pubsub     PUBSUB_EMULATOR_HOST=${environment.settings.pubsubHost}`,
          `  firestore  FIRESTORE_EMULATOR_HOST=${environment.settings.firestoreHost}`,
          "  logs       npx eventline logs [consumer] -f",
          "",
        ].join("\n"),
      );
      await new Promise<void>((resolve) => {
        let first: number | undefined;
        const onSignal = (): void => {
          if (first === undefined) {
            first = Date.now();
            say("stopping (Ctrl-C again to stop at once)…");
            resolve();
            return;
          }
          // One Ctrl-C can arrive twice: the terminal signals the whole process group, and npm
          // passes it on to its child as well. Only a later one means "now"; emulators.ts then
          // kills the emulators' process groups as the process exits.
          if (Date.now() - first > 1000) process.exit(130);
        };
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
      });
      await environment.stop();
      say("stopped");
      // Everything this command started is stopped; a client's idle timer must not keep the process up.
      process.exit(0);
    });
}
