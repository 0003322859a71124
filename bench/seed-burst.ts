/**
 * Benchmark 5, the seed burst: 1 000 viral shares (docs/requirements.md, VS-3) posted at
 * once to POST /v1/shares, one recipient each, channels in turn email, sms, whatsapp, on the whole
 * local environment (`npm start`: gateway, the real channel workers with their local-mode
 * adapters, funnel projector, archivers). Timed from the first request until every
 * completion event (com.eventline.share.completed) is in the event store (`events/`), polled
 * every 250 ms. The baseline is the hand-written stack: a bare server publishing one message
 * per recipient, the hand-written consumer writing one completion document per message.
 * Then, for Eventline, until the funnel (funnel-cards) has counted every completion as sent:
 * exactly once, none lost to the burst: transactions that read a card's counts would time out
 * on its lock and dead-letter completions (bench/README.md, "What bounds the seed burst").
 */
import { AggregateField, type Firestore, type Timestamp } from "@google-cloud/firestore";
import { EVENTS_COLLECTION } from "../handlers/runtime/event-store";
import { PROJECTIONS_COLLECTION } from "../handlers/runtime/projections";
import { cardFunnels } from "../handlers/viral/funnel-projector";
import { APPLIED_COLLECTION } from "./support/bench-handlers";
import { startChild } from "./support/children";
import { begin, complete, inProject, interleaved, type BenchContext } from "./support/context";
import { startConsumer } from "./support/consumer-run";
import { WORKER_CONSUMER } from "./support/events";
import { startGatewayChild } from "./support/gateways";
import { openLoop, type LoadRequest } from "./support/http-load";
import type { BenchResult } from "./support/report";
import { formatSpread, ratio, round, spread } from "./support/stats";

const CHANNELS = ["email", "sms", "whatsapp"] as const;

interface BurstRun {
  shares: number;
  accepted: number;
  /** From the first request sent to the last answer. */
  acceptMs: number;
  /** From the first request sent until every completion is stored. */
  completeMs: number;
  completed: number;
  failed: number;
  /** Eventline only: invitations the funnel counted as sent, summed over its cards. */
  funnelSent?: number;
  /**
   * Eventline only: when each stage had done its last share, in ms from the first request: each
   * channel worker (the time of its last share.completed), and the funnel (the last update of a
   * card's counts).
   */
  stagesDoneMs?: Record<string, number>;
}

/**
 * Share `i`: a sender of its own (1 000 users sharing once; one sender sharing 1 000 times
 * makes every funnel-projector transaction contend for that sender's document), one of 50
 * cards, one recipient.
 */
function share(i: number): LoadRequest {
  const channel = CHANNELS[i % CHANNELS.length]!;
  const recipient =
    channel === "email" ? `friend-${i}@example.com` : `+1555${String(1_000_000 + i).slice(1)}`;
  return {
    id: String(i),
    path: "/v1/shares",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      senderUserId: `bench-sender-${i}`,
      cardId: `card-${i % 50}`,
      recipients: [{ channel, recipient }],
      shareMetadata: { sender_name: "Bench" },
    }),
  };
}

async function countWhere(
  firestore: Firestore,
  collection: string,
  type?: string,
): Promise<number> {
  const base = firestore.collection(collection);
  const snapshot = await (type === undefined ? base : base.where("type", "==", type)).count().get();
  return snapshot.data().count;
}

/** Invitations counted as sent by the funnel-projector, summed over every card. */
async function funnelSent(firestore: Firestore): Promise<number> {
  const cards = firestore
    .collection(PROJECTIONS_COLLECTION)
    .doc(cardFunnels.name)
    .collection("items");
  return (await cards.aggregate({ sent: AggregateField.sum("sent") }).get()).data().sent;
}

/** When each stage of the Eventline path did its last share (BurstRun.stagesDoneMs), from `startedAt` (epoch ms). */
async function stagesDone(
  firestore: Firestore,
  startedAt: number,
): Promise<Record<string, number>> {
  const done: Record<string, number> = {};
  const completions = await firestore
    .collection(EVENTS_COLLECTION)
    .where("type", "==", "com.eventline.share.completed")
    .select("time", "payload.channel")
    .get();
  for (const doc of completions.docs) {
    const channel = String(doc.get("payload.channel"));
    const at = (doc.get("time") as Timestamp).toMillis() - startedAt;
    done[channel] = Math.max(done[channel] ?? 0, at);
  }
  const cards = await firestore
    .collection(PROJECTIONS_COLLECTION)
    .doc(cardFunnels.name)
    .collection("items")
    .get();
  for (const doc of cards.docs)
    done["funnel"] = Math.max(done["funnel"] ?? 0, doc.updateTime.toMillis() - startedAt);
  return Object.fromEntries(
    [...CHANNELS, "funnel"].map((stage) => [stage, Math.round(done[stage] ?? NaN)]),
  );
}

/** Polls `count` every 250 ms until it reaches `target` or `deadline` (a performance.now() time) passes; returns its last value. */
async function pollUntil(
  count: () => Promise<number>,
  target: number,
  deadline: number,
): Promise<number> {
  let reached = await count();
  while (reached < target && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    reached = await count();
  }
  return reached;
}

/** Posts the burst and polls `count` until it reaches the accepted shares or `timeoutMs` passes. */
async function burst(
  url: string,
  shares: number,
  count: () => Promise<number>,
  timeoutMs: number,
): Promise<Omit<BurstRun, "failed">> {
  const started = performance.now();
  const load = await openLoop(url, shares, Infinity, share, 120_000);
  const acceptMs = performance.now() - started;
  const completed = await pollUntil(count, load.accepted.length, started + timeoutMs);
  return {
    shares,
    accepted: load.accepted.length,
    acceptMs: round(acceptMs, 0),
    completeMs: round(performance.now() - started, 0),
    completed,
  };
}

async function eventlinePass(
  ctx: BenchContext,
  shares: number,
  timeoutMs: number,
): Promise<BurstRun> {
  // npm start's ~40 subscribers and their documents grow the emulators' memory fast: each pass starts on fresh ones.
  await ctx.emulators.recycle();
  return inProject(ctx, "burst", async (project) => {
    const environment = startChild({
      name: "npm start",
      script: "bench/support/local-environment.ts",
      env: project.env({ PORT: "0" }),
    });
    try {
      const { url } = (await environment.ready) as { url: string };
      const startedAt = Date.now();
      const run = await burst(
        url,
        shares,
        () => countWhere(project.firestore, EVENTS_COLLECTION, "com.eventline.share.completed"),
        timeoutMs,
      );
      const funnel = await pollUntil(
        () => funnelSent(project.firestore),
        run.completed,
        performance.now() + 60_000,
      );
      return {
        ...run,
        failed: await countWhere(
          project.firestore,
          EVENTS_COLLECTION,
          "com.eventline.share.failed",
        ),
        funnelSent: funnel,
        stagesDoneMs: await stagesDone(project.firestore, startedAt),
      };
    } finally {
      await environment.stop();
    }
  });
}

async function baselinePass(
  ctx: BenchContext,
  shares: number,
  timeoutMs: number,
): Promise<BurstRun> {
  await ctx.emulators.recycle();
  return inProject(ctx, "burst", async (project) => {
    await project.provision([WORKER_CONSUMER]);
    const { worker } = startConsumer(project, { kind: "baseline" });
    const gateway = await startGatewayChild(project, "baseline");
    try {
      await worker.ready;
      const run = await burst(
        gateway.url,
        shares,
        () => countWhere(project.firestore, APPLIED_COLLECTION),
        timeoutMs,
      );
      return { ...run, failed: 0 };
    } finally {
      await Promise.all([worker.stop(), gateway.child.stop()]);
    }
  });
}

export async function seedBurstBenchmark(ctx: BenchContext): Promise<BenchResult> {
  const started = begin();
  const shares = ctx.smoke ? 60 : 1000;
  const timeoutMs = ctx.smoke ? 60_000 : 300_000;
  ctx.say(
    `seed-burst: ${ctx.runs} × (baseline, Eventline on npm start) with ${shares} shares at once…`,
  );
  const runs = await interleaved(
    ctx.runs,
    () => baselinePass(ctx, shares, timeoutMs),
    () => eventlinePass(ctx, shares, timeoutMs),
  );
  const base = spread(
    runs.baseline.map((r) => r.completeMs),
    0,
  );
  const ours = spread(
    runs.candidate.map((r) => r.completeMs),
    0,
  );
  const row = (label: string, list: BurstRun[], ratioText: string): (string | number)[] => [
    label,
    formatSpread(
      spread(
        list.map((r) => r.accepted),
        0,
      ),
    ),
    formatSpread(
      spread(
        list.map((r) => r.acceptMs),
        0,
      ),
    ),
    formatSpread(
      spread(
        list.map((r) => r.completeMs),
        0,
      ),
    ),
    ratioText,
    formatSpread(
      spread(
        list.map((r) => r.completed),
        0,
      ),
    ),
    list.every((r) => r.funnelSent !== undefined)
      ? formatSpread(
          spread(
            list.map((r) => r.funnelSent!),
            0,
          ),
        )
      : "",
    Math.max(...list.map((r) => r.failed)),
    list.every((r) => r.stagesDoneMs !== undefined)
      ? [...CHANNELS, "funnel"]
          .map(
            (stage) =>
              spread(
                list.map((r) => r.stagesDoneMs![stage]!),
                0,
              ).median,
          )
          .join(" / ")
      : "",
  ];
  const incomplete = Math.max(...runs.candidate.map((r) => r.accepted - r.completed));
  const funnelOff = runs.candidate.map((r) => (r.funnelSent ?? 0) - r.completed);
  return complete(ctx, started, {
    benchmark: "seed-burst",
    title: `Seed burst: ${shares} viral shares posted at once, until every completion event is stored`,
    settings: { shares, runs: ctx.runs, channels: CHANNELS, pollEveryMs: 250 },
    table: {
      columns: [
        "stack",
        "accepted",
        "all answered ms",
        "all completed ms",
        "× baseline",
        "completions stored",
        "funnel: sent",
        "share.failed",
        "last done ms: email / sms / whatsapp / funnel (median)",
      ],
      rows: [
        row("baseline: bare server → raw pull → create", runs.baseline, "1.00"),
        row(
          "Eventline npm start: gateway → channel workers → funnel → event store",
          runs.candidate,
          ratio(ours.median, base.median).toFixed(2),
        ),
      ],
    },
    targets: [
      {
        target: "every accepted share completed and stored",
        measured: `${incomplete} missing (most in any run)`,
        met: incomplete === 0,
        correctness: true,
      },
      {
        target: "the funnel counted every completion as sent, once (within 60 s of the last)",
        measured: `funnel sent − completions stored: ${funnelOff.join(", ")} (each run)`,
        met: funnelOff.every((off) => off === 0),
        correctness: true,
      },
    ],
    notes: [
      "Eventline's path per share: gateway → viral-shares → channel worker (email pulled; sms and whatsapp pushed by the emulator) → adapter writes outbound/ → share.completed via the outbox → viral-funnel → archiver → events/.",
      "Last done: from the first request to the time of each channel worker's last share.completed, and to the last update of a card's funnel counts; the rest of \"all completed\" is the archive storing the completions.",
      "The baseline's path per share: bare server → viral-shares → hand-written pull → one create: far less work, the floor of the same burst.",
      'Eventline\'s burst is some 6 000 deliveries and 3 000 Firestore transactions on 2 cores; the Firestore emulator takes most of one (bench/README.md, "What bounds the seed burst").',
    ],
    runs: [
      ...runs.baseline.map((r) => ({ stack: "baseline", ...r })),
      ...runs.candidate.map((r) => ({ stack: "eventline", ...r })),
    ],
  });
}
