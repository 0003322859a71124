/**
 * `eventline logs [consumer]`: the lines of the running (or last) `npm start`, all or one
 * consumer's, and with --follow the new ones as they come. `npm start` writes every line it
 * logs, as JSON, to .eventline/logs/local.jsonl as well as to the terminal.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { Command } from "commander";
import { LOCAL_LOG_FILE } from "../local/settings";
import { declaredConsumer } from "./declared-names";
import { UserError } from "./errors";

/** How often --follow looks for new lines, in milliseconds. */
const FOLLOW_EVERY_MS = 250;

const LEVELS: Readonly<Record<number, string>> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};

/** The fields a line shows besides its time, level, consumer and message. */
const SHOWN_FIELDS = ["eventId", "eventType", "deliveryAttempt", "correlationId"];

interface LogsOptions {
  follow: boolean;
  lines: string;
  json: boolean;
}

type LogLine = Record<string, unknown>;

/** A stored line for people: time, level, consumer, message, the event's ids, the error. */
export function formatLine(line: LogLine): string {
  const time =
    typeof line["time"] === "number" ? new Date(line["time"]).toISOString() : line["time"];
  const level =
    typeof line["level"] === "number" ? (LEVELS[line["level"]] ?? line["level"]) : line["severity"];
  const consumer = line["consumer"] === undefined ? "" : ` [${String(line["consumer"])}]`;
  const message = line["msg"] ?? line["message"] ?? "";
  const fields = SHOWN_FIELDS.filter((name) => line[name] !== undefined && line[name] !== null)
    .map((name) => `${name}=${String(line[name])}`)
    .join(" ");
  const err = line["err"] as { type?: string; message?: string } | undefined;
  const error = err === undefined ? "" : ` ${err.type ?? "Error"}: ${err.message ?? ""}`;
  return `${String(time)} ${String(level)}${consumer} ${String(message)}${fields ? `  ${fields}` : ""}${error}\n`;
}

/** Reads the file from `offset`: the complete lines, and where the next read starts. */
function readFrom(file: string, offset: number): { lines: string[]; next: number } {
  const size = statSync(file).size;
  // The file is emptied when npm start starts again: read it from the top.
  const from = size < offset ? 0 : offset;
  if (size === from) return { lines: [], next: from };
  const buffer = Buffer.alloc(size - from);
  const fd = openSync(file, "r");
  try {
    readSync(fd, buffer, 0, buffer.length, from);
  } finally {
    closeSync(fd);
  }
  const text = buffer.toString("utf8");
  const end = text.lastIndexOf("\n") + 1;
  return {
    lines: text.slice(0, end).split("\n").filter(Boolean),
    next: from + Buffer.byteLength(text.slice(0, end)),
  };
}

function parsed(lines: readonly string[], consumer: string | undefined): LogLine[] {
  return lines.flatMap((text) => {
    try {
      const line = JSON.parse(text) as LogLine;
      return consumer === undefined || line["consumer"] === consumer ? [line] : [];
    } catch {
      // A line cut by a crash mid-write is not worth failing the command for.
      return [];
    }
  });
}

export function logsCommand(file = LOCAL_LOG_FILE): Command {
  return new Command("logs")
    .description("print the local environment's log lines, all or one consumer's (-f follows)")
    .argument("[consumer]", "only this consumer's lines, e.g. email-worker")
    .option("-f, --follow", "keep printing new lines until Ctrl-C", false)
    .option("-n, --lines <n>", "show the last n lines first", "50")
    .option("--json", "the lines as stored, one JSON object per line", false)
    .action(async (name: string | undefined, options: LogsOptions) => {
      const count = Number(options.lines);
      if (!Number.isInteger(count) || count < 0)
        throw new UserError(`--lines ${options.lines} is not a whole number`);
      const consumer = name === undefined ? undefined : declaredConsumer(name).name;
      if (!existsSync(file))
        throw new UserError(
          `no local log yet (${file}): start the local environment with npm start`,
        );
      const print = (lines: readonly LogLine[]): void => {
        for (const line of lines)
          process.stdout.write(options.json ? `${JSON.stringify(line)}\n` : formatLine(line));
      };
      let { lines, next } = readFrom(file, 0);
      const backlog = parsed(lines, consumer);
      print(backlog.slice(Math.max(0, backlog.length - count)));
      if (!options.follow) return;
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          ({ lines, next } = readFrom(file, next));
          print(parsed(lines, consumer));
        }, FOLLOW_EVERY_MS);
        process.once("SIGINT", () => {
          clearInterval(timer);
          resolve();
        });
      });
    });
}
