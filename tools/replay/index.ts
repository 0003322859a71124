/**
 * Replay and backtesting from the event store, and Pub/Sub seek (issue #8): the library the
 * `eventline replay`, `backtest` and `seek` commands are built on.
 *
 * - selection.ts   which stored events, read in order with cursors on the declared indexes
 * - in-process.ts  replay through handlers into an isolated database (isolation.ts, consumers.ts),
 *                  streamed in lanes per flow (lanes.ts), resumable (applied-prefix.ts, checkpoint.ts)
 * - republish.ts   replay onto the topics, for recovery, idempotently
 * - snapshots.ts   projection snapshots; rebuild.ts rebuilds from one plus the later events
 * - backtest.ts    two strategies (strategy.ts) over one period, compared (outcomes.ts, comparison.ts)
 * - seek.ts        rewinding a consumer's subscription to a time or a snapshot
 */
export {
  backtest,
  BACKTEST_HANDLERS,
  type BacktestOptions,
  type BacktestResult,
  type StrategyRole,
} from "./backtest";
export { withReplayClients, type ReplayClients, type ReplayClientOptions } from "./replay-clients";
export { comparisonCsv, compareOutcomes, formatNumber, type ComparisonRow } from "./comparison";
export { replayConsumers, type ReplayConsumer } from "./consumers";
export {
  CHECKPOINT_DOCUMENT,
  readCheckpoint,
  type Checkpoint,
  type ReplayTally,
} from "./checkpoint";
export { ReplayError } from "./errors";
export {
  replayInProcess,
  type InProcessReplayOptions,
  type InProcessReplayResult,
  type ReplayFailure,
} from "./in-process";
export {
  checkDatabaseId,
  DEFAULT_REPLAY_DATABASE,
  LIVE_DATABASE,
  prepareTarget,
} from "./isolation";
export { measureOutcome, PRIORITIES, type StrategyOutcome } from "./outcomes";
export {
  projectionItems,
  projectionNames,
  readProjections,
  type ProjectionItems,
} from "./projection-store";
export { rebuildFromSnapshot, type RebuildOptions, type RebuildResult } from "./rebuild";
export {
  DEFAULT_REPUBLISH_RUN,
  replayEventId,
  replayMessage,
  republish,
  topicPublisher,
  type RepublishOptions,
  type RepublishResult,
} from "./republish";
export {
  checkSnapshotName,
  createSnapshot,
  declaredConsumer,
  seekSubscription,
  beginReprocessing,
  SNAPSHOT_PREFIX,
  type SeekTarget,
} from "./seek";
export {
  countEvents,
  readEvents,
  REPLAY_OF_EXTENSION,
  type EventSelection,
  type ReadEvent,
  type StreamPosition,
} from "./selection";
export {
  checkSnapshotId,
  readSnapshot,
  restoreSnapshot,
  SNAPSHOTS_COLLECTION,
  takeSnapshot,
  type SnapshotInfo,
} from "./snapshots";
export {
  ATTRIBUTION_MODELS,
  CURRENT_STRATEGY,
  describeStrategy,
  strategyFrom,
  strategyRegistry,
  type AttributionModelName,
  type Strategy,
} from "./strategy";
