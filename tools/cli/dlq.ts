/**
 * `eventline dlq list|redrive|drop <consumer>`: what a consumer gave up on, with the reason;
 * putting it back on its topic once the cause is fixed; and removing what is not worth it.
 * Redrive removes a dead letter from the parking subscription only after its republish is
 * confirmed. Drop asks first (or takes --yes), and writes every dropped letter, whole, to
 * .eventline/dropped/<consumer>.jsonl before it removes it.
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline/promises";
import { Command } from "commander";
import type { DeadLetter } from "../local/dead-letters";
import { declaredConsumer } from "./declared-names";
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
      const consumer = declaredConsumer(name);
      const { withEmulators, DeadLetterBox } = modules();
      await withEmulators(["pubsub"], async ({ pubsub }) => {
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
      const consumer = declaredConsumer(name);
      const { withEmulators, DeadLetterBox, RuntimeMetrics, PubSubPublisher } = modules();
      await withEmulators(["pubsub"], async ({ eventTypes, pubsub }) => {
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

/** Where dropped dead letters are kept, one JSON object per line. */
export function droppedFile(consumer: string): string {
  return join(__dirname, "..", "..", ".eventline", "dropped", `${consumer}.jsonl`);
}

/** Appends the letters, whole (data in base64), to the consumer's record of dropped letters. */
function recordDropped(consumer: string, letters: readonly DeadLetter[]): void {
  const file = droppedFile(consumer);
  mkdirSync(join(file, ".."), { recursive: true });
  const droppedAt = new Date().toISOString();
  appendFileSync(
    file,
    letters
      .map(({ data, ...letter }) =>
        JSON.stringify({ ...letter, data: data.toString("base64"), droppedAt }),
      )
      .join("\n") + "\n",
  );
}

/** Asks on the terminal; without one, only --yes confirms. */
async function confirmDrop(
  consumer: string,
  letters: readonly DeadLetter[],
  yes: boolean,
): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY)
    throw new UserError(
      `dropping ${letters.length} dead letter(s) of ${consumer} needs confirmation: run it in a terminal, or add --yes`,
    );
  for (const l of letters)
    process.stderr.write(`  ${l.eventId ?? l.messageId}  ${l.type ?? "-"}  ${l.reason}\n`);
  const terminal = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await terminal.question(
      `Drop these ${letters.length} dead letter(s) of ${consumer}? They are kept in ${droppedFile(consumer)}. [y/N] `,
    );
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    terminal.close();
  }
}

function dropCommand(): Command {
  return new Command("drop")
    .description(
      "remove dead letters for good, after asking; each is kept in .eventline/dropped/<consumer>.jsonl",
    )
    .argument("<consumer>", "consumer name")
    .option("--id <id...>", "dead letters to drop, by event id or message id")
    .option("--all", "drop every dead letter of the consumer", false)
    .option("--yes", "do not ask", false)
    .action(async (name: string, options: { id?: string[]; all: boolean; yes: boolean }) => {
      if ((options.id === undefined) === !options.all)
        throw new UserError("say which dead letters: --id <id...>, or --all");
      const consumer = declaredConsumer(name);
      const { withEmulators, DeadLetterBox } = modules();
      await withEmulators(["pubsub"], async ({ pubsub }) => {
        const box = new DeadLetterBox(pubsub);
        try {
          const result = await box.drop(
            consumer,
            options.all ? undefined : options.id,
            (letters) => confirmDrop(consumer.name, letters, options.yes),
            (letters) => recordDropped(consumer.name, letters),
          );
          if (!result.confirmed) {
            process.stderr.write("eventline: nothing dropped\n");
            return;
          }
          for (const l of result.dropped)
            process.stdout.write(`dropped ${l.eventId ?? l.messageId}\n`);
          process.stdout.write(
            `${result.dropped.length} dropped from ${consumer.parkingSubscription}${result.dropped.length > 0 ? `; kept in ${droppedFile(consumer.name)}` : ""}\n`,
          );
          if (result.notFound.length > 0)
            throw new UserError(
              result.notFound
                .map((id) => `no dead letter ${id} in ${consumer.parkingSubscription}`)
                .join("; "),
            );
        } finally {
          await box.close();
        }
      });
    });
}

export function dlqCommand(): Command {
  return new Command("dlq")
    .description("list, redrive and drop dead letters")
    .addCommand(listCommand())
    .addCommand(redriveCommand())
    .addCommand(dropCommand());
}
