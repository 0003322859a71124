/**
 * A consumer's filter, or its ordering (on to off), changed under a live backlog, on the
 * emulators, with the real runtime: the
 * migration's procedure (infra/gcp/subscription-migration.ts) loses nothing and applies nothing
 * twice. The consumer keeps its name, so its processed records carry over from its old
 * subscription to its new one.
 *
 *   1. a backlog waits in the old subscription, events keep arriving;
 *   2. the new subscription is created beside it (filter email or sms; or unordered) and takes
 *      over the old one's backlog (on the emulator that copies nothing: see the module's comment);
 *   3. workers run on the new subscription while the old one's keep draining it;
 *   4. the old one's workers stop once they get nothing more, and it is retired, which is refused
 *      while it still delivers anything (a probe that finds a message gives it back).
 *
 * The two subscriptions' names stand for what two declarations would name them; the program does
 * not yet derive a new name from a changed filter (README, "Changing a deployed system"). Turning
 * ordering on is refused before anything changes (subscription-migration.test.ts).
 */
import pino from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { eventTypesFor } from "../../handlers/declared";
import { DeliveryProcessor } from "../../handlers/runtime/delivery";
import { RuntimeMetrics } from "../../handlers/runtime/metrics";
import { PullHost } from "../../handlers/runtime/pull-host";
import { PubSubPublisher } from "../../handlers/runtime/publisher";
import { OutsideCalls } from "../../handlers/runtime/resilience";
import {
  MigrationRefused,
  quietWindowSeconds,
  retireSubscription,
  takeOverBacklog,
} from "../../infra/gcp/subscription-migration";
import type { ResolvedConsumer } from "../../infra/model/types";
import { subscriptionMetadata } from "../../tools/local/provision";
import { useEmulators } from "../support/emulators";
import { publishRaw, shareRequested, waitFor } from "../support/pubsub";
import { applied, testEmailSender } from "../support/test-handlers";

const emulators = useEmulators();
const eventTypes = eventTypesFor("local");
const declared = eventTypes.system.consumers.find((c) => c.name === "email-worker")!;
const logger = pino({ level: "silent" });

/**
 * Short ack deadline and backoff: retiring waits for both to pass with nothing delivered (a nacked
 * message is invisible for its backoff), which the declared 600 s would make a long test.
 */
const quick = {
  ackDeadlineSeconds: 10,
  retry: { minBackoffSeconds: 0.1, maxBackoffSeconds: 0.5 },
};
const EMAIL = 'attributes.ce-channel = "email"';

/** The changes tested: the consumer as deployed, and as declared now; whether sms events now count. */
const changes = [
  {
    change: "its filter",
    before: { filter: EMAIL, ordering: false },
    after: { filter: `${EMAIL} OR attributes.ce-channel = "sms"`, ordering: false },
    takesSms: true,
  },
  {
    change: "its ordering, on to off",
    before: { filter: EMAIL, ordering: true },
    after: { filter: EMAIL, ordering: false },
    takesSms: false,
  },
];

/** Every host's metrics, to see when one has gone quiet and that nothing was dead-lettered. */
const allMetrics: RuntimeMetrics[] = [];

async function total(metric: { get(): Promise<{ values: { value: number }[] }> }): Promise<number> {
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}

/** Resolves once `metrics` has received nothing for `seconds`. */
async function quietFor(metrics: RuntimeMetrics, seconds: number): Promise<void> {
  let last = await total(metrics.received);
  let since = Date.now();
  while (Date.now() - since < seconds * 1000) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const now = await total(metrics.received);
    if (now !== last) [last, since] = [now, Date.now()];
  }
}

function hostFor(consumer: ResolvedConsumer): { host: PullHost; metrics: RuntimeMetrics } {
  const metrics = new RuntimeMetrics();
  allMetrics.push(metrics);
  const processor = new DeliveryProcessor({
    consumer,
    handler: testEmailSender,
    eventTypes,
    firestore: emulators.firestore,
    publisher: new PubSubPublisher(emulators.pubsub, eventTypes, metrics),
    metrics,
    logger,
    outsideCalls: new OutsideCalls(logger),
  });
  const host = new PullHost({
    processor,
    pubsub: emulators.pubsub,
    logger,
    maxMessages: 5,
    drainTimeoutMs: 5_000,
  });
  return { host, metrics };
}

async function subscribe(consumer: ResolvedConsumer): Promise<void> {
  await emulators.pubsub.createSubscription(
    consumer.topic,
    consumer.subscription,
    subscriptionMetadata(emulators.pubsub, consumer),
  );
}

const appliedCount = async (id: string): Promise<number> =>
  (await applied.ref(emulators.firestore, id).get()).data()?.count ?? 0;

beforeAll(async () => {
  await Promise.all(
    [declared.topic, declared.deadLetterTopic, "viral-funnel"].map((t) =>
      emulators.pubsub.createTopic(t),
    ),
  );
});

describe.each(changes.map((c, i) => ({ ...c, i })))(
  "changing a consumer's $change under a live backlog",
  ({ before: was, after: now, takesSms, i }) => {
    const before: ResolvedConsumer = {
      ...declared,
      ...quick,
      ...was,
      subscription: `email-worker-${i}-gen1`,
    };
    const after: ResolvedConsumer = {
      ...declared,
      ...quick,
      ...now,
      subscription: `email-worker-${i}-gen2`,
    };

    it("loses no event and applies none twice", async () => {
      const { pubsub } = emulators;
      await subscribe(before);

      // 1. A backlog the old subscription holds, with no worker running.
      const backlog = Array.from({ length: 20 }, () => shareRequested());
      await publishRaw(pubsub, backlog);
      let old = hostFor(before);
      old.host.start();

      // Events keep arriving throughout: email before the change, email and sms after.
      let changed = false;
      const arriving: { id: string; channel: string; afterChange: boolean }[] = [];
      let publishing = true;
      const publisher = (async () => {
        for (let i = 0; publishing && i < 200; i++) {
          const channel = changed && i % 2 === 0 ? "sms" : "email";
          const message = shareRequested({}, { channel });
          arriving.push({ id: message.attributes["ce-id"]!, channel, afterChange: changed });
          await publishRaw(pubsub, [message]);
          await new Promise((resolve) => setTimeout(resolve, 15));
        }
      })();
      await waitFor(() => arriving.length >= 5, "events arriving before the change");

      // 2. The new subscription beside the old one, taking over its backlog.
      await subscribe(after);
      changed = true;
      await takeOverBacklog(pubsub, { from: before.subscription, to: after.subscription });

      // 3. Workers on the new subscription; the old one's keep draining it while events arrive.
      const next = hostFor(after);
      next.host.start();
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      publishing = false;
      await publisher;

      // 4. The old workers stop once they get nothing more (a worker's own view of "drained"), and
      //    the old subscription is retired, which is refused while it still delivers anything.
      const window = await quietWindowSeconds(pubsub, before.subscription);
      for (;;) {
        await quietFor(old.metrics, window);
        await old.host.stop();
        try {
          await retireSubscription(pubsub, before.subscription);
          break;
        } catch (err) {
          if (!(err instanceof MigrationRefused)) throw err;
          old = hostFor(before);
          old.host.start();
        }
      }
      expect((await pubsub.subscription(before.subscription).exists())[0]).toBe(false);

      const expected = [
        ...backlog.map((m) => m.attributes["ce-id"]!),
        ...arriving
          .filter((e) => e.channel === "email" || (takesSms && e.afterChange))
          .map((e) => e.id),
      ];
      expect(arriving.some((e) => e.channel === "sms")).toBe(true);
      expect(arriving.filter((e) => !e.afterChange).length).toBeGreaterThanOrEqual(5);
      // Waits for every event; a lost one shows in the counts below, not as a timeout.
      await waitFor(
        async () => (await Promise.all(expected.map(appliedCount))).every((count) => count >= 1),
        "every event expected to be applied",
        60_000,
      ).catch(() => undefined);
      await next.host.stop();
      // Nothing was set aside as a dead letter: each event was handled, not parked.
      const deadLettered = await Promise.all(allMetrics.map((m) => total(m.deadLettered)));
      expect(deadLettered.reduce((sum, n) => sum + n, 0)).toBe(0);
      const counts = await Promise.all(expected.map(appliedCount));
      const lost = counts.filter((count) => count === 0).length;
      if (lost > 0) {
        const missing = new Set(expected.filter((_, i) => counts[i] === 0));
        console.error("not applied:", [
          ...backlog.filter((m) => missing.has(m.attributes["ce-id"]!)).map(() => "backlog"),
          ...arriving
            .filter((e) => missing.has(e.id))
            .map((e) => `${e.channel} ${e.afterChange ? "after" : "before"}`),
        ]);
      }
      const twice = counts.filter((count) => count > 1).length;
      expect({ lost, twice, applied: counts.length }).toEqual({
        lost: 0,
        twice: 0,
        applied: expected.length,
      });
    }, 180_000);
  },
);
