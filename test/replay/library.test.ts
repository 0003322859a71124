import { describe, expect, it } from "vitest";
import { eventTypesFor } from "../../handlers/declared";
import { EventCodec } from "../../handlers/runtime/codec";
import { registry } from "../../handlers/registry";
import {
  checkDatabaseId,
  checkSnapshotId,
  checkSnapshotName,
  comparisonCsv,
  replayConsumers,
  replayEventId,
  replayMessage,
  strategyFrom,
  withReplayClients,
  CURRENT_STRATEGY,
  ReplayError,
  type ReplayClients,
} from "../../tools/replay";

const eventTypes = eventTypesFor("local");
const codec = new EventCodec(eventTypes);

describe("republished ids", () => {
  it("derive the same version-8 UUID from the same original and run, and another from another run", () => {
    const id = replayEventId("perf-cmp-hot-07");
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(replayEventId("perf-cmp-hot-07")).toBe(id);
    expect(replayEventId("perf-cmp-hot-07", "second-recovery")).not.toBe(id);
    expect(replayEventId("perf-cmp-hot-08")).not.toBe(id);
  });

  it("copy the original's context and payload, and name it in ce-replayof", () => {
    const original = codec.decode(
      codec.encode(
        "com.eventline.campaign.optimization_required",
        { campaignId: "cmp-1", reason: "CPA 11.00 exceeds target 10.00", priority: 2 },
        {
          id: "e-1",
          source: "//eventline/campaign-processor",
          time: "2026-11-16T01:05:00.000Z",
          correlationId: "flow-1",
          causationId: "e-0",
        },
      ),
    );
    const copy = codec.decode(replayMessage(codec, original));
    expect(copy.meta).toEqual({
      ...original.meta,
      id: replayEventId("e-1"),
      extensions: { ...original.meta.extensions, replayof: "e-1" },
    });
    expect(copy.data).toEqual(original.data);
  });
});

describe("strategies", () => {
  it("take the fields a config sets and the current strategy's for the rest", () => {
    expect(strategyFrom({ cpaTolerance: 0.15, attributionModel: "last-click" })).toEqual({
      optimization: { cpaTolerance: 0.15, targetMultiplier: 1, pacingTolerance: 0.2 },
      attributionModel: "last-click",
    });
    expect(strategyFrom({})).toEqual(CURRENT_STRATEGY);
  });

  it.each([
    [
      { cpaTolerence: 0.1 },
      "--strategy has no field cpaTolerence; the fields are cpaTolerance, targetMultiplier, pacingTolerance, attributionModel",
    ],
    [
      { pacingTolerance: 1.5 },
      "--strategy: pacingTolerance 1.5 is not a share of the expected spend between 0 and 1 (0.2 = ±20%)",
    ],
    [
      { targetMultiplier: "2" },
      '--strategy: targetMultiplier "2" is not a factor above 0 (1.2 = targets 20% higher)',
    ],
    [
      { attributionModel: "causal" },
      '--strategy: attributionModel "causal" is not one of last-click, linear, shapley',
    ],
    [[0.1], '--strategy must be a JSON object such as {"cpaTolerance": 0.15}'],
  ])("refuse %j with one line naming the field and the rule", (config, message) => {
    expect(() => strategyFrom(config, CURRENT_STRATEGY, "--strategy")).toThrow(message);
  });
});

describe("what a replay runs", () => {
  it("chains creative-analyzer to fatigue-detector, the one consumer of what it emits", () => {
    expect(
      replayConsumers(eventTypes, registry, ["creative-analyzer"], true).map(
        (c) => c.consumer.name,
      ),
    ).toEqual(["creative-analyzer", "fatigue-detector"]);
    expect(
      replayConsumers(eventTypes, registry, ["creative-analyzer"], false).map(
        (c) => c.consumer.name,
      ),
    ).toEqual(["creative-analyzer"]);
  });

  it("refuses a name that is neither a consumer nor a replayable handler, listing the handlers", () => {
    expect(() => replayConsumers(eventTypes, registry, ["users-archiver"], false)).toThrow(
      /^no consumer or handler named users-archiver can be replayed; the handlers are email-sender, /,
    );
  });

  it.each([
    [
      "(default)",
      "database (default) is the live database; a replay writes into a database of its own, e.g. replay",
    ],
    ["Replay_1", 'database "Replay_1" is not a Firestore database id'],
  ])("refuses database %s", (id, message) => {
    expect(() => checkDatabaseId(id)).toThrow(message);
  });

  it("refuses snapshot names Pub/Sub and Firestore would refuse", () => {
    expect(() => checkSnapshotName("1st")).toThrow(
      'snapshot name "1st" is not one Pub/Sub accepts',
    );
    expect(() => checkSnapshotName("goog-x")).toThrow(
      'snapshot name "goog-x" is not one Pub/Sub accepts',
    );
    expect(() => checkSnapshotId("a/b")).toThrow('snapshot id "a/b" is not usable');
  });
});

describe("the comparison as CSV", () => {
  it("has a header and one row per metric and key, quoting what needs it", () => {
    const csv = comparisonCsv([
      { metric: "optimizations_requested", key: "", current: 44, alternative: 5, change: -39 },
      {
        metric: "credited_value",
        key: 'paid, "brand"',
        current: 12.5,
        alternative: 0,
        change: -12.5,
      },
    ]);
    expect(csv).toBe(
      'metric,key,current,alternative,change\noptimizations_requested,,44,5,-39\ncredited_value,"paid, ""brand""",12.5,0,-12.5\n',
    );
  });
});

describe("a replay in the cloud", () => {
  /** Runs `work` with the cloud's clients for `stack`, no emulator variable set; nothing is called. */
  async function inTheCloud<T>(
    stack: string,
    work: (clients: ReplayClients) => Promise<T>,
  ): Promise<T> {
    const saved = {
      FIRESTORE_EMULATOR_HOST: process.env["FIRESTORE_EMULATOR_HOST"],
      PUBSUB_EMULATOR_HOST: process.env["PUBSUB_EMULATOR_HOST"],
    };
    delete process.env["FIRESTORE_EMULATOR_HOST"];
    delete process.env["PUBSUB_EMULATOR_HOST"];
    try {
      return await withReplayClients({ project: `eventline-${stack}`, stack, needs: [] }, work);
    } finally {
      for (const [name, value] of Object.entries(saved))
        if (value !== undefined) process.env[name] = value;
    }
  }

  it("reads the stack's event store and keeps snapshots in their own database", async () => {
    await inTheCloud("prod", async (clients) => {
      expect(clients.firestore.databaseId).toBe("eventline-events");
      expect(clients.snapshots.databaseId).toBe("replay-snapshots");
    });
  });

  it("writes only into the databases the program declares for the replay tools", async () => {
    await inTheCloud("dev", async (clients) => {
      expect(clients.database("replay").databaseId).toBe("replay");
      expect(clients.database("backtest-alternative").databaseId).toBe("backtest-alternative");
      expect(() => clients.database("eventline")).toThrow(
        /database eventline is not one the program declares for the replay tools in project eventline-dev \(replay, backtest-current, backtest-alternative, replay-snapshots\)/,
      );
      expect(() => clients.database("my-replay")).toThrow(ReplayError);
    });
  });
});
