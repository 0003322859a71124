/**
 * `eventline replay`: read a period's events back from the event store (by time, type, flow or
 * source) and either run them through handlers in-process against a database of their own,
 * where nothing reaches a topic or an outside service (`--handler`), or republish them to their
 * topics for recovery, idempotently (`--republish`). In-process replays can start from a
 * projection snapshot and leave one (`--from-snapshot`, `--snapshot`). The library is
 * tools/replay; `eventline backtest` and `eventline seek` share this file's options.
 */
import { Command } from "commander";
import { REPLAY_DATABASE } from "../../infra/model/databases";
import type * as Replay from "../replay";
import { UserError } from "./errors";
import { parseTime } from "./events";
import { table } from "./format";
import { progressBar } from "./progress";

/* eslint-disable-next-line @typescript-eslint/no-require-imports -- as modules.ts: the Google clients load only when a command runs */
export const loadReplay = (): typeof Replay => require("../replay") as typeof Replay;

/** The library's errors are written for people: the CLI prints them as its own. */
export function asUserError(err: unknown): unknown {
  return err instanceof Error && err.name === "ReplayError" ? new UserError(err.message) : err;
}

/** Where a command works: the emulators, or a cloud project. */
export interface TargetOptions {
  project?: string;
  stack: string;
}

/** Adds --project and --stack. */
export function targetOptions(command: Command): Command {
  return command
    .option(
      "--project <id>",
      "work in this Google Cloud project (Application Default Credentials) instead of the local emulators",
    )
    .option("--stack <stack>", "the stack whose declaration applies (dev, prod, …)", "local");
}

export interface SelectionOptions {
  from?: string;
  to?: string;
  type?: string[];
  correlation?: string;
  source?: string;
  rootsOnly: boolean;
  includeReplays: boolean;
}

/** Adds the options that select stored events. */
export function selectionOptions(command: Command): Command {
  return command
    .option(
      "--from <time>",
      "events at or after this time: RFC 3339, or a duration ago such as 24h",
    )
    .option("--to <time>", "events before this time: RFC 3339, or a duration ago")
    .option("--type <type...>", "only these event types")
    .option("--correlation <id>", "only this flow")
    .option("--source <uri>", "only events from this CloudEvents source, e.g. //eventline/gateway")
    .option(
      "--roots-only",
      "only events nothing else caused (their handlers derive the rest again)",
      false,
    )
    .option("--include-replays", "also the copies earlier republishes made", false);
}

export function selectionFrom(options: SelectionOptions): Replay.EventSelection {
  const from = options.from === undefined ? undefined : parseTime(options.from, "--from");
  const to = options.to === undefined ? undefined : parseTime(options.to, "--to");
  if (from !== undefined && to !== undefined && from >= to)
    throw new UserError(`--from ${from.toISOString()} is not before --to ${to.toISOString()}`);
  return {
    ...(from !== undefined && { from }),
    ...(to !== undefined && { to }),
    ...(options.type !== undefined && { types: options.type }),
    ...(options.correlation !== undefined && { correlationId: options.correlation }),
    ...(options.source !== undefined && { source: options.source }),
    rootsOnly: options.rootsOnly,
    includeReplays: options.includeReplays,
  };
}

interface ReplayOptions extends SelectionOptions, TargetOptions {
  handler?: string[];
  republish: boolean;
  chain: boolean;
  database: string;
  snapshot?: string;
  fromSnapshot?: string;
  run?: string;
  resume: boolean;
  json: boolean;
}

function checkCombination(options: ReplayOptions): void {
  if ((options.handler === undefined) === !options.republish)
    throw new UserError(
      "say how to replay: --handler <name...> to run handlers in-process, or --republish to publish to the topics again",
    );
  const inProcessOnly = {
    "--chain": options.chain,
    "--snapshot": options.snapshot !== undefined,
    "--from-snapshot": options.fromSnapshot !== undefined,
    "--resume": options.resume,
  };
  const misplaced = options.republish
    ? Object.entries(inProcessOnly)
        .filter(([, given]) => given)
        .map(([flag]) => flag)
    : [];
  if (misplaced.length > 0)
    throw new UserError(
      `${misplaced.join(", ")} ${misplaced.length === 1 ? "applies" : "apply"} to in-process replays (--handler), not to --republish`,
    );
  if (!options.republish && options.run !== undefined)
    throw new UserError("--run names a republish; it applies with --republish only");
}

/** How many of each, for a summary line: "3 handled, 1 duplicate". */
function counts(values: Readonly<Record<string, number>>): string {
  const entries = Object.entries(values).filter(([, n]) => n > 0);
  return entries.length === 0 ? "none" : entries.map(([name, n]) => `${n} ${name}`).join(", ");
}

async function inProcess(options: ReplayOptions, selection: Replay.EventSelection): Promise<void> {
  const replay = loadReplay();
  const databaseId = replay.checkDatabaseId(options.database, "--database");
  if (options.snapshot !== undefined) replay.checkSnapshotId(options.snapshot);
  await replay.withReplayClients(
    {
      ...(options.project !== undefined && { project: options.project }),
      stack: options.stack,
      needs: ["firestore"],
    },
    async (clients) => {
      const target = clients.database(databaseId);
      // A snapshot id in use would fail only after the whole replay.
      if (
        options.snapshot !== undefined &&
        (await replay.readSnapshot(clients.snapshots, options.snapshot)).length > 0
      ) {
        throw new UserError(
          `snapshot ${options.snapshot} exists; snapshots never change, so pick another id`,
        );
      }
      const bar = progressBar("replaying", { rate: true });
      // Ctrl-C stops reading; the events in flight finish and the checkpoint is written.
      const stop = new AbortController();
      const onInterrupt = (): void => {
        bar.stop();
        process.stderr.write(
          "eventline: interrupted; finishing the events in flight and writing the checkpoint (Ctrl-C again to quit at once)\n",
        );
        process.once("SIGINT", () => process.exit(130));
        stop.abort();
      };
      process.once("SIGINT", onInterrupt);
      const started = performance.now();
      const common = {
        source: clients.firestore,
        target,
        handlers: options.handler!,
        selection,
        chain: options.chain,
        stack: options.stack,
        resume: options.resume,
        signal: stop.signal,
        onProgress: (read: number, total: number) => bar.update(read, total),
      };
      let result: Replay.InProcessReplayResult;
      let restored: Replay.SnapshotInfo[] = [];
      try {
        if (options.fromSnapshot !== undefined)
          ({ restored, replay: result } = await replay.rebuildFromSnapshot({
            ...common,
            snapshotId: options.fromSnapshot,
            snapshots: clients.snapshots,
          }));
        else result = await replay.replayInProcess(common);
      } finally {
        process.removeListener("SIGINT", onInterrupt);
        bar.stop();
      }
      const seconds = (performance.now() - started) / 1000;
      const newlyRead = result.read - (result.resumedFrom?.read ?? 0);
      if (result.interrupted) {
        process.stderr.write(
          `eventline: replay interrupted after ${result.read} stored events (${result.replayed} replayed); the checkpoint in database ${databaseId} is after ${result.last?.id ?? "none"}; run the same command with --resume to continue\n`,
        );
        process.exitCode = 130;
        return;
      }
      let snapshot: Replay.SnapshotInfo[] = [];
      if (options.snapshot !== undefined) {
        const covers = result.last ?? restored[0]?.covers;
        if (covers === undefined)
          throw new UserError(
            `no event was replayed, so snapshot ${options.snapshot} would cover nothing; widen the selection`,
          );
        snapshot = await replay.takeSnapshot({
          from: target,
          store: clients.snapshots,
          snapshotId: options.snapshot,
          covers,
        });
      }
      const { publishedByType: published, ...rest } = result;
      if (options.json) {
        process.stdout.write(
          `${JSON.stringify({ database: databaseId, ...rest, published, restored, snapshot, seconds })}\n`,
        );
      } else {
        if (restored.length > 0)
          process.stdout.write(
            `restored snapshot ${options.fromSnapshot} (${restored.map((s) => `${s.projection}: ${s.items}`).join(", ")}), covering events to ${restored[0]!.covers.time}\n`,
          );
        if (result.resumedFrom !== undefined)
          process.stdout.write(
            `resumed from the checkpoint after stored event ${result.resumedFrom.after.id} (${result.resumedFrom.after.time}), ${result.resumedFrom.read} stored events in\n`,
          );
        process.stdout.write(
          `replayed ${result.replayed} of ${result.read} stored events through ${options.handler!.join(", ")}${options.chain ? " and what is downstream" : ""} into database ${databaseId} (${clients.where}) in ${seconds.toFixed(1)} s, ${Math.round(newlyRead / Math.max(seconds, 0.001))} stored events/s\n`,
        );
        if (result.reproduced > 0)
          process.stdout.write(
            `left ${result.reproduced} stored derived events to the handlers, which published them again\n`,
          );
        process.stdout.write(`deliveries: ${counts(result.outcomes)}\n`);
        process.stdout.write(`published, captured and not sent: ${counts(published)}\n`);
        for (const s of snapshot)
          process.stdout.write(
            `snapshot ${s.snapshotId} of ${s.projection}: ${s.items} items, covering events to ${s.covers.time}\n`,
          );
      }
      const problems = [
        ...result.failures.map(
          (f) => `${f.consumer} gave up on ${f.type} ${f.eventId} (${f.reason}): ${f.error}`,
        ),
        ...result.undecodable.map((u) => `stored event ${u.id} no longer decodes: ${u.problem}`),
      ];
      for (const problem of problems) process.stderr.write(`eventline: ${problem}\n`);
      if (problems.length > 0)
        throw new UserError(
          `${problems.length + result.unlisted} of the replayed events failed (listed above${result.unlisted > 0 ? `, and ${result.unlisted} more not listed` : ""}); in a live run they would have been dead-lettered`,
        );
    },
  );
}

async function republishEvents(
  options: ReplayOptions,
  selection: Replay.EventSelection,
): Promise<void> {
  const replay = loadReplay();
  await replay.withReplayClients(
    {
      ...(options.project !== undefined && { project: options.project }),
      stack: options.stack,
      needs: ["firestore", "pubsub"],
    },
    async (clients) => {
      const publisher = replay.topicPublisher(clients.pubsub, options.stack);
      const bar = progressBar("republishing");
      let result: Replay.RepublishResult;
      try {
        result = await replay.republish({
          source: clients.firestore,
          publisher,
          selection,
          stack: options.stack,
          ...(options.run !== undefined && { run: options.run }),
          onProgress: (read, total) => bar.update(read, total),
        });
      } catch (err) {
        if ((err as { code?: number }).code === 5)
          throw new UserError(
            `a topic does not exist in ${clients.where}: ${(err as Error).message.split("\n")[0]}`,
          );
        throw err;
      } finally {
        bar.stop();
      }
      if (options.json) {
        process.stdout.write(`${JSON.stringify(result)}\n`);
      } else {
        const byTopic: Record<string, number> = {};
        for (const r of result.republished) byTopic[r.topic] = (byTopic[r.topic] ?? 0) + 1;
        if (result.republished.length > 0)
          process.stdout.write(
            table(
              ["TOPIC", "REPUBLISHED"],
              Object.entries(byTopic).map(([topic, n]) => [topic, String(n)]),
            ),
          );
        process.stdout.write(
          `republished ${result.republished.length} of ${result.read} stored events in run ${options.run ?? replay.DEFAULT_REPUBLISH_RUN} (${clients.where}); the same run again changes nothing\n`,
        );
      }
      for (const u of result.undecodable)
        process.stderr.write(
          `eventline: stored event ${u.id} no longer decodes, not republished: ${u.problem}\n`,
        );
      if (result.undecodable.length > 0)
        throw new UserError(
          `${result.undecodable.length} stored events could not be republished (listed above)`,
        );
    },
  );
}

export function replayCommand(): Command {
  const command = new Command("replay").description(
    "replay stored events: through handlers in-process into a database of their own, or onto their topics again",
  );
  selectionOptions(command)
    .option(
      "--handler <name...>",
      "run the events through these handlers (or consumers), in-process, sending nothing",
    )
    .option(
      "--chain",
      "also run the consumers downstream on the events the handlers publish",
      false,
    )
    .option(
      "--database <id>",
      "the Firestore database the handlers write into; emptied first (in the cloud: replay, which the program declares)",
      REPLAY_DATABASE,
    )
    .option(
      "--snapshot <id>",
      "afterwards, snapshot the projections the replay built, covering the last event replayed",
    )
    .option(
      "--from-snapshot <id>",
      "start from this projection snapshot and replay only the events after it",
    )
    .option(
      "--republish",
      "publish the events to their topics again, each marked ce-replayof, under an id derived from the original",
      false,
    )
    .option(
      "--run <name>",
      "the republish run the new ids derive from; a new name applies the events once more",
      undefined,
    )
    .option(
      "--resume",
      "continue the interrupted replay (Ctrl-C) whose checkpoint is in --database, with the same options, instead of emptying it and starting again",
      false,
    )
    .option("--json", "print the result as one JSON object", false);
  return targetOptions(command).action(async (options: ReplayOptions) => {
    checkCombination(options);
    const selection = selectionFrom(options);
    try {
      await (options.republish
        ? republishEvents(options, selection)
        : inProcess(options, selection));
    } catch (err) {
      throw asUserError(err);
    }
  });
}
