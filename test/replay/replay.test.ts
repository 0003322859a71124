import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { v1 } from "@google-cloud/pubsub";
import { beforeAll, describe, expect, it } from "vitest";
import { eventKey } from "../../handlers/runtime/idempotency";
import { campaignProcessor } from "../../handlers/marketing/campaign-processor";
import { eventTypesFor } from "../../handlers/declared";
import { EventCodec, type DecodedEvent } from "../../handlers/runtime/codec";
import { EventStore } from "../../handlers/runtime/event-store";
import { runHandler } from "../../handlers/testing/run-handler";
import { provision } from "../../tools/local/provision";
import {
  backtest,
  readEvents,
  readProjections,
  rebuildFromSnapshot,
  replayEventId,
  replayInProcess,
  republish,
  strategyFrom,
  takeSnapshot,
  topicPublisher,
  type EventSelection,
} from "../../tools/replay";
import { runCli } from "../cli/run-cli";
import { useDatabases } from "../support/databases";
import { useEmulators } from "../support/emulators";
import { subscriptionOf } from "../support/pubsub";
import { runLive, MARKETING_CONSUMERS } from "./fixtures/live-run";
import { ANALYTICS, DAY_END, DAY_START, marketingDay } from "./fixtures/marketing-day";

const env = useEmulators();
const eventTypes = eventTypesFor("local");
const codec = new EventCodec(eventTypes);
const day = marketingDay();
const whole: EventSelection = { from: DAY_START, to: DAY_END };
const noon = new Date("2026-11-16T12:00:00Z");
let derived: DecodedEvent[];

const database = useDatabases(env);

beforeAll(async () => {
  derived = await runLive(env.firestore, day);
}, 120_000);

const ids = (events: readonly DecodedEvent[]) =>
  events.map((e) => [e.type, e.meta.id, e.meta.time]);

describe("the recorded day", () => {
  it("has 110 events and led live to 8 analyses, 1 fatigue detection, 44 optimization requests and 24 attributions", () => {
    expect(day).toHaveLength(110);
    const count = (type: string) => derived.filter((e) => e.type === type).length;
    expect([
      count("com.eventline.creative.analyzed"),
      count("com.eventline.creative.fatigue_detected"),
      count("com.eventline.campaign.optimization_required"),
      count("com.eventline.attribution.conversion_attributed"),
    ]).toEqual([8, 1, 44, 24]);
  });
});

describe("in-process replay", () => {
  it("reproduces the live projections exactly when the store is replayed through every marketing handler, chained, into a database of its own", async () => {
    const target = database("replay-all");
    const published: DecodedEvent[] = [];
    const result = await replayInProcess({
      source: env.firestore,
      target,
      handlers: MARKETING_CONSUMERS,
      chain: true,
      onPublished: (event) => published.push(event),
    });
    // Of the 77 derived events stored, the 8 analyses and the 44 optimization requests are of
    // types a member of the chain accepts (the optimization agents' hook, downstream of the
    // campaign-processor, takes the requests; under replay it calls no agent): the chain
    // derives them again, so they are read but not delivered twice.
    const optimizationRequests = derived.filter(
      (e) => e.type === "com.eventline.campaign.optimization_required",
    ).length;
    expect({
      read: result.read,
      replayed: result.replayed,
      reproduced: result.reproduced,
      failures: result.failures,
    }).toEqual({
      read: 110 + 8 + optimizationRequests,
      replayed: 110,
      reproduced: 8 + optimizationRequests,
      failures: [],
    });
    expect(ids(published)).toEqual(ids(derived));
    expect(Object.values(result.publishedByType).reduce((a, b) => a + b, 0)).toBe(derived.length);
    const replayed = await readProjections(target);
    expect(replayed).toEqual(await readProjections(env.firestore));
    // Derived events keep the time live gave them: the fatigue was detected at the time live gave the analysis that crossed it.
    const detection = derived.find((e) => e.type === "com.eventline.creative.fatigue_detected")!;
    const analyzed = derived.find((e) => e.meta.id === detection.meta.causationId)!;
    expect(replayed["creative-fatigue"]!["cr-tired"]).toMatchObject({
      fatigued: true,
      detectedAt: analyzed.meta.time,
    });
  });

  it("reads the selected events in time order a page at a time: one flow, the analytics source, and two types merged", async () => {
    const read = async (selection: EventSelection) => {
      const out: string[] = [];
      for await (const r of readEvents(env.firestore, eventTypes, selection, { pageSize: 2 }))
        out.push("event" in r ? r.event.meta.id : `! ${r.problem}`);
      return out;
    };
    expect(await read({ ...whole, correlationId: "journey-u02" })).toEqual([
      "tp-u02-0",
      "tp-u02-1",
      "tp-u02-2",
      "conv-u02",
    ]);
    const analytics = day.filter((e) => e.source === ANALYTICS).map((e) => e.id);
    expect(analytics).toHaveLength(30);
    expect(await read({ ...whole, source: ANALYTICS })).toEqual(analytics);
    const types = ["com.eventline.creative.submitted", "com.eventline.campaign.created"];
    expect(await read({ ...whole, types })).toEqual(
      day.filter((e) => types.includes(e.type)).map((e) => e.id),
    );
  });
});

describe("backtest", () => {
  it("replays the day under a 15% CPA tolerance, ±35% pacing and last-click credit and counts 39 fewer optimizations, 780 less predicted impact and last-click credit per channel", async () => {
    const alternative = strategyFrom({
      cpaTolerance: 0.15,
      pacingTolerance: 0.35,
      attributionModel: "last-click",
    });
    const result = await backtest({
      source: env.firestore,
      targets: {
        current: database("backtest-current"),
        alternative: database("backtest-alternative"),
      },
      selection: whole,
      alternative,
    });
    // Current: cmp-costly's 23 reports (CPA 11 > 10, MEDIUM) and cmp-hot's 16 overpaced (MEDIUM) and 5 over budget (CRITICAL) reports.
    // Predicted impact: costly Σ(h+1) = 276; hot 3·Σ(h+1) for h = 2..17 = 504, and 7 + 20 + 33 + 46 + 59 = 165 over budget.
    // Alternative: only the 5 over budget, which no tolerance excuses.
    expect(
      result.rows.filter(
        (r) => r.metric !== "credited_conversions" && r.metric !== "credited_value",
      ),
    ).toEqual([
      { metric: "optimizations_requested", key: "", current: 44, alternative: 5, change: -39 },
      { metric: "optimizations_by_priority", key: "LOW", current: 0, alternative: 0, change: 0 },
      {
        metric: "optimizations_by_priority",
        key: "MEDIUM",
        current: 39,
        alternative: 0,
        change: -39,
      },
      { metric: "optimizations_by_priority", key: "HIGH", current: 0, alternative: 0, change: 0 },
      {
        metric: "optimizations_by_priority",
        key: "CRITICAL",
        current: 5,
        alternative: 5,
        change: 0,
      },
      { metric: "campaigns_flagged", key: "", current: 2, alternative: 1, change: -1 },
      { metric: "predicted_impact", key: "", current: 945, alternative: 165, change: -780 },
      { metric: "attributed_conversions", key: "", current: 8, alternative: 8, change: 0 },
    ]);
    // Last click: search ends u01, u02, u03, u07, u10 (50 + 80 + 30 + 60 + 55); email u04, u12 (40 + 70); social u08 (45).
    expect(result.outcomes.alternative.attribution.byChannel).toEqual({
      display: { conversions: 0, value: 0 },
      email: { conversions: 2, value: 110 },
      search: { conversions: 5, value: 275 },
      social: { conversions: 1, value: 45 },
    });
    // Shapley shares each conversion out: the 8 conversions and their 430 in value are all credited, differently.
    const shapley = Object.values(result.outcomes.current.attribution.byChannel);
    expect(shapley.reduce((sum, c) => sum + c.conversions, 0)).toBeCloseTo(8, 9);
    expect(shapley.reduce((sum, c) => sum + c.value, 0)).toBeCloseTo(430, 9);
    expect(result.outcomes.current.attribution.byChannel["search"]!.conversions).not.toBeCloseTo(
      5,
      3,
    );
    // The current strategy is what ran live.
    expect(result.outcomes.current.optimizations.requested).toBe(
      derived.filter((e) => e.type === "com.eventline.campaign.optimization_required").length,
    );
  });
});

describe("the CLI", () => {
  const iso = (d: Date) => d.toISOString();

  it("replays the morning's 36 campaign events through campaign-processor into its own database and says what it did: 20 requests captured", async () => {
    const result = await runCli(
      [
        "replay",
        "--handler",
        "campaign-processor",
        "--from",
        iso(DAY_START),
        "--to",
        iso(noon),
        "--database",
        "cli-replay",
      ],
      { env: env.runtimeEnv(), timeoutMs: 60_000 },
    );
    expect(result.stderr).toBe("");
    // How long it took varies; that it is said does not.
    expect(
      result.stdout.replace(
        / in \d+\.\d s, \d+ stored events\/s\n/,
        " in … s, … stored events/s\n",
      ),
    ).toBe(
      [
        "replayed 36 of 36 stored events through campaign-processor into database cli-replay (the emulators) in … s, … stored events/s",
        "deliveries: 36 handled",
        "published, captured and not sent: 20 com.eventline.campaign.optimization_required",
        "",
      ].join("\n"),
    );
    expect(result.code).toBe(0);
  });

  it("prints the backtest as JSON for CI and writes the comparison as CSV", async () => {
    const dir = mkdtempSync(join(tmpdir(), "eventline-backtest-"));
    try {
      const csv = join(dir, "comparison.csv");
      const args = [
        "backtest",
        "--from",
        iso(DAY_START),
        "--to",
        iso(DAY_END),
        "--cpa-tolerance",
        "0.15",
        "--pacing-tolerance",
        "0.35",
        "--attribution-model",
        "last-click",
        "--json",
        "--csv",
        csv,
      ];
      const result = await runCli(args, { env: env.runtimeEnv(), timeoutMs: 60_000 });
      expect(result.stderr).toBe(`eventline: wrote ${csv}\n`);
      expect(result.code).toBe(0);
      const json = JSON.parse(result.stdout) as {
        rows: unknown[];
        strategies: { alternative: unknown };
      };
      expect(json.strategies.alternative).toEqual({
        optimization: { cpaTolerance: 0.15, targetMultiplier: 1, pacingTolerance: 0.35 },
        attributionModel: "last-click",
      });
      expect(json.rows[0]).toEqual({
        metric: "optimizations_requested",
        key: "",
        current: 44,
        alternative: 5,
        change: -39,
      });
      const lines = readFileSync(csv, "utf8").split("\n");
      expect(lines.slice(0, 2)).toEqual([
        "metric,key,current,alternative,change",
        "optimizations_requested,,44,5,-39",
      ]);
      // A header, 8 totals and 2 rows for each of the 4 channels; last click credits search with 5.
      expect(lines).toHaveLength(1 + 8 + 8 + 1);
      expect(lines.find((l) => l.startsWith("credited_conversions,search,"))).toMatch(
        /^credited_conversions,search,[\d.]+,5,-?[\d.]+$/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("snapshots", () => {
  it("rebuild a day's projections from a noon snapshot and the 49 events after it exactly as a replay from scratch does", async () => {
    const handlers = ["campaign-processor", "attribution-builder"];
    const morning = database("snapshot-morning");
    const first = await replayInProcess({
      source: env.firestore,
      target: morning,
      handlers,
      selection: { from: DAY_START, to: noon },
    });
    const taken = await takeSnapshot({
      from: morning,
      store: env.firestore,
      snapshotId: "noon",
      covers: first.last!,
    });
    // Noon falls inside u07's journey: 4 conversions attributed, 7 journeys open or closed, 10 channel sets seen.
    // A position in the store: the event's time and its document id (its source and id).
    const covers = {
      time: "2026-11-16T11:58:07.000Z",
      id: eventKey({ source: "//eventline/analytics", id: "tp-u07-1" }),
    };
    expect(taken.map((s) => [s.projection, s.items, s.covers])).toEqual([
      ["attribution", 4, covers],
      ["attribution-channels", 4, covers],
      ["attribution-journeys", 7, covers],
      ["attribution-paths", 10, covers],
      ["campaigns", 3, covers],
    ]);
    await expect(
      takeSnapshot({
        from: morning,
        store: env.firestore,
        snapshotId: "noon",
        covers: first.last!,
      }),
    ).rejects.toThrow(
      "snapshot noon exists for attribution, attribution-channels, attribution-journeys, attribution-paths, campaigns",
    );

    const rebuilt = database("snapshot-rebuilt");
    const rebuild = await rebuildFromSnapshot({
      source: env.firestore,
      target: rebuilt,
      handlers,
      selection: whole,
      snapshotId: "noon",
    });
    const scratch = database("snapshot-scratch");
    const full = await replayInProcess({
      source: env.firestore,
      target: scratch,
      handlers,
      selection: whole,
    });
    // The two handlers take 102 of the day's events (not the 8 creatives): 53 before noon, 49 after.
    expect([first.replayed, rebuild.replay.replayed, full.replayed]).toEqual([53, 49, 102]);
    expect(await readProjections(rebuilt)).toEqual(await readProjections(scratch));
  });
});

describe("republish", () => {
  const types = ["com.eventline.campaign.created", "com.eventline.campaign.performance_reported"];

  /** Pulls `count` messages from a subscription and acks them. */
  async function pull(subscription: string, count: number) {
    const client = new v1.SubscriberClient(
      (env.pubsub as unknown as { options: ConstructorParameters<typeof v1.SubscriberClient>[0] })
        .options,
    );
    const name = env.pubsub.subscription(subscription).name;
    const messages: { data: Uint8Array; attributes: Record<string, string> }[] = [];
    const deadline = Date.now() + 20_000;
    try {
      while (messages.length < count && Date.now() < deadline) {
        const [response] = await client.pull({
          subscription: name,
          maxMessages: 100,
          returnImmediately: true,
        });
        const received = response.receivedMessages ?? [];
        if (received.length > 0)
          await client.acknowledge({ subscription: name, ackIds: received.map((m) => m.ackId!) });
        for (const m of received)
          messages.push({
            data: m.message!.data as Uint8Array,
            attributes: { ...m.message!.attributes },
          });
        if (received.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await client.close();
    }
    return messages;
  }

  it("publishes copies marked ce-replayof under ids derived from the originals, and a second republish changes nothing in the live namespace", async () => {
    await provision(env.pubsub, eventTypes.system, { consumers: ["campaign-processor"] });
    const originals = day.filter((e) => types.includes(e.type)).map((e) => e.id);
    const recover = async () => {
      const result = await republish({
        source: env.firestore,
        publisher: topicPublisher(env.pubsub),
        selection: { ...whole, types },
      });
      const messages = await pull(subscriptionOf("campaign-processor"), originals.length);
      const outcomes: Record<string, number> = {};
      for (const message of messages) {
        const run = await runHandler(
          campaignProcessor,
          { raw: message },
          { firestore: env.firestore },
        );
        outcomes[run.outcome.result] = (outcomes[run.outcome.result] ?? 0) + 1;
      }
      return {
        result,
        messages,
        outcomes,
        campaigns: await readProjections(env.firestore, ["campaigns"]),
      };
    };

    const once = await recover();
    expect(once.result.republished.map((r) => [r.originalId, r.id])).toEqual(
      originals.map((id) => [id, replayEventId(id)]),
    );
    expect(
      once.messages.map((m) => [m.attributes["ce-replayof"], m.attributes["ce-id"]]).sort(),
    ).toEqual(originals.map((id) => [id, replayEventId(id)]).sort());
    expect(once.outcomes).toEqual({ handled: 72 });

    const twice = await recover();
    expect(twice.result.republished).toEqual(once.result.republished);
    expect(twice.outcomes).toEqual({ duplicate: 72 });
    expect(twice.campaigns).toEqual(once.campaigns);

    // Archived copies stay out of later selections: the period is still its 72 originals.
    const store = new EventStore(env.firestore, eventTypes, { throttling: false });
    await Promise.all(once.messages.map((m) => store.append(codec.decode(m))));
    await store.close();
    const selected: string[] = [];
    for await (const r of readEvents(env.firestore, eventTypes, { ...whole, types }))
      if ("event" in r) selected.push(r.event.meta.id);
    expect(selected).toEqual(originals);
  });
});

describe("a replayed event a handler gives up on", () => {
  it("is reported as the failure live would have dead-lettered, and nothing is published for it", async () => {
    const store = new EventStore(env.firestore, eventTypes, { throttling: false });
    const broken = codec.encode(
      "com.eventline.campaign.performance_reported",
      { campaignId: "cmp-steady", metrics: { spend: 1 } },
      {
        id: "perf-no-window",
        source: "//eventline/gateway",
        time: "2026-11-16T23:30:00.000Z",
        correlationId: "broken-flow",
      },
    );
    await store.append(codec.decode(broken));
    await store.close();
    const result = await replayInProcess({
      source: env.firestore,
      target: database("replay-broken"),
      handlers: ["campaign-processor"],
      selection: { correlationId: "broken-flow" },
    });
    expect(result.outcomes).toEqual({ "dead-lettered": 1 });
    expect(result.failures).toEqual([
      {
        consumer: "campaign-processor",
        eventId: "perf-no-window",
        type: "com.eventline.campaign.performance_reported",
        reason: "invalid-report",
        error:
          "PermanentError: campaign cmp-steady: the report's window is unspecified (hourly or daily)",
      },
    ]);
    expect(result.publishedByType).toEqual({});
  });
});
