/**
 * Backtesting (docs/requirements.md, MO-11): replay one period through the current strategy
 * and through an alternative, each into an isolated database of its own, and compare what
 * they led to (outcomes.ts, comparison.ts). Both replays read the same stored events and run
 * the same handlers but for the strategy, so every difference is the strategy's.
 */
import type { Firestore } from "@google-cloud/firestore";
import type { marketing } from "../../proto/gen";
import { compareOutcomes, type ComparisonRow } from "./comparison";
import { ReplayError } from "./errors";
import { replayInProcess, type InProcessReplayResult } from "./in-process";
import { measureOutcome, OPTIMIZATION_REQUIRED, type StrategyOutcome } from "./outcomes";
import type { EventSelection } from "./selection";
import { CURRENT_STRATEGY, strategyRegistry, type Strategy } from "./strategy";

/** The handlers whose projections a marketing strategy comparison reads. */
export const BACKTEST_HANDLERS = ["campaign-processor", "attribution-builder"] as const;

export type StrategyRole = "current" | "alternative";

export interface BacktestOptions {
  /** The database whose event store is read. */
  source: Firestore;
  /** An isolated database per strategy (isolation.ts); emptied first. */
  targets: Readonly<Record<StrategyRole, Firestore>>;
  /** The period (and any other criteria). */
  selection: EventSelection;
  /** Default {@link CURRENT_STRATEGY}. */
  current?: Readonly<Strategy>;
  alternative: Readonly<Strategy>;
  /** The handlers to replay through. Default {@link BACKTEST_HANDLERS}. */
  handlers?: readonly string[];
  /** The stack whose declaration applies. Default `"local"`. */
  stack?: string;
  /** Called as each replay reads stored events. Default: none. */
  onProgress?: (role: StrategyRole, read: number, total: number) => void;
}

export interface BacktestResult {
  strategies: Record<StrategyRole, Strategy>;
  outcomes: Record<StrategyRole, StrategyOutcome>;
  rows: ComparisonRow[];
  /** Stored events each replay delivered, and its failures (dead-lettered in a live run). */
  replays: Record<
    StrategyRole,
    Pick<InProcessReplayResult, "read" | "replayed" | "failures" | "undecodable">
  >;
}

/** Runs both replays, one after the other, and compares them. */
export async function backtest(options: BacktestOptions): Promise<BacktestResult> {
  if (options.targets.current.databaseId === options.targets.alternative.databaseId) {
    throw new ReplayError(
      `both strategies would replay into database ${options.targets.current.databaseId}; give each a database of its own`,
    );
  }
  const strategies: Record<StrategyRole, Strategy> = {
    current: { ...(options.current ?? CURRENT_STRATEGY) },
    alternative: { ...options.alternative },
  };
  const run = async (role: StrategyRole) => {
    // Of what the replay publishes, only the optimization requests are measured: kept, the rest counted.
    const requests: marketing.v1.IOptimizationRequired[] = [];
    const replay = await replayInProcess({
      source: options.source,
      target: options.targets[role],
      handlers: options.handlers ?? BACKTEST_HANDLERS,
      selection: options.selection,
      registry: strategyRegistry(strategies[role]),
      onPublished: (event) => {
        if (event.type === OPTIMIZATION_REQUIRED)
          requests.push(event.data as marketing.v1.IOptimizationRequired);
      },
      ...(options.stack !== undefined && { stack: options.stack }),
      ...(options.onProgress !== undefined && {
        onProgress: (read: number, total: number) => options.onProgress!(role, read, total),
      }),
    });
    const outcome = await measureOutcome(options.targets[role], requests, strategies[role]);
    return {
      outcome,
      summary: {
        read: replay.read,
        replayed: replay.replayed,
        failures: replay.failures,
        undecodable: replay.undecodable,
      },
    };
  };
  const current = await run("current");
  const alternative = await run("alternative");
  return {
    strategies,
    outcomes: { current: current.outcome, alternative: alternative.outcome },
    rows: compareOutcomes(current.outcome, alternative.outcome),
    replays: { current: current.summary, alternative: alternative.summary },
  };
}
