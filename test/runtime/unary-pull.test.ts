import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  UnaryPullSource,
  type PulledMessage,
  type UnaryPullOptions,
} from "../../handlers/runtime/unary-pull";
import { useEmulators } from "../support/emulators";
import { countingPulls, waitFor } from "../support/pubsub";

const emulators = useEmulators();

/** A fresh topic and subscription holding `count` messages. */
async function backlog(count: number, ackDeadlineSeconds = 10): Promise<string> {
  const name = `unary-${randomBytes(4).toString("hex")}`;
  const [topic] = await emulators.pubsub.createTopic(name);
  await topic.createSubscription(name, { ackDeadlineSeconds });
  const batched = emulators.pubsub.topic(name, {
    batching: { maxMessages: 500, maxMilliseconds: 5 },
  });
  await Promise.all(
    Array.from({ length: count }, (_, i) => batched.publishMessage({ data: Buffer.from(`m${i}`) })),
  );
  await batched.flush();
  return name;
}

/** A started source whose messages are collected, unsettled, in `received`. */
function source(subscription: string, options: Partial<UnaryPullOptions> = {}) {
  const received: PulledMessage[] = [];
  const errors: Error[] = [];
  const fatal: Error[] = [];
  const pull = new UnaryPullSource({
    pubsub: emulators.pubsub,
    subscription,
    maxMessages: 50,
    leaseSeconds: 60,
    maxExtensionSeconds: 600,
    onMessage: (m) => received.push(m),
    onError: (e) => errors.push(e),
    onFatal: (e) => fatal.push(e),
    ...options,
  });
  pull.start();
  return { pull, received, errors, fatal };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the unary pull source", { timeout: 60_000 }, () => {
  it("never holds more than maxMessages, however large the backlog, and asks for more as they are acked", async () => {
    const name = await backlog(2_000);
    const { pull, received } = source(name, { maxMessages: 50 });
    try {
      await waitFor(() => received.length === 50, "the first 50 messages");
      await sleep(1_500);
      expect(received).toHaveLength(50);
      expect(pull.inFlight).toBe(50);
      for (const m of received.splice(0)) m.ack();
      await waitFor(() => received.length === 50, "the next 50 messages");
      await sleep(500);
      expect(received.length).toBeLessThanOrEqual(50);
      expect(pull.inFlight).toBeLessThanOrEqual(50);
    } finally {
      await pull.close();
    }
  });

  it("keeps two pulls waiting on an idle subscription, asking for half the free slots each, and takes a message as it is published", async () => {
    const name = await backlog(0);
    const pulls = countingPulls(emulators.pubsub);
    const { pull, received } = source(name, { pubsub: pulls.pubsub, maxMessages: 40 });
    try {
      await sleep(300);
      expect(pulls.most()).toBe(2);
      expect(pulls.asked.slice(0, 2)).toEqual([20, 10]);
      await emulators.pubsub.topic(name).publishMessage({ data: Buffer.from("now") });
      await waitFor(() => received.length === 1, "the published message");
      expect(received[0]!.data.toString()).toBe("now");
      expect(pulls.most()).toBe(2);
    } finally {
      await pull.close();
    }
  });

  it("gets the whole backlog through, each message once, when messages are acked as they come", async () => {
    const name = await backlog(1_500);
    const seen = new Map<string, number>();
    const { pull } = source(name, {
      maxMessages: 100,
      onMessage: (m) => {
        seen.set(m.data.toString(), (seen.get(m.data.toString()) ?? 0) + 1);
        setTimeout(() => m.ack(), 5);
      },
    });
    try {
      await waitFor(() => seen.size === 1_500, "all 1 500 messages");
      await sleep(1_000);
      expect([...seen.values()].every((n) => n === 1)).toBe(true);
    } finally {
      await pull.close();
    }
  });

  it("renews the lease of a held message past the subscription's ack deadline", async () => {
    const name = await backlog(1, 10);
    const { pull, received } = source(name, { leaseSeconds: 2, maxExtensionSeconds: 60 });
    try {
      await waitFor(() => received.length === 1, "the message");
      await sleep(5_000);
      expect(received).toHaveLength(1);
      received[0]!.ack();
    } finally {
      await pull.close();
    }
  });

  it("stops renewing after maxExtensionSeconds, so the message comes back", async () => {
    const name = await backlog(1, 10);
    const { pull, received } = source(name, { leaseSeconds: 2, maxExtensionSeconds: 1 });
    try {
      await waitFor(() => received.length === 2, "the message to come back", 15_000);
      expect(received[1]!.id).toBe(received[0]!.id);
    } finally {
      await pull.close();
    }
  });

  it("redelivers a nacked message at once", async () => {
    const name = await backlog(1, 60);
    const { pull, received } = source(name);
    try {
      await waitFor(() => received.length === 1, "the message");
      received[0]!.nack();
      await waitFor(() => received.length === 2, "the redelivery", 5_000);
      expect(received[1]!.id).toBe(received[0]!.id);
      await received[1]!.ackWithResponse();
    } finally {
      await pull.close();
    }
  });

  it("gives a message back after the delay a nack asks for, as Pub/Sub's backoff would", async () => {
    const name = await backlog(1, 60);
    const { pull, received } = source(name);
    try {
      await waitFor(() => received.length === 1, "the message");
      const nackedAt = Date.now();
      received[0]!.nack(3);
      await sleep(1_500);
      expect(received).toHaveLength(1);
      await waitFor(() => received.length === 2, "the redelivery", 10_000);
      expect(Date.now() - nackedAt).toBeGreaterThanOrEqual(2_500);
      expect(received[1]!.id).toBe(received[0]!.id);
      await received[1]!.ackWithResponse();
    } finally {
      await pull.close();
    }
  });

  it("on close, sends its queued acks and gives back what it holds at once", async () => {
    const name = await backlog(2, 60);
    const first = source(name);
    await waitFor(() => first.received.length === 2, "both messages");
    const [acked, held] = first.received as [PulledMessage, PulledMessage];
    acked.ack();
    await first.pull.close();
    expect(first.pull.isOpen).toBe(false);
    // Another reader gets the held one well before its 60 s lease would end, and never the acked one.
    const second = source(name);
    try {
      await waitFor(() => second.received.length === 1, "the message given back", 10_000);
      expect(second.received[0]!.id).toBe(held.id);
      await sleep(1_500);
      expect(second.received).toHaveLength(1);
    } finally {
      await second.pull.close();
    }
  });

  it("asks for nothing more once told to stop pulling, while what it holds can still be acked", async () => {
    const name = await backlog(200, 60);
    const { pull, received } = source(name, { maxMessages: 20 });
    try {
      await waitFor(() => received.length === 20, "the first 20 messages");
      await pull.stopPulling();
      for (const m of received) await m.ackWithResponse();
      await sleep(1_500);
      expect(received).toHaveLength(20);
      expect(pull.inFlight).toBe(0);
      expect(pull.isOpen).toBe(true);
    } finally {
      await pull.close();
    }
  });

  it("reports a subscription that does not exist once, as final, and stops", async () => {
    const { pull, fatal, errors } = source("no-such-subscription");
    await waitFor(() => fatal.length === 1, "the final error", 10_000);
    expect((fatal[0] as Error & { code?: number }).code).toBe(5);
    expect(pull.isOpen).toBe(false);
    await sleep(500);
    expect(fatal).toHaveLength(1);
    expect(errors).toEqual([]);
    await pull.close();
  });
});
