import { describe, expect, it } from "vitest";
import { marketing } from "../../proto/gen";
import {
  attributionBuilder,
  attributions,
  channelCredits,
  channelSets,
} from "../../handlers/marketing/attribution-builder";
import {
  campaignAnalytics,
  dailyRollups,
  hourlyRollups,
  rollupId,
} from "../../handlers/marketing/campaign-analytics";
import { campaignProcessor, campaigns } from "../../handlers/marketing/campaign-processor";
import { creativeAnalyzer, creatives } from "../../handlers/marketing/creative-analyzer";
import { creativeFatigue, fatigueDetector } from "../../handlers/marketing/fatigue-detector";
import { genomeTokens } from "../../handlers/marketing/creative-genome";
import { hashedEmbedding } from "../../handlers/marketing/feature-hashing";
import type { EventInput } from "../../handlers/testing/run-handler";
import { runHandler } from "../../handlers/testing/run-handler";
import type { Handler } from "../../handlers/runtime/handler";
import { documentIdFor } from "../../handlers/runtime/idempotency";
import { channelSetKey } from "../../handlers/marketing/channel-sets";
import { useEmulators } from "../support/emulators";

const env = useEmulators();
const P = marketing.v1.Priority;

async function deliverAll(
  handler: Handler,
  events: EventInput[],
  expected: "handled" | "duplicate",
) {
  const runs = [];
  for (const event of events) {
    const run = await runHandler(handler, event, { firestore: env.firestore });
    expect(run.outcome, `${event.id}`).toEqual({ action: "ack", result: expected });
    runs.push(run);
  }
  return runs;
}

const read = async (ref: FirebaseFirestore.DocumentReference) => (await ref.get()).data();

describe("campaign-processor", () => {
  // A 10-day flight of 1 000, 100 a day, target CPA 12.50, standard pacing.
  const created: EventInput = {
    id: "cp-1",
    type: "com.eventline.campaign.created",
    data: {
      campaignId: "cmp-t1",
      accountId: "acct-1",
      platform: 2,
      budget: {
        currency: "EUR",
        dailyBudget: 100,
        totalBudget: 1000,
        targetCpa: 12.5,
        pacing: 1,
        startDate: "2026-11-15",
        endDate: "2026-11-24",
      },
    },
  };
  const report = (
    id: string,
    window: 1 | 2,
    windowStart: string,
    time: string,
    m: { impressions: number; clicks: number; conversions: number; spend: number },
  ): EventInput => ({
    id,
    time,
    type: "com.eventline.campaign.performance_reported",
    data: { campaignId: "cmp-t1", window, windowStart, metrics: m },
  });
  const events: EventInput[] = [
    created,
    // Day 1 in full: 100 spent for 8 conversions (CPA 12.50), exactly on pace for the day and the flight (1/10).
    report("cp-2", 2, "2026-11-15T00:00:00Z", "2026-11-16T00:30:00Z", {
      impressions: 10_000,
      clicks: 200,
      conversions: 8,
      spend: 100,
    }),
    // 11:00–12:00 on day 2, reported at 12:10: the figures run to 12:00, half the day and 15% of the flight.
    report("cp-3", 1, "2026-11-16T11:00:00Z", "2026-11-16T12:10:00Z", {
      impressions: 2000,
      clicks: 50,
      conversions: 2,
      spend: 90,
    }),
    // The same hour restated with lower spend: it replaces the first figures.
    report("cp-4", 1, "2026-11-16T11:00:00Z", "2026-11-16T12:20:00Z", {
      impressions: 2000,
      clicks: 50,
      conversions: 2,
      spend: 45,
    }),
  ];

  it("asks for optimization with every reason and the highest priority, and only when off target", async () => {
    const runs = await deliverAll(campaignProcessor, events, "handled");
    expect(runs.map((r) => r.published.map((e) => ({ ...e.data })))).toEqual([
      [],
      [],
      // CPA 190/10 = 19.00 > 1.5 × 12.50 (HIGH); day 90 vs 100 × 0.5 = 50 (×1.8, HIGH); flight 190 vs 1000 × 0.15 = 150 (×1.27, MEDIUM).
      [
        {
          campaignId: "cmp-t1",
          reason:
            "CPA 19.00 exceeds target 12.50; overpacing the day: 90.00 spent vs 50.00 expected by 50% of the day; overpacing the flight: 190.00 spent vs 150.00 expected by 15% of the flight",
          priority: P.PRIORITY_HIGH,
        },
      ],
      // Restated: CPA 145/10 = 14.50 (MEDIUM); day 45/50 = 0.9 and flight 145/150 ≈ 0.97 are within ±20%.
      [
        {
          campaignId: "cmp-t1",
          reason: "CPA 14.50 exceeds target 12.50",
          priority: P.PRIORITY_MEDIUM,
        },
      ],
    ]);
    const view = await read(campaigns.ref(env.firestore, "cmp-t1"));
    expect(view).toMatchObject({
      campaignId: "cmp-t1",
      platform: "PLATFORM_META",
      asOf: "2026-11-16T12:00:00.000Z",
      totals: { impressions: 12_000, clicks: 250, conversions: 10, spend: 145 },
      kpis: { ctr: 250 / 12_000, cpa: 14.5, cpm: (145 / 12_000) * 1000 },
      pacing: {
        date: "2026-11-16",
        day: { status: "on-track", expected: 50, ratio: 0.9 },
        flight: { status: "on-track", expected: 150 },
      },
      lastOptimization: {
        reason: "CPA 14.50 exceeds target 12.50",
        priority: "PRIORITY_MEDIUM",
        at: "2026-11-16T12:20:00Z",
      },
    });
  });

  it("changes nothing and publishes nothing when every event is delivered once more", async () => {
    const before = await read(campaigns.ref(env.firestore, "cmp-t1"));
    const runs = await deliverAll(campaignProcessor, events, "duplicate");
    expect(runs.flatMap((r) => r.published)).toEqual([]);
    expect(await read(campaigns.ref(env.firestore, "cmp-t1"))).toEqual(before);
  });

  it("stores a report that comes before its campaign without judging it", async () => {
    const run = await runHandler(
      campaignProcessor,
      {
        ...report("cp-5", 2, "2026-11-15T00:00:00Z", "2026-11-16T00:00:00Z", {
          impressions: 1,
          clicks: 0,
          conversions: 0,
          spend: 500,
        }),
        data: {
          campaignId: "cmp-early",
          window: 2,
          windowStart: "2026-11-15T00:00:00Z",
          metrics: { spend: 500 },
        },
      },
      { firestore: env.firestore },
    );
    expect(run.published).toEqual([]);
    expect(await read(campaigns.ref(env.firestore, "cmp-early"))).toMatchObject({
      budget: null,
      pacing: null,
      totals: { spend: 500 },
    });
  });

  it("dead-letters a report without a window", async () => {
    const run = await runHandler(
      campaignProcessor,
      {
        id: "cp-6",
        type: "com.eventline.campaign.performance_reported",
        data: { campaignId: "cmp-t1", windowStart: "2026-11-15", metrics: { spend: 1 } },
      },
      { firestore: env.firestore },
    );
    expect(run.outcome).toMatchObject({ result: "dead-lettered", reason: "invalid-report" });
  });
});

describe("campaign-analytics", () => {
  const report = (
    id: string,
    window: 1 | 2,
    windowStart: string,
    m: { impressions: number; clicks: number; conversions: number; spend: number },
  ): EventInput => ({
    id,
    time: "2026-11-17T01:00:00Z",
    type: "com.eventline.campaign.performance_reported",
    data: { campaignId: "cmp-a", window, windowStart, metrics: m },
  });
  const events = [
    report("ca-1", 1, "2026-11-16T10:00:00Z", {
      impressions: 1000,
      clicks: 10,
      conversions: 1,
      spend: 8,
    }),
    report("ca-2", 1, "2026-11-16T11:00:00Z", {
      impressions: 3000,
      clicks: 60,
      conversions: 2,
      spend: 24,
    }),
    report("ca-3", 1, "2026-11-16T10:00:00Z", {
      impressions: 1000,
      clicks: 20,
      conversions: 1,
      spend: 10,
    }),
  ];

  it("rolls hours up into their day, a restated hour replacing the first figures", async () => {
    await deliverAll(campaignAnalytics, events, "handled");
    expect(
      await read(hourlyRollups.ref(env.firestore, rollupId("cmp-a", "2026-11-16T10"))),
    ).toEqual({
      campaignId: "cmp-a",
      hour: "2026-11-16T10:00:00.000Z",
      totals: { impressions: 1000, clicks: 20, conversions: 1, spend: 10 },
      kpis: { ctr: 0.02, cpa: 10, cpm: 10 },
    });
    expect(
      await read(dailyRollups.ref(env.firestore, rollupId("cmp-a", "2026-11-16"))),
    ).toMatchObject({
      source: "hourly-reports",
      totals: { impressions: 4000, clicks: 80, conversions: 3, spend: 34 },
      kpis: { ctr: 0.02, cpa: 34 / 3, cpm: 8.5 },
    });
  });

  it("lets the day's daily report stand for the day, and redelivery changes nothing", async () => {
    await deliverAll(
      campaignAnalytics,
      [
        report("ca-4", 2, "2026-11-16T00:00:00Z", {
          impressions: 50_000,
          clicks: 900,
          conversions: 30,
          spend: 400,
        }),
      ],
      "handled",
    );
    const day = await read(dailyRollups.ref(env.firestore, rollupId("cmp-a", "2026-11-16")));
    expect(day).toMatchObject({
      source: "daily-report",
      totals: { impressions: 50_000, clicks: 900, conversions: 30, spend: 400 },
      kpis: { ctr: 0.018, cpa: 400 / 30, cpm: 8 },
    });
    await deliverAll(
      campaignAnalytics,
      [
        ...events,
        report("ca-4", 2, "2026-11-16T00:00:00Z", {
          impressions: 50_000,
          clicks: 900,
          conversions: 30,
          spend: 400,
        }),
      ],
      "duplicate",
    );
    expect(await read(dailyRollups.ref(env.firestore, rollupId("cmp-a", "2026-11-16")))).toEqual(
      day,
    );
  });
});

describe("creative-analyzer and fatigue-detector", () => {
  const genome = {
    hook: "question",
    promise: "save time",
    frame: "testimonial",
    cta: "try free",
    format: "video",
    durationSeconds: 15,
  };

  it("publishes the creative's unit-length hashed embedding and its attention scores", async () => {
    const run = await runHandler(
      creativeAnalyzer,
      {
        id: "cr-e1",
        type: "com.eventline.creative.submitted",
        data: {
          creativeId: "cr-1",
          campaignId: "cmp-1",
          genome,
          impressions: 5000,
          ctr: 0.031,
          day: 2,
        },
      },
      { firestore: env.firestore },
    );
    expect(run.published).toHaveLength(1);
    const analyzed = run.published[0]!.data as marketing.v1.CreativeAnalyzed;
    // repeated float: the wire carries float32.
    expect(analyzed.embedding).toEqual(hashedEmbedding(genomeTokens(genome)).map(Math.fround));
    expect(Math.hypot(...analyzed.embedding)).toBeCloseTo(1, 6);
    expect(analyzed.attentionScores?.byElement).toEqual({
      hook: 0.7,
      promise: 0.65,
      frame: 0.7,
      cta: 0.7,
    });
    expect(analyzed.attentionScores?.overall).toBeCloseTo(0.6875, 12);
    expect(analyzed).toMatchObject({
      creativeId: "cr-1",
      campaignId: "cmp-1",
      impressions: 5000,
      ctr: 0.031,
      day: 2,
    });
    expect(await read(creatives.ref(env.firestore, "cr-1"))).toMatchObject({
      creativeId: "cr-1",
      latest: { day: 2, ctr: 0.031, impressions: 5000 },
    });
  });

  const observation = (day: number): EventInput => ({
    id: `fd-${day}`,
    time: `2026-11-${String(10 + day).padStart(2, "0")}T09:00:00Z`,
    type: "com.eventline.creative.analyzed",
    data: {
      creativeId: "cr-f",
      campaignId: "cmp-1",
      genome,
      ctr: 0.04 * Math.exp(-0.1 * day),
      impressions: 10_000,
      day,
    },
  });

  it("reports fatigue once, when three days of a 10%-a-day decline cross the 5% threshold", async () => {
    const runs = await deliverAll(fatigueDetector, [0, 1, 2, 3, 4].map(observation), "handled");
    expect(runs.map((r) => r.published.length)).toEqual([0, 0, 1, 0, 0]);
    const detected = runs[2]!.published[0]!.data as marketing.v1.CreativeFatigueDetected;
    expect(detected.creativeId).toBe("cr-f");
    expect(detected.campaignId).toBe("cmp-1");
    expect(detected.decayRate).toBeCloseTo(0.1, 12);
    expect(detected.initialCtr).toBeCloseTo(0.04, 12);
    expect(detected.fatigueScore).toBeCloseTo(1 - Math.exp(-0.2), 12);
    expect(detected.predictedDaysRemaining).toBeCloseTo(Math.log(2) / 0.1 - 2, 9);
    expect(detected.curveStartDay).toBe(0);
    expect(detected.decayCurve).toHaveLength(3);
    detected.decayCurve.forEach((ctr, day) =>
      expect(ctr).toBeCloseTo(0.04 * Math.exp(-0.1 * day), 12),
    );
    const view = await read(creativeFatigue.ref(env.firestore, "cr-f"));
    expect(view).toMatchObject({ fatigued: true, detectedAt: "2026-11-12T09:00:00Z" });
    expect(Object.keys(view!["series"] as object).sort()).toEqual(["0", "1", "2", "3", "4"]);
  });

  it("changes nothing when every observation is delivered once more", async () => {
    const before = await read(creativeFatigue.ref(env.firestore, "cr-f"));
    const runs = await deliverAll(fatigueDetector, [0, 1, 2, 3, 4].map(observation), "duplicate");
    expect(runs.flatMap((r) => r.published)).toEqual([]);
    expect(await read(creativeFatigue.ref(env.firestore, "cr-f"))).toEqual(before);
  });
});

describe("attribution-builder", () => {
  const at = (minute: number) => ({
    seconds: Date.parse("2026-11-20T10:00:00Z") / 1000 + minute * 60,
    nanos: 0,
  });
  const touch = (id: string, userId: string, channel: string, minute: number): EventInput => ({
    id,
    type: "com.eventline.attribution.touchpoint_recorded",
    data: {
      userId,
      touchpoint: { channel, campaign: "cmp-1", creative: "cr-1", timestamp: at(minute) },
      sessionId: `s-${userId}`,
    },
  });
  const convert = (
    id: string,
    userId: string,
    conversionId: string,
    value: number,
    time: string,
  ): EventInput => ({
    id,
    time,
    type: "com.eventline.attribution.conversion_recorded",
    data: { conversionId, userId, value, sessionId: `s-${userId}` },
  });
  // Journeys: a1–a4 search only (a1 converts), b1–b2 social only, c1–c2 social then search (both convert, c2 last).
  const events: EventInput[] = [
    ...["a1", "a2", "a3", "a4"].map((u, i) => touch(`t-${u}`, u, "search", i)),
    ...["b1", "b2"].map((u, i) => touch(`t-${u}`, u, "social", 10 + i)),
    touch("t-c1-1", "c1", "social", 20),
    touch("t-c1-2", "c1", "search", 21),
    touch("t-c2-1", "c2", "social", 30),
    touch("t-c2-2", "c2", "search", 31),
    convert("v-a1", "a1", "conv-a1", 10, "2026-11-20T12:00:00Z"),
    convert("v-c1", "c1", "conv-c1", 20, "2026-11-20T12:01:00Z"),
    convert("v-c2", "c2", "conv-c2", 30, "2026-11-20T12:02:00Z"),
  ];

  it("publishes last-click, linear and Shapley credit for c2's conversion, as computed by hand", async () => {
    const runs = await deliverAll(attributionBuilder, events, "handled");
    const last = runs[runs.length - 1]!.published.map(
      (e) => e.data as marketing.v1.ConversionAttributed,
    );
    // At c2's conversion: {search} 4 journeys 1 conversion, {social} 2/0, {search, social} 2/2.
    // v(search) = 1/4, v(social) = 0, v(both) = 3/8.
    // φ_search = ½·¼ + ½·(⅜ − 0) = 0.3125; φ_social = ½·0 + ½·(⅜ − ¼) = 0.0625; credit = φ/⅜.
    // lift = ⅜ − (v(social) + v(search))/2 = 0.25.
    expect(last.map((a) => a.attributionModel)).toEqual([
      marketing.v1.AttributionModel.ATTRIBUTION_MODEL_LAST_CLICK,
      marketing.v1.AttributionModel.ATTRIBUTION_MODEL_LINEAR,
      marketing.v1.AttributionModel.ATTRIBUTION_MODEL_SHAPLEY,
    ]);
    expect(last.every((a) => a.conversionId === "conv-c2" && a.userId === "c2")).toBe(true);
    expect(last[0]!.creditDistribution).toEqual({ search: 1 });
    expect(last[1]!.creditDistribution).toEqual({ social: 0.5, search: 0.5 });
    expect(last[2]!.creditDistribution["search"]).toBeCloseTo(5 / 6, 14);
    expect(last[2]!.creditDistribution["social"]).toBeCloseTo(1 / 6, 14);
    for (const a of last) expect(a.counterfactualLift).toBeCloseTo(0.25, 14);
    expect(runs[runs.length - 1]!.published.every((e) => e.meta.causationId === "v-c2")).toBe(true);

    expect(await read(channelSets.ref(env.firestore, "search+social"))).toEqual({
      key: "search+social",
      channels: ["search", "social"],
      journeys: 2,
      conversions: 2,
    });
    expect(await read(attributions.ref(env.firestore, "conv-c2"))).toMatchObject({
      channels: ["search", "social"],
      pathValue: 0.375,
      note: null,
    });
    // a1's single channel takes all credit; c1's Shapley (v(both) = 2/8 then) gives search ¼/¼ = 1 and social 0.
    // Shapley value per channel: search 10·1 + 20·1 + 30·⅚ = 55, social 30·⅙ = 5.
    const search = (await read(channelCredits.ref(env.firestore, "search")))!;
    const social = (await read(channelCredits.ref(env.firestore, "social")))!;
    expect(search["conversions"]).toMatchObject({ lastClick: 3, linear: 2 });
    expect(search["conversions"].shapley).toBeCloseTo(1 + 1 + 5 / 6, 12);
    expect(search["value"].shapley).toBeCloseTo(55, 10);
    expect(social["conversions"]).toMatchObject({ lastClick: 0, linear: 1 });
    expect(social["value"].shapley).toBeCloseTo(5, 10);
  });

  it("attributes a conversion once, however many events report it", async () => {
    const run = await runHandler(
      attributionBuilder,
      convert("v-c2-again", "c2", "conv-c2", 30, "2026-11-20T12:05:00Z"),
      { firestore: env.firestore },
    );
    expect(run.outcome).toEqual({ action: "ack", result: "handled" });
    expect(run.published).toEqual([]);
  });

  it("changes no projection when every event is delivered once more", async () => {
    const paths = ["search", "social", "search+social"];
    const snapshot = async () => ({
      sets: await Promise.all(paths.map((p) => read(channelSets.ref(env.firestore, p)))),
      credit: await Promise.all(
        ["search", "social"].map((c) => read(channelCredits.ref(env.firestore, c))),
      ),
      conversions: await Promise.all(
        ["conv-a1", "conv-c1", "conv-c2"].map((c) => read(attributions.ref(env.firestore, c))),
      ),
    });
    const before = await snapshot();
    const runs = await deliverAll(attributionBuilder, events, "duplicate");
    expect(runs.flatMap((r) => r.published)).toEqual([]);
    expect(await snapshot()).toEqual(before);
  });

  it("starts the next journey with touchpoints later than the conversion, and ignores those before it", async () => {
    await deliverAll(
      attributionBuilder,
      [
        touch("t-d1", "d1", "email", 0),
        touch("t-d2", "d1", "display", 200),
        convert("v-d1", "d1", "conv-d1", 5, "2026-11-20T11:00:00Z"),
        touch("t-d3", "d1", "video", 30),
      ],
      "handled",
    );
    expect(await read(attributions.ref(env.firestore, "conv-d1"))).toMatchObject({
      channels: ["email"],
      credit: { lastClick: { email: 1 } },
    });
    // display (12:20) is the next journey's; video (10:30) came in late for an already credited journey.
    expect(await read(channelSets.ref(env.firestore, "display"))).toEqual({
      key: "display",
      channels: ["display"],
      journeys: 1,
      conversions: 0,
    });
    expect(await read(channelSets.ref(env.firestore, "video"))).toBeUndefined();
  });

  it("records a conversion without touchpoints as unattributed and publishes nothing", async () => {
    const run = await runHandler(
      attributionBuilder,
      convert("v-e1", "e1", "conv-e1", 5, "2026-11-20T11:00:00Z"),
      { firestore: env.firestore },
    );
    expect(run.published).toEqual([]);
    expect(await read(attributions.ref(env.firestore, "conv-e1"))).toMatchObject({
      note: "no touchpoints before the conversion: unattributed",
    });
  });

  it("counts a burst of first touchpoints at once, each once, though all move one channel set", async () => {
    const key = documentIdFor(channelSetKey(["burst-channel"]));
    const burst = Array.from({ length: 60 }, (_, i) =>
      touch(`t-burst-${i}`, `burst-user-${i}`, "burst-channel", i),
    );
    const runs = await Promise.all(
      burst.map((event) => runHandler(attributionBuilder, event, { firestore: env.firestore })),
    );
    expect(runs.map((r) => r.outcome.result)).toEqual(burst.map(() => "handled"));
    expect(await read(channelSets.ref(env.firestore, key))).toMatchObject({
      channels: ["burst-channel"],
      journeys: 60,
      conversions: 0,
    });
  });
});
