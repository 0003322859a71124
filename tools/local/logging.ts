/**
 * The local environment's log: human-readable (pino-pretty, one line per entry, the consumer
 * first) by default, or the Cloud Logging JSON the runtime writes in the cloud, for piping
 * into tools. Written synchronously so that the last lines before Ctrl-C are not lost.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { DestinationStream, LevelWithSilent, Logger } from "pino";
import { destination, multistream, pino } from "pino";
import pretty from "pino-pretty";
import { createLogger } from "../../handlers/runtime/logger";

export type LogFormat = "pretty" | "json";

export interface LocalLoggerOptions {
  /** Default `"pretty"`. */
  format?: LogFormat;
  /** Default `"info"`. */
  level?: LevelWithSilent;
  projectId?: string;
  /** Colors; default: when stdout is a terminal. */
  colorize?: boolean;
  /**
   * A file that also gets every line, as JSON, for `eventline logs` to read; emptied first.
   * Default: none.
   */
  file?: string;
}

/** `stream`, and the file too when one is given. */
function alsoToFile(
  stream: DestinationStream,
  level: LevelWithSilent,
  file: string | undefined,
): DestinationStream {
  if (file === undefined) return stream;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, "");
  return multistream([
    { stream, level: level === "silent" ? "fatal" : level },
    {
      stream: destination({ dest: file, sync: true }),
      level: level === "silent" ? "fatal" : level,
    },
  ]);
}

function oneLineError(value: unknown): string {
  const err = value as { type?: string; name?: string; message?: string } | null;
  return err !== null && typeof err === "object"
    ? `${err.type ?? err.name ?? "Error"}: ${err.message ?? ""}`
    : String(value);
}

export function localLogger(options: LocalLoggerOptions = {}): Logger {
  const level = options.level ?? "info";
  if (options.format === "json")
    return createLogger({
      level,
      ...(options.projectId !== undefined && { projectId: options.projectId }),
      destination: alsoToFile(destination({ dest: 1, sync: true }), level, options.file),
    });
  const stream = pretty({
    colorize: options.colorize ?? process.stdout.isTTY === true,
    sync: true,
    singleLine: true,
    translateTime: "HH:MM:ss.l",
    ignore: "pid,hostname,consumer",
    messageFormat: "{if consumer}[{consumer}] {end}{msg}",
    // An error is one line, its name and message; the stack only at debug, where someone is debugging.
    errorLikeObjectKeys: level === "debug" || level === "trace" ? ["err", "error"] : [],
    customPrettifiers: level === "debug" || level === "trace" ? {} : { err: oneLineError },
  });
  return pino({ level, base: undefined }, alsoToFile(stream, level, options.file));
}
