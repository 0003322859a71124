/**
 * What verify does with a started workload once it answers its probes: a consumer gets one
 * event of each type its handler accepts, through its own subscription (pulled, or pushed by
 * the emulator through the relay that signs each push), and must handle each within the time
 * allowed (a handler needs no state from upstream, except project-indexer, which handles its
 * command on a redelivery once search-projects, started in the same run, has indexed the
 * document); the gateway takes one event of each type producers post and a share, and
 * each must arrive on its topic; the tracker answers the pixel and the click, and each hit must
 * arrive on the funnel's topic.
 *
 * An outcome is read where the runtime leaves it: the consumer's processed record (or, for an
 * archiver, the stored event), its parking subscription for a dead letter, its /metrics for a
 * nack.
 */
import { randomUUID } from "node:crypto";
import type { Firestore } from "@google-cloud/firestore";
import type { Message, PubSub, Subscription } from "@google-cloud/pubsub";
import type { EventTypes, EventType } from "../../handlers/runtime/event-types";
import { EventCodec } from "../../handlers/runtime/codec";
import { EVENTS_COLLECTION } from "../../handlers/runtime/event-store";
import { compileFilter } from "../../infra/model/filter";
import { toProto3Json } from "../../handlers/runtime/proto-json";
import { eventKey, processedRef } from "../../handlers/runtime/idempotency";
import { SHARE_REQUESTED } from "../../handlers/gateway/shares";
import { TRACKER_EVENT_TYPES } from "../../infra/model/services";
import type { ResolvedConsumer, ResolvedProducer } from "../../infra/model/types";
import { samplePayloads, samplesOf } from "../samples/events";

/** How long one event may take to reach its outcome, in seconds. */
export const OUTCOME_TIMEOUT_SECONDS = 30;

/** The CloudEvents source of verify's events. */
export const VERIFY_SOURCE = "//eventline/verify";

/** One event or request and what became of it. */
export interface ExerciseCheck {
  /** The event type, or the request (`POST /v1/shares`). */
  what: string;
  expected: string;
  /** What happened: handled, dead-lettered (reason), retried, 202 and arrived, … */
  outcome: string;
  passed: boolean;
}

interface Clients {
  pubsub: PubSub;
  /** The workload's own Firestore database. */
  firestore: Firestore;
}

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every 200 ms until it returns a value, for at most `seconds`. */
async function until<T>(
  seconds: number,
  check: () => Promise<T | undefined>,
): Promise<T | undefined> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const found = await check();
    if (found !== undefined || Date.now() > deadline) return found;
    await wait(200);
  }
}

/** The payload of `type` a consumer's filter lets through, or undefined when none of the samples passes it. */
function sampleFor(
  codec: EventCodec,
  consumer: ResolvedConsumer,
  type: EventType,
): object | undefined {
  const passes = consumer.filter === undefined ? () => true : compileFilter(consumer.filter);
  return samplesOf(type).find((payload) =>
    passes(codec.encode(type, payload, { source: VERIFY_SOURCE, id: "probe" }).attributes),
  );
}

/** What arrives on a subscription, acked and kept until matched. */
export class Collector {
  private readonly seen: Record<string, string>[] = [];

  constructor(
    private readonly subscription: Subscription,
    private readonly owned: boolean,
  ) {
    subscription.on("message", (message: Message) => {
      message.ack();
      this.seen.push(message.attributes);
    });
    // A subscription that goes away mid-run is a finding of the workload's checks, not a crash here.
    subscription.on("error", () => undefined);
  }

  /** The attributes of a message that `match`es, waiting for it up to `seconds`; undefined after. */
  async waitFor(
    match: (attributes: Record<string, string>) => boolean,
    seconds: number,
  ): Promise<Record<string, string> | undefined> {
    return until(seconds, async () => this.seen.find(match));
  }

  /** Stops listening; deletes the subscription when verify made it. */
  async close(): Promise<void> {
    await this.subscription.close().catch(() => undefined);
    if (this.owned) await this.subscription.delete().catch(() => undefined);
  }
}

/** A subscription of verify's own on `topic`, to see what a workload published there. */
async function collectorOn(pubsub: PubSub, topic: string): Promise<Collector> {
  const [subscription] = await pubsub
    .topic(topic)
    .createSubscription(`verify-${topic}-${randomUUID().slice(0, 8)}`);
  return new Collector(subscription, true);
}

/** The nacks /metrics counts for `consumer` and `type`. */
async function nacks(port: number, consumer: string, type: string): Promise<number> {
  try {
    const text = await (
      await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) })
    ).text();
    const line = text
      .split("\n")
      .find(
        (row) =>
          row.startsWith("eventline_messages_nacked_total{") &&
          row.includes(`consumer="${consumer}"`) &&
          row.includes(`type="${type}"`),
      );
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
  } catch {
    return 0;
  }
}

/**
 * Publishes one event of each type `consumer` accepts to its topic and waits for each outcome.
 * @param port the workload's local port (its /metrics).
 */
export async function exerciseConsumer(
  consumer: ResolvedConsumer,
  eventTypes: EventTypes,
  clients: Clients,
  port: number,
  runId: string,
): Promise<ExerciseCheck[]> {
  const codec = new EventCodec(eventTypes);
  const checks: ExerciseCheck[] = [];
  const parking = new Collector(clients.pubsub.subscription(consumer.parkingSubscription), false);
  for (const [index, type] of (consumer.contract.accepts as EventType[]).entries()) {
    const payload = sampleFor(codec, consumer, type);
    if (payload === undefined) {
      checks.push({
        what: type,
        expected: "handled",
        outcome: `no sample passes the filter ${consumer.filter}: add a variant to tools/samples/events.ts`,
        passed: false,
      });
      continue;
    }
    const id = `verify-${runId}-${consumer.name}-${index}`;
    const message = codec.encode(type, payload, { source: VERIFY_SOURCE, id });
    await clients.pubsub
      .topic(consumer.topic, { messageOrdering: message.orderingKey !== undefined })
      .publishMessage(message);
    // A nack is not the end: a handler may be waiting for state another workload writes while
    // verify runs (project-indexer for the document search-projects indexes), and Pub/Sub
    // redelivers. Only an event still unhandled when the time is up counts as retried.
    let retried = false;
    const outcome = await until(OUTCOME_TIMEOUT_SECONDS, async () => {
      const stored = consumer.builtIn
        ? await clients.firestore
            .collection(EVENTS_COLLECTION)
            .doc(eventKey({ source: VERIFY_SOURCE, id }))
            .get()
        : await processedRef(clients.firestore, consumer.name, { source: VERIFY_SOURCE, id }).get();
      if (stored.exists) return "handled";
      const parked = await parking.waitFor((attributes) => attributes["ce-id"] === id, 0);
      if (parked !== undefined)
        return `dead-lettered (${parked["eventline-reason"] ?? "no reason"}: ${parked["eventline-error"] ?? ""})`;
      retried ||= (await nacks(port, consumer.name, type)) > 0;
      return undefined;
    });
    checks.push({
      what: type,
      expected: "handled",
      outcome:
        outcome ??
        (retried
          ? `retried, and not handled within ${OUTCOME_TIMEOUT_SECONDS} s`
          : `no outcome within ${OUTCOME_TIMEOUT_SECONDS} s`),
      passed: outcome === "handled",
    });
  }
  await parking.close();
  return checks;
}

/** A sample payload as the gateway takes it: the proto3 JSON of its message. */
function proto3JsonOf(
  eventTypes: EventTypes,
  type: EventType,
  payload: object,
): Record<string, unknown> {
  const { message } = eventTypes.get(type);
  return toProto3Json(message, message.fromObject(payload as Record<string, unknown>));
}

/** The types producers post to the gateway's /v1/events. */
function postedTypes(eventTypes: EventTypes): EventType[] {
  return eventTypes
    .all()
    .filter((entry) =>
      eventTypes.system.producers.some((producer) => producer.publishes.includes(entry.type)),
    )
    .map((entry) => entry.type as EventType);
}

/** Posts one event of each type producers post, and one share, and checks each arrives on its topic. */
export async function exerciseGateway(
  eventTypes: EventTypes,
  pubsub: PubSub,
  port: number,
  runId: string,
  /** A producer's ID token, as the cloud would issue it for the gateway's audience. */
  tokenFor: (producer: ResolvedProducer) => Promise<string>,
): Promise<ExerciseCheck[]> {
  const types = postedTypes(eventTypes);
  const { producers } = eventTypes.system;
  // Shares arrive through /v1/shares only, but on their topic like any posted event.
  const topics = [
    ...new Set([...types, SHARE_REQUESTED as EventType].map((type) => eventTypes.get(type).topic)),
  ];
  const collectors = new Map(
    await Promise.all(
      topics.map(async (topic) => [topic, await collectorOn(pubsub, topic)] as const),
    ),
  );
  const base = `http://127.0.0.1:${port}`;
  const checks: ExerciseCheck[] = [];
  // As deployed, the gateway checks tokens itself: a request without one is refused.
  const anonymous = await fetch(`${base}/v1/events`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "ce-specversion": "1.0",
      "ce-id": `verify-${runId}-anonymous`,
      "ce-type": types[0]!,
      "ce-source": producers.find((p) => p.publishes.includes(types[0]!))!.sources[0]!,
    },
    body: "{}",
  });
  checks.push({
    what: "POST /v1/events without a token",
    expected: "401",
    outcome: String(anonymous.status),
    passed: anonymous.status === 401,
  });
  for (const [index, type] of types.entries()) {
    const id = `verify-${runId}-gateway-${index}`;
    // Posted as the producer the declaration lets post it, from its own source.
    const producer = producers.find((p) => p.publishes.includes(type))!;
    const response = await fetch(`${base}/v1/events`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${await tokenFor(producer)}`,
        "content-type": "application/json",
        "ce-specversion": "1.0",
        "ce-type": type,
        "ce-source": producer.sources[0]!,
        "ce-id": id,
      },
      body: JSON.stringify(proto3JsonOf(eventTypes, type, samplePayloads[type] as object)),
    });
    const answer =
      `${response.status} ${response.status >= 400 ? ((await response.json()) as { error?: string }).error : ""}`.trim();
    const arrived =
      response.status === 202 &&
      (await collectors
        .get(eventTypes.get(type).topic)!
        .waitFor((attributes) => attributes["ce-id"] === id, OUTCOME_TIMEOUT_SECONDS)) !==
        undefined;
    checks.push({
      what: `POST /v1/events ${type}`,
      expected: "202, arrived on its topic",
      outcome: arrived ? "202, arrived on its topic" : answer,
      passed: arrived,
    });
  }
  const share = {
    senderUserId: "user-verify",
    cardId: "card-verify",
    recipients: [{ channel: "email", recipient: "ana@example.com" }],
  };
  const sharing = producers.find((p) => p.shares);
  const response = await fetch(`${base}/v1/shares`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(sharing !== undefined && { authorization: `Bearer ${await tokenFor(sharing)}` }),
    },
    body: JSON.stringify(share),
  });
  const accepted =
    response.status === 202
      ? ((await response.json()) as { invitations: { eventId: string }[] })
      : undefined;
  const shared = collectors.get(eventTypes.get(SHARE_REQUESTED as EventType).topic);
  const arrived =
    accepted !== undefined &&
    shared !== undefined &&
    (await shared.waitFor(
      (attributes) => attributes["ce-id"] === accepted.invitations[0]?.eventId,
      OUTCOME_TIMEOUT_SECONDS,
    )) !== undefined;
  checks.push({
    what: "POST /v1/shares",
    expected: "202, arrived on its topic",
    outcome: arrived ? "202, arrived on its topic" : `${response.status}`,
    passed: arrived,
  });
  await Promise.all([...collectors.values()].map((collector) => collector.close()));
  return checks;
}

/** Loads the pixel and follows the click of one invitation, and checks both hits arrive on the funnel's topic. */
export async function exerciseTracker(
  eventTypes: EventTypes,
  pubsub: PubSub,
  port: number,
  env: Readonly<Record<string, string>>,
  runId: string,
): Promise<ExerciseCheck[]> {
  const collector = await collectorOn(pubsub, eventTypes.get(TRACKER_EVENT_TYPES[0]).topic);
  const base = `http://127.0.0.1:${port}`;
  const invitation = `inv-verify-${runId}`;
  const card = `${(env["EVENTLINE_CARD_BASE_URL"] ?? "").replace(/\/+$/, "")}/cards/card-verify`;
  const hits = [
    {
      what: "GET /t/open/:id",
      url: `${base}/t/open/${invitation}`,
      status: 200,
      type: TRACKER_EVENT_TYPES[0],
    },
    {
      what: "GET /t/click/:id",
      url: `${base}/t/click/${invitation}?to=${encodeURIComponent(card)}`,
      status: 302,
      type: TRACKER_EVENT_TYPES[1],
    },
  ];
  const checks: ExerciseCheck[] = [];
  for (const hit of hits) {
    const response = await fetch(hit.url, { redirect: "manual" });
    const arrived =
      response.status === hit.status &&
      (await collector.waitFor(
        (attributes) =>
          attributes["ce-type"] === hit.type && attributes["ce-subject"] === invitation,
        OUTCOME_TIMEOUT_SECONDS,
      )) !== undefined;
    checks.push({
      what: hit.what,
      expected: `${hit.status}, ${hit.type} arrived on its topic`,
      outcome: arrived ? `${hit.status}, arrived on its topic` : `${response.status}`,
      passed: arrived,
    });
  }
  await collector.close();
  return checks;
}
