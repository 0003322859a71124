/**
 * The plan's classification, from declarations built here out of infra/system.ts with one thing
 * changed at a time: which consumer or topic is picked is derived from the declaration, so the
 * tests hold whatever today's system declares.
 */
import { describe, expect, it } from "vitest";
import { declarationOf } from "../../infra/declaration";
import {
  DECLARATION_RECORD_VERSION,
  DeclarationRecordError,
  parseDeclarationRecord,
  type DeclarationRecord,
} from "../../infra/model/declaration-record";
import { planChanges, refusals, type PlannedChange } from "../../infra/model/plan";
import { resolveSystem } from "../../infra/model/resolve";
import type { ConsumerSpec, SystemSpec } from "../../infra/model/types";
import { system } from "../../infra/system";

const STACK = "dev";
/** The declaration, widened to the shape any declaration has, so tests can pick parts by name. */
const declared: SystemSpec = system;
const record = (spec: SystemSpec = system): DeclarationRecord =>
  declarationOf(resolveSystem(spec, STACK));
const deployed = record();

/** The declaration with one consumer changed. */
function withConsumer(name: string, change: Partial<ConsumerSpec>): SystemSpec {
  const consumer = { ...declared.consumers[name]!, ...change } as ConsumerSpec;
  return { ...declared, consumers: { ...declared.consumers, [name]: consumer } };
}

/** A copy of `base` whose subscription of `consumer` is changed by `change`. */
function editSubscription(
  base: DeclarationRecord,
  consumer: string,
  change: (s: DeclarationRecord["subscriptions"][number]) => void,
): DeclarationRecord {
  const copy = structuredClone(base);
  change(copy.subscriptions.find((s) => s.consumer === consumer)!);
  return copy;
}

function only(changes: PlannedChange[]): PlannedChange {
  expect(changes).toHaveLength(1);
  return changes[0]!;
}

/** A declared consumer (not the built-in archivers) with a filter, and one without ordering on an ordered topic. */
const resolved = resolveSystem(system, STACK);
const filtered = resolved.consumers.find((c) => !c.builtIn && c.filter !== undefined)!;
const orderedTopics = new Set(
  resolved.topics.filter((t) => t.orderingKey !== undefined).map((t) => t.name),
);
/** Declared consumers no stack override names, so removing or copying one keeps the declaration valid. */
const overridden = new Set(
  Object.values(system.stacks ?? {}).flatMap((stack) => Object.keys(stack.consumers ?? {})),
);
const plain = resolved.consumers.filter((c) => !c.builtIn && !overridden.has(c.name));
const unordered = resolved.consumers.find(
  (c) => !c.builtIn && !c.ordering && orderedTopics.has(c.topic),
)!;

describe("eventline plan's classification", () => {
  it("finds nothing to do when the declaration is what is deployed", () => {
    expect(planChanges(record(), deployed).changes).toEqual([]);
  });

  it("plans every topic and subscription as new when nothing is known to be deployed", () => {
    const plan = planChanges(record());
    expect(plan.deployedKnown).toBe(false);
    expect(plan.changes.every((c) => c.consequence === "create")).toBe(true);
    expect(plan.changes.filter((c) => c.resource === "topic")).toHaveLength(resolved.topics.length);
    expect(plan.changes.filter((c) => c.resource === "subscription")).toHaveLength(
      resolved.consumers.length,
    );
  });

  it("migrates a filter change: a new subscription beside the old one takes over its backlog", () => {
    const filter = 'attributes.ce-type = "com.example.other"';
    const current = record(withConsumer(filtered.name, { filter }));
    const plan = planChanges(current, deployed);
    const change = only(plan.changes);
    const now = current.subscriptions.find((s) => s.consumer === filtered.name)!;
    expect(now.name).not.toBe(filtered.subscription);
    expect(change).toMatchObject({
      resource: "subscription",
      name: filtered.name,
      consequence: "replace-with-migration",
      fields: [
        {
          field: "name",
          from: JSON.stringify(filtered.subscription),
          to: JSON.stringify(now.name),
        },
        { field: "filter", from: JSON.stringify(filtered.filter), to: JSON.stringify(filter) },
      ],
    });
    expect(change.effect).toContain(`${now.name} is created beside ${filtered.subscription}`);
    expect(change.effect).toContain("dead-letter topic and parked letters stay");
    expect(refusals(plan)).toEqual([]);
  });

  it("migrates ordering turned off, and refuses it turned on: Pub/Sub cannot seek an ordered subscription to an unordered one's snapshot", () => {
    const ordered = record(withConsumer(unordered.name, { ordering: true }));
    const on = only(planChanges(ordered, deployed).changes);
    expect(on).toMatchObject({
      consequence: "refused",
      guards: ["backlog-without-migration"],
    });
    expect(on.fields.map((f) => f.field)).toEqual(["name", "ordering"]);
    expect(on.effect).toContain("FAILED_PRECONDITION");
    expect(on.fix).toContain("declare a new consumer beside it with the new ordering");
    const off = only(planChanges(deployed, ordered).changes);
    expect(off.consequence).toBe("replace-with-migration");
  });

  it("refuses a replace-only change under a name the program did not derive: nothing migrates it", () => {
    const kept = editSubscription(
      deployed,
      filtered.name,
      (s) => (s.filter = 'attributes.x = "y"'),
    );
    const change = only(planChanges(kept, deployed).changes);
    expect(change).toMatchObject({
      consequence: "refused",
      guards: ["replace-without-migration", "backlog-without-migration"],
      fields: [{ field: "filter" }],
    });
    expect(change.effect).toContain("409 ALREADY_EXISTS");
    expect(change.fix).toContain("let the program name the subscription");
    // Deployed under a name without the hash, as before names carried it: nothing to take over from.
    const legacy = editSubscription(deployed, filtered.name, (s) => (s.name = s.consumer));
    expect(only(planChanges(deployed, legacy).changes)).toMatchObject({
      consequence: "refused",
      guards: ["replace-without-migration"],
      fields: [{ field: "name", from: JSON.stringify(filtered.name) }],
    });
  });

  it("refuses a subscription moved to another topic as a replace without migration", () => {
    const other = resolved.topics.find((t) => t.name !== filtered.topic)!.name;
    const current = editSubscription(deployed, filtered.name, (s) => (s.topic = other));
    const change = only(planChanges(current, deployed).changes);
    expect(change.guards).toEqual(["replace-without-migration"]);
    expect(change.fields).toEqual([
      { field: "topic", from: JSON.stringify(filtered.topic), to: JSON.stringify(other) },
    ]);
    expect(change.effect).toContain("a snapshot of");
    expect(change.fix).toContain("declare a new consumer beside it");
  });

  it("updates delivery settings in place, keeping the backlog", () => {
    const consumer = plain.find((c) => c.maxDeliveryAttempts !== 7)!;
    const ackDeadline = consumer.ackDeadlineSeconds === 600 ? "300s" : "600s";
    const change = only(
      planChanges(
        record(withConsumer(consumer.name, { ackDeadline, maxDeliveryAttempts: 7 })),
        deployed,
      ).changes,
    );
    expect(change).toMatchObject({ consequence: "in-place", name: consumer.name });
    expect(change.fields.map((f) => f.field)).toEqual([
      "ackDeadlineSeconds",
      "maxDeliveryAttempts",
    ]);
    expect(change.effect).toContain("keeps its backlog");
  });

  it("moves a consumer between push and pull in place, saying the workload moves", () => {
    const push = resolved.consumers.find((c) => !c.builtIn && c.delivery === "push")!;
    const current = editSubscription(deployed, push.name, (s) => (s.delivery = "pull"));
    const change = only(planChanges(current, deployed).changes);
    expect(change.consequence).toBe("in-place");
    expect(change.effect).toContain("workload moves (push → pull)");
  });

  it("creates an added consumer and deletes a removed one with its backlog", () => {
    const removed = plain[0]!.name;
    const { [removed]: _gone, ...rest } = declared.consumers;
    const added = `${removed}-copy`;
    const spec: SystemSpec = {
      ...system,
      consumers: { ...rest, [added]: declared.consumers[removed]! },
    };
    const plan = planChanges(record(spec), deployed);
    expect(plan.changes.map((c) => [c.consequence, c.name])).toEqual([
      ["create", added],
      ["delete", removed],
    ]);
    expect(plan.changes[1]!.effect).toContain("unacknowledged messages");
    expect(refusals(plan)).toEqual([]);
  });

  it("refuses a topic rename, with the fix: a new topic and its producers moved", () => {
    const topic = resolved.topics[0]!.name;
    const renamed = structuredClone(deployed);
    renamed.topics[0]!.name = `${topic}-v2`;
    const plan = planChanges(renamed, deployed);
    const change = only(plan.changes);
    expect(change).toMatchObject({
      resource: "topic",
      name: topic,
      consequence: "refused",
      guards: ["topic-rename"],
    });
    expect(change.fix).toContain(`declare ${topic}-v2 as a new topic beside ${topic}`);
    expect(change.fix).toContain("producers");
  });

  it("changes a topic's retention in place and refuses an encoding change", () => {
    const current = structuredClone(deployed);
    const topic = current.topics[0]!;
    topic.retentionSeconds += 3600;
    topic.encoding = topic.encoding === "json" ? "protobuf" : "json";
    const changes = planChanges(current, deployed).changes;
    expect(changes.map((c) => [c.consequence, c.fields.map((f) => f.field)])).toEqual([
      ["refused", ["encoding"]],
      ["in-place", ["retentionSeconds"]],
    ]);
    expect(changes[0]!.guards).toEqual(["encoding-change"]);
  });

  it("makes a schema definition change a revision, in place, saying it was not checked without buf", () => {
    const current = structuredClone(deployed);
    current.topics[0]!.schemaDigest = "0".repeat(64);
    const change = only(planChanges(current, deployed).changes);
    expect(change).toMatchObject({ resource: "schema", consequence: "in-place" });
    expect(change.guards).toBeUndefined();
    expect(change.effect).toContain(`sha256 ${"0".repeat(64)}`);
    expect(change.effect).toContain("the topic and its subscriptions stay");
    expect(change.effect).toContain("not checked");
  });

  it("fingerprints every topic's schema, and the fingerprint follows the definition", () => {
    expect(deployed.topics.every((t) => /^[0-9a-f]{64}$/.test(t.schemaDigest ?? ""))).toBe(true);
    // Two topics with different wrappers have different definitions.
    expect(new Set(deployed.topics.map((t) => t.schemaDigest)).size).toBe(deployed.topics.length);
  });
});

describe("reading a deployed declaration", () => {
  const text = JSON.stringify(deployed);

  it("reads back what was written", () => {
    expect(parseDeclarationRecord(text, "f")).toEqual(deployed);
  });

  it.each([
    ["not JSON", "{", /f is not JSON/],
    ["another version", JSON.stringify({ ...deployed, version: 99 }), /version 99 is not 1/],
    ["an array", "[]", /not a JSON object/],
    [
      "a subscription without its topic",
      JSON.stringify(
        editSubscription(deployed, filtered.name, (s) => delete (s as { topic?: string }).topic),
      ),
      /subscriptions\[\d+\]\.topic is missing/,
    ],
    [
      "a wrong type",
      JSON.stringify(
        editSubscription(
          deployed,
          filtered.name,
          (s) => ((s as { ordering: unknown }).ordering = "yes"),
        ),
      ),
      /ordering has an unexpected value "yes"/,
    ],
    [
      "an unknown field",
      JSON.stringify({ ...deployed, topics: [{ ...deployed.topics[0], __proto__x: 1 }] }),
      /topics\[0\] has unknown fields: __proto__x/,
    ],
    [
      "a consumer twice",
      JSON.stringify({
        ...deployed,
        subscriptions: [deployed.subscriptions[0], deployed.subscriptions[0]],
      }),
      /consumer .* appears twice/,
    ],
  ])("refuses %s, naming the field", (_what, input, message) => {
    expect(() => parseDeclarationRecord(input, "f")).toThrow(DeclarationRecordError);
    expect(() => parseDeclarationRecord(input, "f")).toThrow(message);
  });

  it("is at the version the record says", () => {
    expect(deployed.version).toBe(DECLARATION_RECORD_VERSION);
  });
});
