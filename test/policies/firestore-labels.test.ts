import { describe, expect, it } from "vitest";
import { firestoreDeleteProtection, firestoreReplayIndexes } from "../../policies/firestore";
import { requiredLabels } from "../../policies/labels";
import { resourceViolations, stackViolations, type TestResource } from "./harness";
import { deployment, DEPLOYMENT, labels, pushSubscription, SUBSCRIPTION } from "./resources";

const DATABASE = "gcp:firestore/database:Database";
const INDEX = "gcp:firestore/index:Index";

const database: TestResource = {
  type: DATABASE,
  name: "event-store",
  inputs: {
    name: "(default)",
    locationId: "eur3",
    type: "FIRESTORE_NATIVE",
    deleteProtectionState: "DELETE_PROTECTION_ENABLED",
  },
};
const index = (name: string, ...fields: string[]): TestResource => ({
  type: INDEX,
  name,
  inputs: {
    collection: "events",
    fields: [
      ...fields.map((fieldPath) => ({ fieldPath, order: "ASCENDING" })),
      { fieldPath: "__name__", order: "ASCENDING" },
    ],
  },
});
const replayIndexes = [
  index("by-type", "type", "time"),
  index("by-correlation", "correlationId", "time"),
  index("by-source", "source", "time"),
];

describe("Firestore rules", () => {
  it("passes a database with delete protection", () => {
    expect(resourceViolations(firestoreDeleteProtection("mandatory"), database)).toEqual([]);
  });

  it("fails a database without delete protection", () => {
    const unprotected = {
      ...database,
      inputs: { ...database.inputs, deleteProtectionState: undefined },
    };
    expect(resourceViolations(firestoreDeleteProtection("mandatory"), unprotected)).toEqual([
      "deleteProtectionState is DELETE_PROTECTION_DISABLED.",
    ]);
  });

  it("passes a stack with the three replay indexes", () => {
    expect(
      stackViolations(firestoreReplayIndexes("mandatory"), [database, ...replayIndexes]),
    ).toEqual([]);
  });

  it("fails a stack missing a replay index, on the database", () => {
    expect(
      stackViolations(firestoreReplayIndexes("mandatory"), [
        database,
        ...replayIndexes.slice(0, 2),
      ]),
    ).toEqual(["event-store: no composite index on events over (source, time)."]);
  });

  it("does not take an index on another collection or in another order", () => {
    const wrong = [
      {
        ...index("x", "source", "time"),
        inputs: { ...index("x", "source", "time").inputs, collection: "snapshots" },
      },
      index("y", "time", "source"),
    ];
    expect(
      stackViolations(firestoreReplayIndexes("mandatory"), [
        database,
        ...replayIndexes.slice(0, 2),
        ...wrong,
      ]),
    ).toEqual(["event-store: no composite index on events over (source, time)."]);
  });

  it("does not apply to a stack without Firestore", () => {
    expect(
      stackViolations(firestoreReplayIndexes("mandatory"), [
        { type: SUBSCRIPTION, inputs: pushSubscription },
      ]),
    ).toEqual([]);
  });
});

describe("label rule", () => {
  it("passes GCP and Kubernetes resources with system, env and owner", () => {
    expect(
      resourceViolations(requiredLabels("advisory"), {
        type: SUBSCRIPTION,
        inputs: pushSubscription,
      }),
    ).toEqual([]);
    expect(
      resourceViolations(requiredLabels("advisory"), { type: DEPLOYMENT, inputs: deployment }),
    ).toEqual([]);
  });

  it("fails a resource missing a label", () => {
    const { owner: _owner, ...partial } = labels;
    expect(
      resourceViolations(requiredLabels("advisory"), {
        type: SUBSCRIPTION,
        inputs: { ...pushSubscription, labels: partial },
      }),
    ).toEqual(["missing label owner."]);
    expect(
      resourceViolations(requiredLabels("advisory"), {
        type: DEPLOYMENT,
        inputs: { metadata: { name: "w" } },
      }),
    ).toEqual(["missing labels system, env, owner."]);
  });

  it("ignores resources that take no labels", () => {
    expect(
      resourceViolations(requiredLabels("advisory"), {
        type: "gcp:pubsub/topicIAMMember:TopicIAMMember",
        inputs: {},
      }),
    ).toEqual([]);
    expect(resourceViolations(requiredLabels("advisory"), database)).toEqual([]);
    expect(
      resourceViolations(requiredLabels("advisory"), {
        type: "kubernetes:yaml/v2:ConfigGroup",
        inputs: {},
      }),
    ).toEqual([]);
  });
});
