/**
 * The subscription migration's create and delete (infra/gcp/subscription-migration.ts), called
 * directly against the Pub/Sub emulator: what it refuses before changing anything, that it leaves
 * no snapshot behind, and that it retires a subscription only once drained.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { PubSub, v1 } from "@google-cloud/pubsub";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  CLOCK_MARGIN_MS,
  MigrationRefused,
  retireSubscription,
  subscriptionRetirementProvider,
  subscriptionTakeOverProvider,
  takeOverBacklog,
  takeOverSnapshot,
} from "../../infra/gcp/subscription-migration";
import { startEmulator, type RunningEmulator } from "../../tools/local/emulators";

process.env["METADATA_SERVER_DETECTION"] = "none";
let emulator: RunningEmulator;
let pubsub: PubSub;
let subscriber: v1.SubscriberClient;
const TOPIC = "migration-topic";
const OTHER_TOPIC = "migration-other";

beforeAll(async () => {
  emulator = await startEmulator("pubsub");
  pubsub = new PubSub({
    projectId: "migration-test",
    apiEndpoint: emulator.host,
    emulatorMode: true,
  });
  subscriber = new v1.SubscriberClient(
    (pubsub as unknown as { options: ConstructorParameters<typeof v1.SubscriberClient>[0] })
      .options,
  );
  await Promise.all([pubsub.createTopic(TOPIC), pubsub.createTopic(OTHER_TOPIC)]);
}, 60_000);

afterAll(async () => {
  await subscriber?.close();
  await pubsub?.close();
  await emulator?.stop();
});

async function publish(count: number): Promise<void> {
  for (let i = 0; i < count; i++)
    await pubsub.topic(TOPIC).publishMessage({ data: Buffer.from(`m${i}`) });
}

/** Pulls until `subscription` has been quiet for half a second, acking what it gets; the texts. */
async function drain(subscription: string): Promise<string[]> {
  const texts: string[] = [];
  let quietSince = Date.now();
  while (Date.now() - quietSince < 500) {
    const [response] = await subscriber.pull({
      subscription: pubsub.subscription(subscription).name,
      maxMessages: 50,
      returnImmediately: true,
    });
    const received = response.receivedMessages ?? [];
    if (received.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      continue;
    }
    quietSince = Date.now();
    texts.push(...received.map((m) => Buffer.from(m.message!.data!).toString()));
    await subscriber.acknowledge({
      subscription: pubsub.subscription(subscription).name,
      ackIds: received.map((m) => m.ackId!),
    });
  }
  return texts;
}

const snapshots = async (): Promise<string[]> =>
  (await pubsub.getSnapshots())[0].map((snapshot) => snapshot.name.split("/").pop()!);

describe("taking over a subscription's backlog", () => {
  it("snapshots the old subscription, seeks the new one, and leaves no snapshot behind", async () => {
    await pubsub.createSubscription(TOPIC, "take-old");
    await publish(3);
    await pubsub.createSubscription(TOPIC, "take-new", {
      filter: 'attributes.kind = "b"',
    });
    await takeOverBacklog(pubsub, { from: "take-old", to: "take-new" });
    expect(await snapshots()).not.toContain(takeOverSnapshot("take-new"));
    // Found on the emulator: it accepts the seek but copies nothing of another subscription's
    // backlog (Pub/Sub does); the old subscription keeps its messages for its workers to drain.
    expect(await drain("take-new")).toEqual([]);
    expect((await drain("take-old")).sort()).toEqual(["m0", "m1", "m2"]);
    // Running it again (a retried deploy) is safe.
    await takeOverBacklog(pubsub, { from: "take-old", to: "take-new" });
  });

  it("refuses turning ordering on before changing anything: Pub/Sub would answer FAILED_PRECONDITION", async () => {
    await pubsub.createSubscription(TOPIC, "order-old", { enableMessageOrdering: false });
    await pubsub.createSubscription(TOPIC, "order-new", { enableMessageOrdering: true });
    await expect(takeOverBacklog(pubsub, { from: "order-old", to: "order-new" })).rejects.toThrow(
      /order-new orders messages and order-old does not: .*FAILED_PRECONDITION.*drain order-old/,
    );
    expect(await snapshots()).not.toContain(takeOverSnapshot("order-new"));
    // What the emulator answers when asked anyway: the refusal's reason, observed.
    await pubsub.subscription("order-old").createSnapshot("probe-ordering");
    await expect(pubsub.subscription("order-new").seek("probe-ordering")).rejects.toMatchObject({
      code: 9,
    });
    await pubsub.snapshot("probe-ordering").delete();
  });

  it("moves between ordered and unordered the other way", async () => {
    await pubsub.createSubscription(TOPIC, "unorder-old", { enableMessageOrdering: true });
    await pubsub.createSubscription(TOPIC, "unorder-new", { enableMessageOrdering: false });
    await takeOverBacklog(pubsub, { from: "unorder-old", to: "unorder-new" });
  });

  it("refuses a move to another topic, and a subscription that does not exist", async () => {
    await pubsub.createSubscription(TOPIC, "topic-old");
    await pubsub.createSubscription(OTHER_TOPIC, "topic-new");
    const refused = takeOverBacklog(pubsub, { from: "topic-old", to: "topic-new" });
    await expect(refused).rejects.toBeInstanceOf(MigrationRefused);
    await expect(refused).rejects.toThrow(/a snapshot only seeks subscriptions of its own topic/);
    await expect(takeOverBacklog(pubsub, { from: "nowhere", to: "topic-new" })).rejects.toThrow(
      "subscription nowhere does not exist; nothing to migrate",
    );
  });
});

describe("retiring the old subscription", () => {
  it("keeps it while it still delivers messages, and releases them for its workers", async () => {
    await pubsub.createSubscription(TOPIC, "retire-busy");
    await publish(2);
    await expect(retireSubscription(pubsub, "retire-busy")).rejects.toThrow(
      /retire-busy still delivers messages/,
    );
    // Nothing was lost: the workers still get both.
    expect((await drain("retire-busy")).sort()).toEqual(["m0", "m1"]);
    await retireSubscription(pubsub, "retire-busy");
    const [exists] = await pubsub.subscription("retire-busy").exists();
    expect(exists).toBe(false);
    // Retiring what is gone is done.
    await retireSubscription(pubsub, "retire-busy");
  });
});

describe("retiring after a take-over", () => {
  it("acknowledges what was published after the take-over, which the new subscription holds, and retires despite it", async () => {
    // Quick windows: no retry policy and a 10 s ack deadline make the quiet window 11 s.
    await pubsub.createSubscription(TOPIC, "retire-live");
    // Taken over long enough ago that what is published now is past the clock margin.
    const takenOverAt = new Date(Date.now() - CLOCK_MARGIN_MS - 5_000);
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        await publish(1);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    try {
      await retireSubscription(pubsub, "retire-live", { takenOverAt, pollMs: 100 });
    } finally {
      publishing = false;
      await publisher;
    }
    expect((await pubsub.subscription("retire-live").exists())[0]).toBe(false);
  }, 60_000);

  it("waits, within its patience, while workers drain the old subscription's own backlog", async () => {
    await pubsub.createSubscription(TOPIC, "retire-draining");
    await publish(3);
    const drained = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      return drain("retire-draining");
    })();
    await retireSubscription(pubsub, "retire-draining", {
      takenOverAt: new Date(),
      patienceSeconds: 30,
      pollMs: 100,
    });
    expect((await drained).sort()).toEqual(["m0", "m1", "m2"]);
    expect((await pubsub.subscription("retire-draining").exists())[0]).toBe(false);
  }, 60_000);
});

describe("retiring a push subscription, which Pub/Sub does not let be pulled", () => {
  /**
   * Pub/Sub's answer to a pull on a subscription with a push endpoint; the emulator serves the
   * pull, so the client is made to answer as Pub/Sub does for the push subscriptions here.
   */
  function refusePullsOfPushSubscriptions() {
    const pull = v1.SubscriberClient.prototype.pull;
    return vi.spyOn(v1.SubscriberClient.prototype, "pull").mockImplementation(function (
      this: v1.SubscriberClient,
      request,
      options,
    ) {
      if (String(request?.subscription).endsWith("-push"))
        return Promise.reject(
          Object.assign(
            new Error(
              "9 FAILED_PRECONDITION: This method is not supported for push subscriptions with a defined push configuration.",
            ),
            { code: 9 },
          ),
        );
      return (pull as (...args: unknown[]) => unknown).call(this, request, options);
    } as typeof pull);
  }
  const pushConfig = { pushEndpoint: "http://127.0.0.1:9/push" };

  it("deletes it after a take-over, whose seek gave its backlog to the new subscription", async () => {
    await pubsub.createSubscription(TOPIC, "retire-after-take-over-push", { pushConfig });
    const refusing = refusePullsOfPushSubscriptions();
    try {
      await retireSubscription(pubsub, "retire-after-take-over-push", {
        takenOverAt: new Date(),
        patienceSeconds: 30,
      });
      expect(refusing).toHaveBeenCalled();
    } finally {
      refusing.mockRestore();
    }
    expect((await pubsub.subscription("retire-after-take-over-push").exists())[0]).toBe(false);
  });

  it("keeps it, with what to do, when no take-over moved its backlog", async () => {
    await pubsub.createSubscription(TOPIC, "retire-alone-push", { pushConfig });
    const refusing = refusePullsOfPushSubscriptions();
    try {
      await expect(retireSubscription(pubsub, "retire-alone-push")).rejects.toThrow(
        /retire-alone-push is a push subscription.*delete it once its backlog is 0/,
      );
    } finally {
      refusing.mockRestore();
    }
    expect((await pubsub.subscription("retire-alone-push").exists())[0]).toBe(true);
  });

  it("still refuses a pull subscription that answers FAILED_PRECONDITION, keeping it", async () => {
    await pubsub.createSubscription(TOPIC, "retire-refused");
    const refusing = vi
      .spyOn(v1.SubscriberClient.prototype, "pull")
      .mockRejectedValue(Object.assign(new Error("9 FAILED_PRECONDITION: refused"), { code: 9 }));
    try {
      await expect(
        retireSubscription(pubsub, "retire-refused", { takenOverAt: new Date() }),
      ).rejects.toThrow(/FAILED_PRECONDITION/);
    } finally {
      refusing.mockRestore();
    }
    expect((await pubsub.subscription("retire-refused").exists())[0]).toBe(true);
  });
});

describe("the take-over and the retirement as Pulumi runs them", () => {
  const project = "migration-test";
  beforeAll(() => {
    // The providers make their own client, as Pulumi runs them: this points it at the emulator.
    process.env["PUBSUB_EMULATOR_HOST"] = emulator.host;
  });

  it("moves nothing when created, and nothing when updated without a new subscription", async () => {
    const created = await subscriptionTakeOverProvider.create!({ project, subscription: "c-1" });
    expect(created.outs).toEqual({ project, subscription: "c-1" });
    const same = await subscriptionTakeOverProvider.update!(created.id, created.outs, {
      project,
      subscription: "c-1",
    });
    expect(same.outs).toEqual({ project, subscription: "c-1" });
  });

  it("deletes the consumer's subscription, backlog included, when the consumer is removed", async () => {
    await pubsub.createSubscription(TOPIC, "removed-consumer");
    await publish(2);
    await subscriptionRetirementProvider.delete!("id", {
      project,
      subscription: "removed-consumer",
    });
    expect((await pubsub.subscription("removed-consumer").exists())[0]).toBe(false);
    // Removing one already gone is done.
    await subscriptionRetirementProvider.delete!("id", {
      project,
      subscription: "removed-consumer",
    });
  });
});

describe("the dynamic provider", () => {
  it("serializes, as Pulumi ships a dynamic provider to its engine", () => {
    // In a process of its own that loads TypeScript as CommonJS, as the Pulumi CLI runs the program
    // (vitest's module loader would be captured instead).
    const script = [
      'const pulumi = require("@pulumi/pulumi");',
      'const m = require("./infra/gcp/subscription-migration.ts");',
      "Promise.all([m.subscriptionTakeOverProvider, m.subscriptionRetirementProvider].map((p) => pulumi.runtime.serializeFunction(() => p, { allowSecrets: false })))",
      "  .then((all) => all.map((s) => s.text).join('\\n'))",
      "  .then((text) => process.stdout.write(text), (e) => { process.stderr.write(String(e)); process.exit(1); });",
    ].join("\n");
    const text = execFileSync(process.execPath, ["--require", "tsx/cjs", "--eval", script], {
      cwd: join(__dirname, "..", ".."),
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(text).toContain("takeOverBacklog");
    expect(text).toContain("retireSubscription");
    expect(text).toContain('require("@google-cloud/pubsub")');
  }, 60_000);

  it("updates the take-over and the retirement in place when the consumer's subscription changes, and nothing else", async () => {
    const base = { project: "p", subscription: "a-00000000" };
    for (const provider of [subscriptionTakeOverProvider, subscriptionRetirementProvider]) {
      expect(await provider.diff!("id", base, base)).toEqual({ changes: false, replaces: [] });
      expect(await provider.diff!("id", base, { ...base, subscription: "a-11111111" })).toEqual({
        changes: true,
        replaces: [],
      });
      expect(await provider.diff!("id", base, { ...base, project: "q" })).toMatchObject({
        replaces: ["project"],
      });
    }
  });
});
