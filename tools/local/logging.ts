/**
 * The local environment's log: human-readable (pino-pretty, one line per entry, the consumer
 * first) by default, or the Cloud Logging JSON the runtime writes in the cloud, for piping
 * into tools. Written synchronously so that the last lines before Ctrl-C are not lost.
 */
import type { LevelWithSilent, Logger } from "pino";
import { pino } from "pino";
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
  return pino({ level, base: undefined }, stream);
}
