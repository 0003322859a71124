import { PubSub, v1 } from "@google-cloud/pubsub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ResolvedConsumer } from "../../infra/model/types";
import { startEmulator, type RunningEmulator } from "../../tools/local/emulators";
import { createSnapshot, declaredConsumer, seekSubscription } from "../../tools/replay";
import { runCli } from "../cli/run-cli";

// Seek needs Pub/Sub only: no Firestore emulator for this file.
process.env["METADATA_SERVER_DETECTION"] = "none";
let emulator: RunningEmulator;
let pubsub: PubSub;
let subscriber: v1.SubscriberClient;

const consumer = declaredConsumer("campaign-processor");
const analytics = declaredConsumer("campaign-analytics");

beforeAll(async () => {
  emulator = await startEmulator("pubsub");
  pubsub = new PubSub({ projectId: "seek-test", apiEndpoint: emulator.host, emulatorMode: true });
  subscriber = new v1.SubscriberClient(
    (pubsub as unknown as { options: ConstructorParameters<typeof v1.SubscriberClient>[0] })
      .options,
  );
  await pubsub.createTopic(consumer.topic);
}, 60_000);

afterAll(async () => {
  await subscriber?.close();
  await pubsub?.close();
  await emulator?.stop();
});

/** Creates the consumer's subscription as the Pulumi program does, retention included. */
async function subscribe(
  c: ResolvedConsumer,
  retain: { retainAckedMessages: boolean; seconds: number },
): Promise<void> {
  await pubsub.createSubscription(c.topic, c.subscription, {
    retainAckedMessages: retain.retainAckedMessages,
    messageRetentionDuration: { seconds: retain.seconds },
    ackDeadlineSeconds: c.ackDeadlineSeconds,
  });
}

async function publish(text: string): Promise<void> {
  await pubsub.topic(consumer.topic).publishMessage({ data: Buffer.from(text) });
}

/** What the subscription delivers now, acked: pulls until `count` arrived, or until it has been quiet for a second. */
async function receive(c: ResolvedConsumer, count: number): Promise<string[]> {
  const subscription = pubsub.subscription(c.subscription).name;
  const texts: string[] = [];
  let quietSince = Date.now();
  while (texts.length < count && Date.now() - quietSince < 1000) {
    const [response] = await subscriber.pull({
      subscription,
      maxMessages: 10,
      returnImmediately: true,
    });
    const received = response.receivedMessages ?? [];
    if (received.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    quietSince = Date.now();
    await subscriber.acknowledge({ subscription, ackIds: received.map((m) => m.ackId!) });
    texts.push(...received.map((m) => Buffer.from(m.message!.data as Uint8Array).toString()));
  }
  return texts;
}

describe("seek", () => {
  it("redelivers what was acknowledged after the snapshot, and not what was acknowledged before it", async () => {
    await subscribe(consumer, {
      retainAckedMessages: true,
      seconds: consumer.messageRetentionSeconds,
    });
    await publish("A");
    expect(await receive(consumer, 1)).toEqual(["A"]);
    const snapshot = await createSnapshot(pubsub, consumer, "before-b");
    expect(snapshot.snapshot).toBe("projects/seek-test/snapshots/before-b");
    await publish("B");
    expect(await receive(consumer, 1)).toEqual(["B"]);

    await seekSubscription(pubsub, consumer, { snapshot: "before-b" });
    expect(await receive(consumer, 2)).toEqual(["B"]);
  });

  it("refuses a second snapshot of the same name and a seek to a snapshot that does not exist, saying what to do", async () => {
    await expect(createSnapshot(pubsub, consumer, "before-b")).rejects.toThrow(
      "snapshot before-b exists; seek to it with --to snapshot:before-b, or pick another name",
    );
    await expect(
      seekSubscription(pubsub, consumer, { snapshot: "no-such-snapshot" }),
    ).rejects.toThrow(
      "no snapshot named no-such-snapshot; create one with eventline seek campaign-processor --snapshot no-such-snapshot",
    );
  });

  it("refuses to seek a subscription that does not retain acknowledged messages to an earlier time, and says that retainAckedMessages is what it needs", async () => {
    const hourAgo = new Date(Date.now() - 3_600_000);
    // Declared with retention, but its subscription was made without.
    await subscribe(analytics, { retainAckedMessages: false, seconds: 604_800 });
    await expect(seekSubscription(pubsub, analytics, { time: hourAgo })).rejects.toThrow(
      `subscription ${analytics.subscription} does not retain acknowledged messages, so seeking it to ${hourAgo.toISOString()} would bring none of them back (it would only acknowledge older unacknowledged ones); consumer campaign-analytics declares retainAckedMessages, but its subscription was created without it`,
    );
    // Declared without.
    const emailWorker = declaredConsumer("email-worker");
    await pubsub.createTopic(emailWorker.topic);
    await subscribe(emailWorker, { retainAckedMessages: false, seconds: 604_800 });
    await expect(seekSubscription(pubsub, emailWorker, { time: hourAgo })).rejects.toThrow(
      "declare retainAckedMessages: true for consumer email-worker in infra/system.ts and deploy, or seek to a snapshot taken beforehand (snapshot:<name>)",
    );
  });

  it("refuses a time older than what the subscription keeps, and seeks to one it keeps", async () => {
    const now = new Date();
    await expect(
      seekSubscription(pubsub, consumer, { time: new Date(now.getTime() - 8 * 86_400_000) }, now),
    ).rejects.toThrow(
      `subscription ${consumer.subscription} keeps messages for 7d, so nothing from before ${new Date(now.getTime() - 7 * 86_400_000).toISOString()} can come back`,
    );
    await expect(
      seekSubscription(pubsub, consumer, { time: new Date(now.getTime() - 60_000) }, now),
    ).resolves.toBeUndefined();
  });

  it("takes a snapshot and seeks back to it from the command line, and says why it will not seek a subscription without retention to a time", async () => {
    const cliEnv = { PUBSUB_EMULATOR_HOST: emulator.host, GOOGLE_CLOUD_PROJECT: "seek-test" };
    // The seek to a minute ago above made A and B deliverable again.
    expect(await receive(consumer, 2)).toEqual(["A", "B"]);
    await publish("C");
    expect(await receive(consumer, 1)).toEqual(["C"]);
    const snapshotted = await runCli(["seek", "campaign-processor", "--snapshot", "cli-point"], {
      env: cliEnv,
    });
    expect(snapshotted).toMatchObject({ code: 0, stderr: "" });
    expect(snapshotted.stdout).toMatch(
      /^snapshot cli-point of campaign-processor taken in the emulators/,
    );
    await publish("D");
    expect(await receive(consumer, 1)).toEqual(["D"]);
    const sought = await runCli(["seek", "campaign-processor", "--to", "snapshot:cli-point"], {
      env: cliEnv,
    });
    expect(sought).toEqual({
      code: 0,
      stderr: "",
      stdout:
        "campaign-processor rewound to snapshot cli-point in the emulators: what it acknowledged since is delivered again, and what it had handled finds its processed records (--reprocess handles it again)\n",
    });
    expect(await receive(consumer, 2)).toEqual(["D"]);

    const refused = await runCli(["seek", "campaign-analytics", "--to", "2h"], { env: cliEnv });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      new RegExp(
        `^eventline: subscription ${analytics.subscription} does not retain acknowledged messages, so seeking it to \\S+ would bring none of them back .*\\n$`,
      ),
    );
  });

  it("says when the consumer's subscription does not exist", async () => {
    await expect(
      seekSubscription(pubsub, declaredConsumer("creative-analyzer"), { snapshot: "before-b" }),
    ).rejects.toThrow(
      `subscription ${declaredConsumer("creative-analyzer").subscription} does not exist`,
    );
  });
});
