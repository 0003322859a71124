/**
 * `eventline seek <consumer>`: rewind a consumer's subscription so Pub/Sub delivers again what
 * it acknowledged: to a snapshot (`--to snapshot:<name>`), or to a time (`--to <time>`, which
 * needs the consumer to retain acknowledged messages). `--snapshot <name>` takes a snapshot
 * first: alone, a restore point before a risky change; with `--to`, a way back from the seek.
 * `--reprocess` raises the consumer's processing epoch before seeking, so that what comes back
 * is handled again, once, instead of finding its processed records.
 */
import { Command } from "commander";
import type * as Replay from "../replay";
import { UserError } from "./errors";
import { parseTime } from "./events";
import { asUserError, loadReplay, targetOptions, type TargetOptions } from "./replay";

interface SeekOptions extends TargetOptions {
  to?: string;
  snapshot?: string;
  reprocess?: boolean;
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
    )
    .option(
      "--reprocess",
      "handle again, once, what the consumer had handled since the seek point (after a bug fix); without it what comes back is a no-op",
    );
  return targetOptions(command).action(async (name: string, options: SeekOptions) => {
    if (options.reprocess === true && options.to === undefined)
      throw new UserError(
        "--reprocess re-runs what a seek delivers again: say where to seek with --to <time | snapshot:name>",
      );
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
          needs: options.reprocess === true ? ["pubsub", "firestore"] : ["pubsub"],
        },
        async ({ pubsub, state, where }) => {
          if (options.snapshot !== undefined) {
            const created = await replay.createSnapshot(pubsub, consumer, options.snapshot);
            process.stdout.write(
              `snapshot ${options.snapshot} of ${consumer.name} taken in ${where}${created.expires === undefined ? "" : `; it expires ${created.expires}`}\n`,
            );
          }
          if (target === undefined) return;
          const to =
            "snapshot" in target ? `snapshot ${target.snapshot}` : target.time.toISOString();
          // The epoch first: a message the seek brings back must find it raised.
          const epoch =
            options.reprocess === true
              ? await replay.beginReprocessing(state, consumer, target)
              : undefined;
          try {
            await replay.seekSubscription(pubsub, consumer, target);
          } catch (err) {
            if (epoch === undefined) throw err;
            throw new UserError(
              `${err instanceof Error ? err.message : String(err)}; processing epoch ${epoch.epoch} of ${consumer.name} has begun all the same, so what it handled since ${epoch.since?.toDate().toISOString() ?? "it began"} is handled again if Pub/Sub delivers it again: fix the cause and run the seek again`,
            );
          }
          process.stdout.write(
            epoch === undefined
              ? `${consumer.name} rewound to ${to} in ${where}: what it acknowledged since is delivered again, and what it had handled finds its processed records (--reprocess handles it again)\n`
              : `${consumer.name} rewound to ${to} in ${where}, in processing epoch ${epoch.epoch}: what it handled ${epoch.since === null ? "before" : `since ${epoch.since.toDate().toISOString()}`} is handled again, once, as it is delivered again\n`,
          );
        },
      );
    } catch (err) {
      throw asUserError(err);
    }
  });
}
