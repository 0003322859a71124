/**
 * Schema revisions (infra/gcp/schema-revisions.ts) against the Pub/Sub emulator's schema
 * service: a changed definition is committed as a new revision of the same schema, an unchanged
 * one commits nothing, and the oldest revisions are deleted before the cap. The emulator answers
 * UNIMPLEMENTED for protobuf schemas, so these run on Avro definitions: the code passes the type
 * through and never reads the definition.
 */
import { PubSub, type v1 } from "@google-cloud/pubsub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MAX_REVISIONS,
  commitSchemaRevision,
  revisionsToDelete,
  schemaRevisionProvider,
} from "../../infra/gcp/schema-revisions";
import { startEmulator, type RunningEmulator } from "../../tools/local/emulators";

process.env["METADATA_SERVER_DETECTION"] = "none";
const PROJECT = "schema-revisions-test";
let emulator: RunningEmulator;
let pubsub: PubSub;
let client: InstanceType<typeof v1.SchemaServiceClient>;

/** An Avro record with `fields` optional string fields: each count a compatible revision of the last. */
function avro(fields: number): string {
  return JSON.stringify({
    type: "record",
    name: "Share",
    fields: Array.from({ length: fields }, (_, i) => ({
      name: `field${i}`,
      type: ["null", "string"],
      default: null,
    })),
  });
}

async function createSchema(id: string): Promise<string> {
  const [schema] = await client.createSchema({
    parent: `projects/${PROJECT}`,
    schemaId: id,
    schema: { type: "AVRO", definition: avro(1) },
  });
  return schema.name!;
}

async function revisions(schema: string): Promise<string[]> {
  const [list] = await client.listSchemaRevisions({ name: schema, view: "FULL" });
  return list.map((revision) => revision.definition!);
}

beforeAll(async () => {
  emulator = await startEmulator("pubsub");
  pubsub = new PubSub({ projectId: PROJECT, apiEndpoint: emulator.host, emulatorMode: true });
  client = await pubsub.getSchemaClient();
}, 60_000);

afterAll(async () => {
  await pubsub?.close();
  await emulator?.stop();
});

describe("which revisions make room", () => {
  const at = (ids: string[]) => ids.map((revisionId, i) => ({ revisionId, createdAtMs: i * 1000 }));

  it("deletes the oldest beyond what is kept, whatever order they are listed in", () => {
    const listed = at(["a", "b", "c", "d", "e"]).reverse();
    expect(revisionsToDelete(listed, 3)).toEqual(["a", "b"]);
    expect(revisionsToDelete(listed, 5)).toEqual([]);
    expect(revisionsToDelete(listed, 9)).toEqual([]);
  });

  it("refuses to keep nothing", () => {
    expect(() => revisionsToDelete(at(["a"]), 0)).toThrow(/at least 1/);
  });
});

describe("committing a definition", () => {
  it("commits a changed definition as a revision of the same schema, and nothing when unchanged", async () => {
    const schema = await createSchema("shares-commit");
    const same = await commitSchemaRevision(client, {
      schema,
      type: "AVRO",
      definition: avro(1),
    });
    expect(same.committed).toBe(false);
    expect(await revisions(schema)).toEqual([avro(1)]);

    const next = await commitSchemaRevision(client, { schema, type: "AVRO", definition: avro(2) });
    expect(next.committed).toBe(true);
    expect(next.deleted).toEqual([]);
    const [current] = await client.getSchema({ name: schema, view: "FULL" });
    expect(current.definition).toBe(avro(2));
    expect(current.revisionId).toBe(next.revisionId);
    expect((await revisions(schema)).sort()).toEqual([avro(1), avro(2)].sort());
  });

  it(`keeps the schema under Pub/Sub's ${MAX_REVISIONS} revisions by deleting the oldest first`, async () => {
    const schema = await createSchema("shares-prune");
    const keep = 4;
    for (let fields = 2; fields <= 9; fields++)
      await commitSchemaRevision(client, { schema, type: "AVRO", definition: avro(fields) }, keep);
    const kept = await revisions(schema);
    expect(kept.sort()).toEqual([avro(6), avro(7), avro(8), avro(9)].sort());
    const [current] = await client.getSchema({ name: schema, view: "FULL" });
    expect(current.definition).toBe(avro(9));
  });
});

describe("the dynamic provider", () => {
  it("commits on create and on an update of the definition, and diffs only what changed", async () => {
    const schema = await createSchema("shares-provider");
    const previous = process.env["PUBSUB_EMULATOR_HOST"];
    process.env["PUBSUB_EMULATOR_HOST"] = emulator.host;
    try {
      const inputs = { project: PROJECT, schema, type: "AVRO" as const, definition: avro(1) };
      const created = await schemaRevisionProvider.create(inputs);
      expect(created.id).toBe(schema);
      expect(await revisions(schema)).toEqual([avro(1)]);

      const unchanged = await schemaRevisionProvider.diff!(created.id, created.outs, inputs);
      expect(unchanged.changes).toBe(false);
      const changedInputs = { ...inputs, definition: avro(3) };
      const changed = await schemaRevisionProvider.diff!(created.id, created.outs, changedInputs);
      expect(changed).toEqual({ changes: true, replaces: [] });

      const updated = await schemaRevisionProvider.update!(created.id, created.outs, changedInputs);
      const [current] = await client.getSchema({ name: schema, view: "FULL" });
      expect(current.definition).toBe(avro(3));
      expect(updated.outs.revisionId).toBe(current.revisionId);
    } finally {
      if (previous === undefined) delete process.env["PUBSUB_EMULATOR_HOST"];
      else process.env["PUBSUB_EMULATOR_HOST"] = previous;
    }
  });
});
