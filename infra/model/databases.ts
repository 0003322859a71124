/**
 * The Firestore databases a stack has, split by who may write them (issue #21):
 *
 * - the **event store** (`events/`): appended to by the archivers alone, read by the replay
 *   tools; no consumer can rewrite or delete the system's memory;
 * - the **state** database: what consumers keep (projections, their processed records
 *   `consumers/{c}/processed/*`, their outboxes, adapters' `outbound/`); each handler's account
 *   may read and write it, and nothing else;
 * - the **replay tools'** databases: `eventline replay` writes into `replay`, `eventline backtest`
 *   into `backtest-current` and `backtest-alternative`, and projection snapshots are kept in
 *   `replay-snapshots`. The program creates them, so a replay in the cloud writes only where the
 *   program says it may.
 *
 * The Pulumi program creates every one of them and grants each account the ones it needs
 * (infra/gcp/firestore-access.ts); the runtime is told its one database by a setting
 * (infra/model/settings.ts); the replay tools take the names from here.
 */

/** The two databases the platform's workloads use. */
export interface PlatformDatabases {
  /** `eventline:eventStoreDatabase`: the event store (`events/`). */
  eventStore: string;
  /** `eventline:stateDatabase`: consumers' projections, processed records and outboxes. */
  state: string;
}

/** The database ids a stack uses unless its config says otherwise. */
export const DEFAULT_DATABASES: Readonly<PlatformDatabases> = {
  eventStore: "eventline-events",
  // The one database the program created before the split: consumer state stays where it was.
  state: "eventline",
};

/** Where `eventline replay` writes unless told otherwise. */
export const REPLAY_DATABASE = "replay";

/** The prefix of the two databases `eventline backtest` writes into: `<prefix>-<role>`. */
export const BACKTEST_DATABASE_PREFIX = "backtest";

/** The two strategies a backtest compares, each replayed into a database of its own. */
export const BACKTEST_ROLES = ["current", "alternative"] as const;

/** The database a backtest replays strategy `role` into. */
export function backtestDatabase(
  role: (typeof BACKTEST_ROLES)[number],
  prefix: string = BACKTEST_DATABASE_PREFIX,
): string {
  return `${prefix}-${role}`;
}

/**
 * Where projection snapshots are kept: beside no live data, and never emptied by a replay
 * (a replay empties its own target first).
 */
export const SNAPSHOTS_DATABASE = "replay-snapshots";

/** Every database the replay tools write into, as the program declares them. */
export const REPLAY_TOOL_DATABASES: readonly string[] = [
  REPLAY_DATABASE,
  ...BACKTEST_ROLES.map((role) => backtestDatabase(role)),
  SNAPSHOTS_DATABASE,
];

/**
 * The database every client uses when none is named: locally, on the emulator, the event store
 * and the state are both kept there (the emulator keeps named databases apart as well, which
 * `eventline verify` relies on).
 */
export const UNNAMED_DATABASE = "(default)";

/**
 * The IAM condition that limits a project-level Firestore role to one database (Firestore has
 * no IAM policy of its own per database; the role is granted on the project with this
 * condition): `resource.name == "projects/<project>/databases/<database>"`.
 */
export function databaseResourceName(project: string, database: string): string {
  return `projects/${project}/databases/${database}`;
}

/** The condition expression granting on `database` only. */
export function databaseConditionExpression(project: string, database: string): string {
  return `resource.name == "${databaseResourceName(project, database)}"`;
}

/**
 * The database a condition expression made by {@link databaseConditionExpression} names, or
 * undefined when the expression limits the grant some other way (or not at all).
 */
export function databaseOfCondition(expression: string | undefined): string | undefined {
  if (expression === undefined) return undefined;
  const match = /^\s*resource\.name\s*==\s*"projects\/[^/"]+\/databases\/([^/"]+)"\s*$/.exec(
    expression,
  );
  return match?.[1];
}
