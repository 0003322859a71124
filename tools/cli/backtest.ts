/**
 * `eventline backtest`: replay a period of marketing traffic through the current strategy and
 * through an alternative (campaign-processor thresholds, attribution model), each into a
 * database of its own, and print the outcomes side by side: as a table, as JSON for CI
 * (`--json`), and as a CSV to plot (`--csv <file>`).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { Command, Option } from "commander";
import { BACKTEST_DATABASE_PREFIX, backtestDatabase } from "../../infra/model/databases";
import type * as Replay from "../replay";
import { UserError } from "./errors";
import { table } from "./format";
import { progressBar } from "./progress";
import {
  asUserError,
  loadReplay,
  selectionFrom,
  selectionOptions,
  targetOptions,
  type SelectionOptions,
  type TargetOptions,
} from "./replay";

interface BacktestOptions extends SelectionOptions, TargetOptions {
  strategy?: string;
  current?: string;
  cpaTolerance?: string;
  targetMultiplier?: string;
  pacingTolerance?: string;
  attributionModel?: string;
  handler?: string[];
  database: string;
  json: boolean;
  csv?: string;
}

/** A strategy argument: inline JSON, or `@file`. */
function readStrategy(argument: string, option: string): unknown {
  let text = argument;
  if (argument.startsWith("@")) {
    try {
      text = readFileSync(argument.slice(1), "utf8");
    } catch (err) {
      throw new UserError(
        `${option}: cannot read ${argument.slice(1)}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`,
      );
    }
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserError(
      `${option} is not JSON (${(err as Error).message}); pass e.g. '{"cpaTolerance": 0.15}' or @strategy.json`,
    );
  }
}

/** A number option, or undefined when not given. */
function numberOption(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number))
    throw new UserError(`${option} ${value} is not a number`);
  return number;
}

function strategies(
  replay: typeof Replay,
  options: BacktestOptions,
): { current: Replay.Strategy; alternative: Replay.Strategy } {
  const current =
    options.current === undefined
      ? replay.CURRENT_STRATEGY
      : replay.strategyFrom(
          readStrategy(options.current, "--current"),
          replay.CURRENT_STRATEGY,
          "--current",
        );
  const base =
    options.strategy === undefined
      ? current
      : replay.strategyFrom(readStrategy(options.strategy, "--strategy"), current, "--strategy");
  const flags: Record<string, unknown> = {
    cpaTolerance: numberOption(options.cpaTolerance, "--cpa-tolerance"),
    targetMultiplier: numberOption(options.targetMultiplier, "--target-multiplier"),
    pacingTolerance: numberOption(options.pacingTolerance, "--pacing-tolerance"),
    attributionModel: options.attributionModel,
  };
  const given = Object.fromEntries(
    Object.entries(flags).filter(([, value]) => value !== undefined),
  );
  const alternative = replay.strategyFrom(given, base, "the alternative");
  if (JSON.stringify(alternative) === JSON.stringify(current)) {
    throw new UserError(
      "the alternative is the current strategy; change it with --strategy, --cpa-tolerance, --target-multiplier, --pacing-tolerance or --attribution-model",
    );
  }
  return { current: { ...current }, alternative };
}

function printTable(replay: typeof Replay, result: Replay.BacktestResult, period: string): void {
  const { strategies: s, replays, rows } = result;
  process.stdout.write(
    `backtest of ${period}: ${replays.current.replayed} stored events replayed per strategy\n`,
  );
  process.stdout.write(`current:      ${replay.describeStrategy(s.current)}\n`);
  process.stdout.write(`alternative:  ${replay.describeStrategy(s.alternative)}\n\n`);
  const f = replay.formatNumber;
  process.stdout.write(
    table(
      ["METRIC", "KEY", "CURRENT", "ALTERNATIVE", "CHANGE"],
      rows.map((r) => [r.metric, r.key, f(r.current), f(r.alternative), f(r.change, true)]),
    ),
  );
}

export function backtestCommand(): Command {
  const command = new Command("backtest").description(
    "replay a period through the current strategy and an alternative, and compare the outcomes",
  );
  selectionOptions(command)
    .option(
      "--strategy <json|@file>",
      'the alternative strategy, e.g. \'{"cpaTolerance": 0.15, "attributionModel": "last-click"}\'; unset fields are the current one\'s',
    )
    .option("--cpa-tolerance <share>", "alternative: how far CPA may exceed its target (0.1 = 10%)")
    .option("--target-multiplier <factor>", "alternative: factor on every target CPA")
    .option(
      "--pacing-tolerance <share>",
      "alternative: how far spend may stray from pace (0.2 = ±20%)",
    )
    .addOption(
      new Option(
        "--attribution-model <model>",
        "alternative: the model channels are credited by",
      ).choices(["last-click", "linear", "shapley"]),
    )
    .option("--current <json|@file>", "change the current strategy too (default: what runs live)")
    .option(
      "--handler <name...>",
      "handlers to replay through (default: campaign-processor attribution-builder)",
    )
    .option(
      "--database <prefix>",
      "databases the replays write into: <prefix>-current and <prefix>-alternative, emptied first (in the cloud: backtest, whose two the program declares)",
      BACKTEST_DATABASE_PREFIX,
    )
    .option("--json", "print the comparison as one JSON object (for CI)", false)
    .option(
      "--csv <file>",
      "also write the comparison as CSV: metric,key,current,alternative,change",
    );
  return targetOptions(command).action(async (options: BacktestOptions) => {
    if (options.from === undefined)
      throw new UserError("say which period: --from <time> (and --to, default now)");
    const selection = selectionFrom(options);
    const replay = loadReplay();
    try {
      const { current, alternative } = strategies(replay, options);
      const databases = {
        current: replay.checkDatabaseId(
          backtestDatabase("current", options.database),
          "--database",
        ),
        alternative: replay.checkDatabaseId(
          backtestDatabase("alternative", options.database),
          "--database",
        ),
      };
      await replay.withReplayClients(
        {
          ...(options.project !== undefined && { project: options.project }),
          stack: options.stack,
          needs: ["firestore"],
        },
        async (clients) => {
          const bars = {
            current: progressBar("current strategy", { rate: true }),
            alternative: progressBar("alternative strategy", { rate: true }),
          };
          let result: Replay.BacktestResult;
          try {
            result = await replay.backtest({
              source: clients.firestore,
              targets: {
                current: clients.database(databases.current),
                alternative: clients.database(databases.alternative),
              },
              selection,
              current,
              alternative,
              stack: options.stack,
              ...(options.handler !== undefined && { handlers: options.handler }),
              onProgress: (role, read, total) => {
                if (role === "alternative") bars.current.stop();
                bars[role].update(read, total);
              },
            });
          } finally {
            bars.current.stop();
            bars.alternative.stop();
          }
          const period = `${selection.from!.toISOString()} – ${(selection.to ?? new Date()).toISOString()}`;
          if (options.csv !== undefined) {
            try {
              writeFileSync(options.csv, replay.comparisonCsv(result.rows));
            } catch (err) {
              throw new UserError(`cannot write --csv ${options.csv}: ${(err as Error).message}`);
            }
          }
          if (options.json)
            process.stdout.write(
              `${JSON.stringify({ period: { from: selection.from, to: selection.to ?? null }, ...result })}\n`,
            );
          else printTable(replay, result, period);
          if (options.csv !== undefined) process.stderr.write(`eventline: wrote ${options.csv}\n`);
          const failures = [
            ...result.replays.current.failures,
            ...result.replays.alternative.failures,
          ];
          for (const f of failures)
            process.stderr.write(
              `eventline: ${f.consumer} gave up on ${f.type} ${f.eventId} (${f.reason}): ${f.error}\n`,
            );
          if (failures.length > 0)
            throw new UserError(
              `${failures.length} replayed deliveries failed (listed above); the comparison leaves them out`,
            );
        },
      );
    } catch (err) {
      throw asUserError(err);
    }
  });
}
