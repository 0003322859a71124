/**
 * `eventline dlq list <consumer>` and `eventline dlq redrive <consumer>`: what a consumer gave
 * up on, with the reason, and putting it back on its topic once the cause is fixed. Redrive
 * removes a dead letter from the parking subscription only after its republish is confirmed.
 */
import { Command } from "commander";
import { UserError } from "./errors";
import { clip, table } from "./format";
import { load } from "./modules";
import { progressBar } from "./progress";

function modules() {
  return { ...load.withEmulators(), ...load.deadLetters(), ...load.metrics(), ...load.publisher() };
}

function listCommand(): Command {
  return new Command("list")
    .description("list a consumer's dead letters with their reasons (they stay where they are)")
    .argument("<consumer>", "consumer name, e.g. email-worker or users-archiver")
    .option("--json", "one JSON object per line", false)
    .action(async (name: string, options: { json: boolean }) => {
      const { withEmulators, consumerNamed, DeadLetterBox } = modules();
      await withEmulators(["pubsub"], async ({ eventTypes, pubsub }) => {
        const consumer = consumerNamed(eventTypes, name);
        const box = new DeadLetterBox(pubsub);
        try {
          const letters = await box.list(consumer);
          if (options.json) {
            for (const { data, ...letter } of letters)
              process.stdout.write(
                `${JSON.stringify({ ...letter, data: data.toString("base64") })}\n`,
              );
            return;
          }
          if (letters.length === 0) {
            process.stderr.write(`eventline: ${consumer.name} has no dead letters\n`);
            return;
          }
          process.stdout.write(
            table(
              [
                "MESSAGE ID",
                "EVENT ID",
                "TYPE",
                "REASON",
                "ATTEMPT",
                "REDRIVES",
                "DEAD-LETTERED AT",
                "ERROR",
              ],
              letters.map((l) => [
                l.messageId,
                l.eventId ?? "-",
                l.type ?? "-",
                l.reason,
                l.attempt,
                String(l.redriveCount),
                l.deadLetteredAt,
                clip(l.error, 80),
              ]),
            ),
          );
        } finally {
          await box.close();
        }
      });
    });
}

function redriveCommand(): Command {
  return new Command("redrive")
    .description(
      "republish dead letters to the topic they came from, with their original attributes",
    )
    .argument("<consumer>", "consumer name")
    .option("--id <id...>", "dead letters to redrive, by event id or message id")
    .option("--all", "redrive every dead letter of the consumer", false)
    .action(async (name: string, options: { id?: string[]; all: boolean }) => {
      if ((options.id === undefined) === !options.all)
        throw new UserError("say which dead letters: --id <id...>, or --all");
      const { withEmulators, consumerNamed, DeadLetterBox, RuntimeMetrics, PubSubPublisher } =
        modules();
      await withEmulators(["pubsub"], async ({ eventTypes, pubsub }) => {
        const consumer = consumerNamed(eventTypes, name);
        const box = new DeadLetterBox(pubsub);
        const publisher = new PubSubPublisher(pubsub, eventTypes, new RuntimeMetrics());
        const bar = progressBar(`redriving ${consumer.name}`);
        try {
          const result = await box.redrive(
            consumer,
            publisher,
            options.all ? undefined : options.id,
            (done, total) => bar.update(done, total),
          );
          bar.stop();
          for (const r of result.redriven)
            process.stdout.write(
              `redriven ${r.eventId ?? r.messageId} (new message ${r.newMessageId})\n`,
            );
          process.stdout.write(
            `${result.redriven.length} redriven from ${consumer.parkingSubscription}\n`,
          );
          const problems = [
            ...result.notFound.map(
              (id) => `no dead letter ${id} in ${consumer.parkingSubscription}`,
            ),
            ...result.failed.map((f) => `${f.messageId} not redriven, left in place: ${f.error}`),
          ];
          if (problems.length > 0) throw new UserError(problems.join("; "));
        } finally {
          bar.stop();
          await publisher.flush();
          await box.close();
        }
      });
    });
}

export function dlqCommand(): Command {
  return new Command("dlq")
    .description("list and redrive dead letters")
    .addCommand(listCommand())
    .addCommand(redriveCommand());
}
