/**
 * `eventline tail`: events as the event store receives them, until Ctrl-C, optionally only one
 * type or one flow. It shows what the archivers stored, i.e. every valid event on every topic;
 * what could not be decoded is in the dead letters (`eventline dlq list`).
 */
import { Command } from "commander";
import type { FeedEvent } from "../local/event-feed";
import { declaredType } from "./declared-names";
import { UserError } from "./errors";
import { load } from "./modules";

interface TailOptions {
  type?: string;
  correlation?: string;
  lines: string;
  json: boolean;
}

function line(event: FeedEvent, json: boolean): string {
  if (json) return `${JSON.stringify(event)}\n`;
  const subject = event.subject ? `  subject=${event.subject}` : "";
  return `${event.time}  ${event.type}  ${event.id}  correlation=${event.correlationId}${subject}\n`;
}

export function tailCommand(): Command {
  return new Command("tail")
    .description("follow the events the event store receives (Ctrl-C stops)")
    .option("--type <type>", "only this event type")
    .option("--correlation <id>", "only this flow")
    .option("-n, --lines <n>", "show the last n stored events first", "10")
    .option("--json", "one JSON object per line, payload included", false)
    .action(async (options: TailOptions) => {
      const lines = Number(options.lines);
      if (!Number.isInteger(lines) || lines < 0)
        throw new UserError(`--lines ${options.lines} is not a whole number`);
      const filter = {
        ...(options.type !== undefined && { type: declaredType(options.type) }),
        ...(options.correlation !== undefined && { correlationId: options.correlation }),
      };
      const { withEmulators } = load.withEmulators();
      const { watchEvents } = load.eventFeed();
      await withEmulators(["firestore"], async ({ firestore }) => {
        await new Promise<void>((resolve, reject) => {
          const stop = watchEvents(firestore, filter, {
            onBacklog: (events) => {
              for (const event of events.slice(Math.max(0, events.length - lines)))
                process.stdout.write(line(event, options.json));
              process.stderr.write("eventline: following the event store; Ctrl-C stops\n");
            },
            onEvent: (event) => process.stdout.write(line(event, options.json)),
            onError: (err) => {
              stop();
              reject(
                new UserError(`the event store stopped answering: ${err.message.split("\n")[0]}`),
              );
            },
          });
          const finish = (): void => {
            stop();
            resolve();
          };
          process.once("SIGINT", finish);
          process.once("SIGTERM", finish);
        });
      });
    });
}
