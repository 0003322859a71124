/**
 * `eventline publish <type> <json|@file>`: one event, straight onto its topic in the Pub/Sub
 * emulator, encoded exactly as the gateway and the runtime encode it. Any declared type may be
 * published, derived ones included, so a consumer can be tried in isolation.
 */
import { readFileSync } from "node:fs";
import { Command } from "commander";
import type { EventOptions } from "../../handlers/runtime/codec";
import type { EventType } from "../../handlers/runtime/event-types";
import { UserError } from "./errors";
import { load } from "./modules";

interface PublishOptions {
  source: string;
  id?: string;
  time?: string;
  subject?: string;
  correlation?: string;
  causation?: string;
}

/** The payload argument: inline JSON, `@file`, or `@-` for standard input. */
export function readPayload(argument: string): unknown {
  let text = argument;
  if (argument.startsWith("@")) {
    const file = argument.slice(1);
    try {
      text = readFileSync(file === "-" ? 0 : file, "utf8");
    } catch (err) {
      throw new UserError(
        `cannot read ${file === "-" ? "standard input" : file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`,
      );
    }
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserError(
      `the payload is not JSON (${(err as Error).message}); pass the event message's proto3 JSON, or @file`,
    );
  }
}

export function publishCommand(): Command {
  return new Command("publish")
    .description("publish one event to its topic in the Pub/Sub emulator")
    .argument(
      "<type>",
      "event type, e.g. com.skillancer.user.created (eventline catalog lists them)",
    )
    .argument(
      "<payload>",
      "the event message as proto3 JSON, @file to read it from a file, @- from standard input",
    )
    .option("--source <uri>", "CloudEvents source", "//eventline/cli")
    .option("--id <id>", "event id (default: a new UUID)")
    .option("--time <rfc3339>", "event time (default: now)")
    .option("--subject <subject>", "subject (default: the type's subject field)")
    .option("--correlation <id>", "correlation id (default: the event's own id)")
    .option("--causation <id>", "id of the event that caused this one")
    .action(async (type: string, payloadArgument: string, options: PublishOptions) => {
      const json = readPayload(payloadArgument);
      const { withEmulators } = load.withEmulators();
      const { EventCodec } = load.codec();
      const { RuntimeMetrics } = load.metrics();
      const { PubSubPublisher } = load.publisher();
      await withEmulators(["pubsub"], async ({ eventTypes, pubsub }) => {
        const codec = new EventCodec(eventTypes);
        const data = codec.payloadFromJson(type as EventType, json);
        const eventOptions: EventOptions = {
          source: options.source,
          ...(options.id !== undefined && { id: options.id }),
          ...(options.time !== undefined && { time: options.time }),
          ...(options.subject !== undefined && { subject: options.subject }),
          ...(options.correlation !== undefined && { correlationId: options.correlation }),
          ...(options.causation !== undefined && { causationId: options.causation }),
        };
        const message = codec.encode(type as EventType, data, eventOptions);
        const publisher = new PubSubPublisher(pubsub, eventTypes, new RuntimeMetrics());
        try {
          await publisher.publish([message]);
        } catch (err) {
          if ((err as { code?: number }).code === 5)
            throw new UserError(
              `topic ${message.topic} does not exist in the emulator; \`npm start\` provisions it`,
            );
          throw err;
        }
        process.stdout.write(
          `published ${type} ${message.attributes["ce-id"]} to ${message.topic}\n`,
        );
      });
    });
}
