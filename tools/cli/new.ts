/**
 * `eventline new consumer <name> --topic <topic> --accepts <type...>`: a new consumer that
 * typechecks, runs under npm start and passes its own test at once; `eventline new event` and
 * `eventline new stack` likewise for an event type and a stack (tools/scaffold/).
 */
import { Command, Option } from "commander";
import { eventTypesFor } from "../../handlers/declared";
import { LOCAL_STACK } from "../local/settings";
import { load } from "./modules";

interface NewConsumerOptions {
  topic: string;
  accepts?: string[];
  delivery: "push" | "pull";
  description?: string;
}

function consumerCommand(): Command {
  return new Command("consumer")
    .description(
      "declare a consumer and its handler contract, write the handler and its test, and register it",
    )
    .argument("<name>", "kebab-case name of the consumer and its handler, e.g. welcome-mailer")
    .requiredOption("--topic <topic>", "the topic it subscribes to, e.g. users")
    .option("--accepts <type...>", "the event types it handles, all carried by the topic")
    .addOption(
      new Option("--delivery <delivery>", "push (Cloud Run) or pull (a GKE worker)")
        .choices(["push", "pull"])
        .default("push"),
    )
    .option("--description <text>", "what it does, in one line")
    .action(async (name: string, options: NewConsumerOptions) => {
      const { newConsumer } = load.scaffold();
      const result = await newConsumer(eventTypesFor(LOCAL_STACK).system, {
        name,
        topic: options.topic,
        accepts: options.accepts ?? [],
        delivery: options.delivery,
        ...(options.description !== undefined && { description: options.description }),
      });
      printDone(
        `wrote ${result.handlerFile} and ${result.testFile}; added ${name} to ${result.edited.join(" and ")}`,
        result.next,
      );
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function eventCommand(): Command {
  return new Command("event")
    .description(
      "declare an event type on a topic: its protobuf message and the topic's oneof member, proto/gen/, the declaration and a sample",
    )
    .argument("<type>", "com.<org>.<domain>.<action>, e.g. com.skillancer.user.deleted")
    .requiredOption("--topic <topic>", "the topic that carries it, e.g. users")
    .option(
      "--field <name:type>",
      "a payload field, snake_case name and type (string, int64, int32, double, bool; [] for a list); repeat for each",
      collect,
      [],
    )
    .option("--subject <field>", "the field (lowerCamelCase) whose value is the event's subject")
    .option("--description <text>", "what happened, in one line")
    .action(
      async (
        type: string,
        options: { topic: string; field: string[]; subject?: string; description?: string },
      ) => {
        const { newEvent, parseField } = load.scaffoldEvent();
        const result = await newEvent(eventTypesFor(LOCAL_STACK).system, {
          type,
          topic: options.topic,
          fields: options.field.map(parseField),
          ...(options.subject !== undefined && { subject: options.subject }),
          ...(options.description !== undefined && { description: options.description }),
        });
        printDone(
          `declared ${type} on ${options.topic} as ${result.message}; edited ${result.edited.join(", ")}`,
          result.next,
        );
      },
    );
}

function stackCommand(): Command {
  return new Command("stack")
    .description(
      "add a stack: its Pulumi.<stack>.yaml, its stacks.<stack> changes in infra/system.ts and its policy config, copied from another",
    )
    .argument("<name>", "the new stack, e.g. staging")
    .requiredOption("--from <stack>", "the stack to copy, e.g. dev")
    .action(async (name: string, options: { from: string }) => {
      const { newStack } = load.scaffoldStack();
      const result = await newStack(name, options.from);
      process.stdout.write(
        [
          `wrote ${result.written.join(", ")}`,
          "next:",
          ...result.next.map((step) => `  - ${step}`),
          "",
        ].join("\n"),
      );
    });
}

export function newCommand(): Command {
  return new Command("new")
    .description("add a consumer, an event type or a stack")
    .addCommand(consumerCommand())
    .addCommand(eventCommand())
    .addCommand(stackCommand());
}

/** What a scaffold wrote, and the steps left to the user. */
function printDone(summary: string, next: readonly string[]): void {
  process.stdout.write([summary, "next:", ...next.map((step) => `  - ${step}`), ""].join("\n"));
}
