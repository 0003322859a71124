/**
 * `eventline seek <consumer>`: rewind a consumer's subscription so Pub/Sub delivers again what
 * it acknowledged: to a snapshot (`--to snapshot:<name>`), or to a time (`--to <time>`, which
 * needs the consumer to retain acknowledged messages). `--snapshot <name>` takes a snapshot
 * first: alone, a restore point before a risky change; with `--to`, a way back from the seek.
 */
import { Command } from "commander";
import type * as Replay from "../replay";
import { UserError } from "./errors";
import { parseTime } from "./events";
import { asUserError, loadReplay, targetOptions, type TargetOptions } from "./replay";

interface SeekOptions extends TargetOptions {
  to?: string;
  snapshot?: string;
}

/** `--to`'s value: `snapshot:<name>`, an RFC 3339 time, or a duration ago. */
function seekTarget(replay: typeof Replay, value: string): Replay.SeekTarget {
  if (value.startsWith(replay.SNAPSHOT_PREFIX))
    return { snapshot: replay.checkSnapshotName(value.slice(replay.SNAPSHOT_PREFIX.length)) };
  return { time: parseTime(value, "--to") };
}

export function seekCommand(): Command {
  const command = new Command("seek")
    .description(
      "rewind a consumer's subscription to a time or a snapshot, so Pub/Sub delivers again what it acknowledged since",
    )
    .argument("<consumer>", "consumer name, e.g. campaign-processor")
    .option(
      "--to <target>",
      "snapshot:<name>, or a time: RFC 3339, or a duration ago such as 2h (needs retainAckedMessages)",
    )
    .option(
      "--snapshot <name>",
      "first snapshot the subscription as it is now, to seek back to later",
    );
  return targetOptions(command).action(async (name: string, options: SeekOptions) => {
    if (options.to === undefined && options.snapshot === undefined)
      throw new UserError(
        "say what to do: --to <time | snapshot:name> to seek, --snapshot <name> to take a snapshot first, or both",
      );
    const replay = loadReplay();
    try {
      const consumer = replay.declaredConsumer(name, options.stack);
      const target = options.to === undefined ? undefined : seekTarget(replay, options.to);
      if (options.snapshot !== undefined) replay.checkSnapshotName(options.snapshot);
      await replay.withReplayClients(
        {
          ...(options.project !== undefined && { project: options.project }),
          stack: options.stack,
          needs: ["pubsub"],
        },
        async ({ pubsub, where }) => {
          if (options.snapshot !== undefined) {
            const created = await replay.createSnapshot(pubsub, consumer, options.snapshot);
            process.stdout.write(
              `snapshot ${options.snapshot} of ${consumer.name} taken in ${where}${created.expires === undefined ? "" : `; it expires ${created.expires}`}\n`,
            );
          }
          if (target === undefined) return;
          await replay.seekSubscription(pubsub, consumer, target);
          const to =
            "snapshot" in target ? `snapshot ${target.snapshot}` : target.time.toISOString();
          process.stdout.write(
            `${consumer.name} rewound to ${to} in ${where}: what it acknowledged since is delivered again\n`,
          );
        },
      );
    } catch (err) {
      throw asUserError(err);
    }
  });
}
