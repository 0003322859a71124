/**
 * `eventline events`: query the event store (`events/`, which every topic's archiver fills)
 * by type, time range and correlation id: a flow's history, or what happened in the last hour.
 */
import { Command, Option } from "commander";
import { toSeconds } from "../../infra/model/duration";
import type { FeedEvent } from "../local/event-feed";
import { declaredType } from "./declared-names";
import { UserError } from "./errors";
import { clip, table } from "./format";
import { load } from "./modules";

interface EventsOptions {
  type?: string;
  from?: string;
  to?: string;
  correlation?: string;
  limit: string;
  json: boolean;
}

/** An RFC 3339 time, or a duration ("15m", "2h", "7d") meaning that long ago. */
export function parseTime(value: string, option: string, now = new Date()): Date {
  if (/^\d+[smhd]$/.test(value)) return new Date(now.getTime() - toSeconds(value) * 1000);
  const millis = Date.parse(value);
  if (Number.isNaN(millis))
    throw new UserError(
      `${option} ${value} is neither a time (2026-11-23T10:00:00Z) nor a duration ago (15m, 2h, 7d)`,
    );
  return new Date(millis);
}

/** One line per event, for people. */
export function eventLines(events: readonly FeedEvent[]): string {
  return table(
    ["TIME", "TYPE", "ID", "CORRELATION", "SUBJECT", "SOURCE"],
    events.map((event) => [
      event.time,
      event.type,
      event.id,
      event.correlationId,
      event.subject ?? "",
      clip(event.source, 40),
    ]),
  );
}

export function eventsCommand(): Command {
  return (
    new Command("events")
      .description("query the event store (events/) by type, time and correlation id")
      .option("--type <type>", "only this event type")
      .option(
        "--from <time>",
        "events at or after this time: RFC 3339, or a duration ago such as 15m",
      )
      .option("--to <time>", "events before this time: RFC 3339, or a duration ago")
      .option("--correlation <id>", "only this flow")
      .option("--limit <n>", "at most this many, the newest", "100")
      // Other tools' names for --from and --to, answered with ours rather than "unknown option".
      .addOption(new Option("--since <time>").hideHelp())
      .addOption(new Option("--until <time>").hideHelp())
      .option("--json", "one JSON object per line, payload included", false)
      .action(async (options: EventsOptions & { since?: string; until?: string }) => {
        if (options.since !== undefined)
          throw new UserError(`there is no --since; use --from ${options.since}`);
        if (options.until !== undefined)
          throw new UserError(`there is no --until; use --to ${options.until}`);
        const limit = Number(options.limit);
        if (!Number.isInteger(limit) || limit < 1)
          throw new UserError(`--limit ${options.limit} is not a positive whole number`);
        const filter = {
          ...(options.type !== undefined && { type: declaredType(options.type) }),
          ...(options.correlation !== undefined && { correlationId: options.correlation }),
          ...(options.from !== undefined && { from: parseTime(options.from, "--from") }),
          ...(options.to !== undefined && { to: parseTime(options.to, "--to") }),
        };
        const { withEmulators } = load.withEmulators();
        const { queryEvents } = load.eventFeed();
        await withEmulators(["firestore"], async ({ firestore }) => {
          const events = await queryEvents(firestore, filter, limit);
          if (options.json) {
            for (const event of events) process.stdout.write(`${JSON.stringify(event)}\n`);
            return;
          }
          if (events.length === 0) {
            process.stderr.write("eventline: no events match\n");
            return;
          }
          process.stdout.write(eventLines(events));
        });
      })
  );
}
