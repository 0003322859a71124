/**
 * A consumer's filter, or its ordering (on to off), changed under a live backlog, on the
 * emulators, with the real runtime, in the order a deploy runs the migration the program declares
 * (infra/gcp/consumer-subscription.ts, infra/gcp/subscription-migration.ts): it loses nothing and
 * applies nothing twice. The consumer keeps its name, so its processed records carry over from
 * its old subscription to its new one.
 *
 *   1. a backlog waits in the old subscription, its worker runs, events keep arriving;
 *   2. the new subscription, under the name the changed declaration derives, is created beside it
 *      (Pulumi's replace, created first; the old one is retained);
 *   3. the take-over's update (its olds name the old subscription) gives it the old one's backlog
 *      (on the emulator that copies nothing: see the module's comment);
 *   4. the workers move: a worker started as the Deployment's new pod is, with SUBSCRIPTION and
 *      DRAINING_SUBSCRIPTION from the take-over's output, then the old one stops;
 *   5. the retirement's update, while events still arrive, waits until the old subscription has
 *      delivered none of its own backlog for its quiet window, and deletes it; the worker stops
 *      draining it once it is gone.
 *
 * Turning ordering on is refused before anything changes (subscription-migration.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capabilityChecks } from "../../handlers/adapters/environment";
import { eventTypesFor } from "../../handlers/declared";
import { launch, type RunningRuntime } from "../../handlers/runtime/launcher";
import { createLogger } from "../../handlers/runtime/logger";
import {
  subscriptionRetirementProvider,
  subscriptionTakeOverProvider,
} from "../../infra/gcp/subscription-migration";
import { subscriptionName } from "../../infra/model/resolve";
import type { ResolvedConsumer, SystemSpec } from "../../infra/model/types";
import { system } from "../../infra/system";
import { subscriptionMetadata } from "../../tools/local/provision";
import { useEmulators } from "../support/emulators";
import { publishRaw, shareRequested, waitFor } from "../support/pubsub";
import { applied, testRegistry } from "../support/test-handlers";

const emulators = useEmulators();
const declared = eventTypesFor("local").system.consumers.find((c) => c.name === "email-worker")!;

/**
 * Short ack deadline and backoff on the subscriptions: retiring waits for both to pass with
 * nothing of the old backlog delivered (a nacked message is invisible for its backoff), which the
 * declared 600 s would make a long test.
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

/** The consumer as a declaration with `settings` resolves it: its subscription named after them. */
function declaredWith(settings: { filter: string; ordering: boolean }): ResolvedConsumer {
  return {
    ...declared,
    ...quick,
    ...settings,
    subscription: subscriptionName(declared.name, { topic: declared.topic, ...settings }),
  };
}

/** Every worker started, to see that nothing was dead-lettered. */
const workers: RunningRuntime[] = [];

async function total(metric: { get(): Promise<{ values: { value: number }[] }> }): Promise<number> {
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}

/**
 * A worker pod of the consumer, from an image whose declaration gives it `filter` (the runtime
 * applies it too, since the emulator does not; ordering is the subscription's alone), with the
 * subscriptions its Deployment gives it.
 */
async function worker(
  filter: string,
  subscriptions: Record<string, string>,
): Promise<RunningRuntime> {
  const spec: SystemSpec = system;
  const running = await launch({
    system: {
      ...spec,
      consumers: {
        ...spec.consumers,
        [declared.name]: { ...spec.consumers[declared.name]!, filter },
      },
    },
    capabilityChecks,
    registry: testRegistry,
    env: emulators.runtimeEnv({
      HANDLER: declared.name,
      MODE: "local",
      STACK: "local",
      PORT: "0",
      ...subscriptions,
    }),
    handleSignals: false,
    logger: createLogger({ level: "silent" }),
  });
  workers.push(running);
  return running;
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
  // The providers make their own client, as Pulumi runs them: this points it at the emulator.
  process.env["PUBSUB_EMULATOR_HOST"] = emulators.pubsubHost;
});

// A test that fails part way leaves its pods running: stop them before the emulators go.
afterAll(async () => {
  await Promise.allSettled(workers.map((running) => running.stop()));
}, 60_000);

describe.each(changes)(
  "changing a consumer's $change under a live backlog",
  ({ before: was, after: now, takesSms }) => {
    const before = declaredWith(was);
    const after = declaredWith(now);
    const project = emulators.projectId;

    it("loses no event and applies none twice, in the deploy's order", async () => {
      const { pubsub } = emulators;
      expect(after.subscription).not.toBe(before.subscription);
      await subscribe(before);

      // 1. A backlog the old subscription holds; its worker starts; events keep arriving
      //    throughout: email before the change, email and sms after.
      const backlog = Array.from({ length: 20 }, () => shareRequested());
      await publishRaw(pubsub, backlog);
      const old = await worker(before.filter!, { SUBSCRIPTION: before.subscription });
      let changed = false;
      const arriving: { id: string; channel: string; afterChange: boolean }[] = [];
      let publishing = true;
      const publisher = (async () => {
        for (let i = 0; publishing && i < 5_000; i++) {
          const channel = changed && i % 2 === 0 ? "sms" : "email";
          const message = shareRequested({}, { channel });
          arriving.push({ id: message.attributes["ce-id"]!, channel, afterChange: changed });
          await publishRaw(pubsub, [message]);
          await new Promise((resolve) => setTimeout(resolve, 15));
        }
      })();
      await waitFor(() => arriving.length >= 5, "events arriving before the change");

      // 2. The new subscription beside the old one.
      await subscribe(after);
      changed = true;

      // 3. The take-over's update: its olds hold the subscription it had.
      const { outs } = await subscriptionTakeOverProvider.update!(
        `${project}/${before.subscription}`,
        { project, subscription: before.subscription },
        { project, subscription: after.subscription },
      );
      expect(outs).toMatchObject({
        subscription: after.subscription,
        previous: before.subscription,
      });

      // 4. The workers move: the new pod from the take-over's output, then the old pod stops.
      const next = await worker(after.filter!, {
        SUBSCRIPTION: outs.subscription,
        DRAINING_SUBSCRIPTION: outs.previous,
      });
      await old.stop();

      // 5. The retirement's update, while events still arrive.
      const retiring = Date.now();
      await subscriptionRetirementProvider.update!(
        `${project}/${before.subscription}`,
        { project, subscription: before.subscription },
        { project, subscription: outs.subscription, takenOverAt: outs.takenOverAt },
      );
      const arrivedWhileRetiring = arriving.filter((e) => e.afterChange).length;
      publishing = false;
      await publisher;
      expect((await pubsub.subscription(before.subscription).exists())[0]).toBe(false);
      expect(Date.now() - retiring).toBeGreaterThan(10_000); // it waited out the quiet window
      expect(arrivedWhileRetiring).toBeGreaterThan(100);

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
      await next.stop();
      // Nothing was set aside as a dead letter: each event was handled, not parked.
      const deadLettered = await Promise.all(workers.map((w) => total(w.metrics.deadLettered)));
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
