/**
 * The baseline consumer: what a developer writes by hand with the raw clients, with nothing
 * of the runtime. It pulls, creates one Firestore document per message (the event id from
 * `ce-id` as document id, so a redelivered message fails ALREADY_EXISTS, counted as a
 * duplicate and acked), and acks; any other failure nacks. No decoding, no transaction, no
 * processed record, no archive, no dead-lettering.
 *
 * Flow control is the client's default (1 000 messages) unless BENCH_MAX_MESSAGES sets
 * `flowControl.maxMessages` (64 is the setting known for redelivery storms);
 * BENCH_MIN_ACK_DEADLINE (seconds) sets the subscriber's minAckDeadline, the runtime's cure.
 * Reports through recorder.ts like the runtime worker. Environment: PUBSUB_EMULATOR_HOST,
 * FIRESTORE_EMULATOR_HOST, GOOGLE_CLOUD_PROJECT, BENCH_SUBSCRIPTION.
 */
import { Firestore } from "@google-cloud/firestore";
import { Duration, PubSub, type Message, type SubscriberOptions } from "@google-cloud/pubsub";
import { APPLIED_COLLECTION } from "./bench-handlers";
import { announceReady } from "./children";
import { Recorder, exitWithParent } from "./recorder";

process.env["METADATA_SERVER_DETECTION"] = "none";
exitWithParent();

/** gRPC ALREADY_EXISTS. */
const ALREADY_EXISTS = 6;

const env = process.env;
const projectId = env["GOOGLE_CLOUD_PROJECT"]!;
const pubsub = new PubSub({
  projectId,
  apiEndpoint: env["PUBSUB_EMULATOR_HOST"]!,
  emulatorMode: true,
});
const firestore = new Firestore({ projectId, host: env["FIRESTORE_EMULATOR_HOST"]!, ssl: false });
const maxMessages = env["BENCH_MAX_MESSAGES"];
const minAckDeadline = env["BENCH_MIN_ACK_DEADLINE"];
const options: SubscriberOptions = {
  ...(maxMessages && {
    flowControl: { maxMessages: Number(maxMessages), allowExcessMessages: false },
  }),
  ...(minAckDeadline && { minAckDeadline: Duration.from({ seconds: Number(minAckDeadline) }) }),
};
const subscription = pubsub.subscription(env["BENCH_SUBSCRIPTION"]!, options);
const recorder = new Recorder();
const collection = firestore.collection(APPLIED_COLLECTION);

async function handle(message: Message): Promise<void> {
  const started = recorder.received();
  const eventId = message.attributes["ce-id"] ?? message.id;
  try {
    await collection.doc(eventId).create({
      count: 1,
      eventId,
      attempt: message.deliveryAttempt || null,
      appliedAt: Date.now(),
      pid: process.pid,
    });
    message.ack();
    recorder.done(started, "handled", eventId);
  } catch (err) {
    if ((err as { code?: number }).code === ALREADY_EXISTS) {
      message.ack();
      recorder.done(started, "duplicate", eventId);
      return;
    }
    message.nack();
    recorder.done(started, "retry", eventId);
  }
}

subscription.on("message", (message: Message) => void handle(message));
subscription.on("error", (err: Error) =>
  process.stderr.write(`baseline consumer: ${err.message}\n`),
);
announceReady({ pid: process.pid });
recorder.report();

process.once("SIGTERM", () => {
  void (async () => {
    // Bounded: mid-backlog (the memory benchmark's window), close() waits on what it holds.
    await Promise.race([subscription.close(), new Promise((resolve) => setTimeout(resolve, 5000))]);
    await Promise.allSettled([pubsub.close(), firestore.terminate()]);
    recorder.finish();
    process.exit(0);
  })();
});
