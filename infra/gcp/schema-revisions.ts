/**
 * A topic's schema changes by revision, never by replacement. Pub/Sub keeps a changed
 * definition as a new revision of the same schema (`CommitSchema`), so the topic and its
 * subscriptions stay; a schema holds at most {@link MAX_REVISIONS} revisions, after which a
 * commit fails until old ones are deleted.
 *
 * `gcp.pubsub.Schema` creates the schema with its first definition and then ignores the
 * definition (`ignoreChanges`, infra/gcp/event-topic.ts): whether a provider version replaces a
 * schema on a definition change or commits a revision has varied, and a replacement of a schema
 * with a fixed name fails (409) or strands its topic. The `SchemaRevision` resource here holds
 * the definition instead: on every change it deletes the oldest revisions beyond
 * `KEPT_SCHEMA_REVISIONS` (infra/model/defaults.ts), then commits the new definition. Whether
 * the change is compatible with what the topic carries is checked before it gets here (`eventline plan` and CI, buf
 * breaking); Pub/Sub itself refuses a protobuf revision that changes more than optional fields.
 *
 * With no revision range on the topic, Pub/Sub validates a message against every revision the
 * schema keeps, so a producer still on an older compatible definition keeps publishing while
 * that revision is kept; the oldest ones go first.
 */
import type { v1 } from "@google-cloud/pubsub";
import * as pulumi from "@pulumi/pulumi";
import { KEPT_SCHEMA_REVISIONS } from "../model/defaults";
import { pubsubModule } from "./subscription-migration";

/** Pub/Sub's cap on the revisions of one schema. */
export const MAX_REVISIONS = 20;

type SchemaClient = InstanceType<typeof v1.SchemaServiceClient>;

export interface RevisionInfo {
  revisionId: string;
  /** When it was committed, in milliseconds since the epoch. */
  createdAtMs: number;
}

/**
 * The revisions to delete so that at most `keep` remain, oldest first; the newest is never
 * among them.
 */
export function revisionsToDelete(revisions: readonly RevisionInfo[], keep: number): string[] {
  if (!Number.isInteger(keep) || keep < 1)
    throw new RangeError(`keep must be a whole number of revisions, at least 1, not ${keep}`);
  const oldestFirst = [...revisions].sort((a, b) => a.createdAtMs - b.createdAtMs);
  return oldestFirst.slice(0, Math.max(0, oldestFirst.length - keep)).map((r) => r.revisionId);
}

export interface SchemaDefinition {
  /** The schema's full name, `projects/<project>/schemas/<id>`. */
  schema: string;
  type: "PROTOCOL_BUFFER" | "AVRO";
  definition: string;
}

export interface CommittedRevision {
  /** The revision holding the definition now. */
  revisionId: string;
  /** Whether a revision was committed (false: the newest already held this definition). */
  committed: boolean;
  /** The revisions deleted to make room. */
  deleted: string[];
}

function millis(time: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  return Number(time?.seconds ?? 0) * 1000 + Math.floor((time?.nanos ?? 0) / 1e6);
}

/**
 * Makes `definition` the schema's newest revision: nothing when it already is, else the
 * revisions beyond `keep - 1` deleted (oldest first) and the definition committed. Safe to run
 * again after a failure.
 */
export async function commitSchemaRevision(
  client: SchemaClient,
  target: SchemaDefinition,
  keep = KEPT_SCHEMA_REVISIONS,
): Promise<CommittedRevision> {
  const [current] = await client.getSchema({ name: target.schema, view: "FULL" });
  if (current.definition === target.definition)
    return { revisionId: current.revisionId ?? "", committed: false, deleted: [] };
  const [revisions] = await client.listSchemaRevisions({ name: target.schema, view: "BASIC" });
  const deleted = revisionsToDelete(
    revisions.map((r) => ({
      revisionId: r.revisionId ?? "",
      createdAtMs: millis(r.revisionCreateTime),
    })),
    keep - 1,
  );
  for (const revisionId of deleted)
    await client.deleteSchemaRevision({ name: `${target.schema}@${revisionId}` });
  const [committed] = await client.commitSchema({
    name: target.schema,
    schema: { name: target.schema, type: target.type, definition: target.definition },
  });
  return { revisionId: committed.revisionId ?? "", committed: true, deleted };
}

interface RevisionInputs extends SchemaDefinition {
  project: string;
}

interface RevisionOutputs extends RevisionInputs {
  revisionId: string;
}

async function withSchemaClient<T>(
  project: string,
  use: (client: SchemaClient) => Promise<T>,
): Promise<T> {
  const pubsub = new (pubsubModule().PubSub)({ projectId: project });
  const client = await pubsub.getSchemaClient();
  try {
    return await use(client);
  } finally {
    await pubsub.close();
  }
}

/** The dynamic provider: create and update commit the definition; delete leaves the schema to its own resource. */
export const schemaRevisionProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: RevisionInputs) {
    const { revisionId } = await withSchemaClient(inputs.project, (client) =>
      commitSchemaRevision(client, inputs),
    );
    return { id: inputs.schema, outs: { ...inputs, revisionId } satisfies RevisionOutputs };
  },
  async diff(_id, olds: RevisionOutputs, news: RevisionInputs) {
    const replaces = (["project", "schema"] as const).filter((key) => olds[key] !== news[key]);
    const changes =
      replaces.length > 0 || olds.definition !== news.definition || olds.type !== news.type;
    return { changes, replaces };
  },
  async update(_id, _olds: RevisionOutputs, news: RevisionInputs) {
    const { revisionId } = await withSchemaClient(news.project, (client) =>
      commitSchemaRevision(client, news),
    );
    return { outs: { ...news, revisionId } satisfies RevisionOutputs };
  },
};

export interface SchemaRevisionArgs {
  project: pulumi.Input<string>;
  /** The schema's full name (its resource's id). */
  schema: pulumi.Input<string>;
  type: pulumi.Input<SchemaDefinition["type"]>;
  definition: pulumi.Input<string>;
}

/** A schema's current definition, kept as its newest revision (see the module's comment). */
export class SchemaRevision extends pulumi.dynamic.Resource {
  /** The revision that holds the definition. */
  declare readonly revisionId: pulumi.Output<string>;

  constructor(name: string, args: SchemaRevisionArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      schemaRevisionProvider,
      name,
      { ...args, revisionId: undefined },
      opts,
      "eventline",
      "SchemaRevision",
    );
  }
}
