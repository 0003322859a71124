/** A test's view of topics: a subscription per watched topic that collects what arrives. */
import { randomUUID } from "node:crypto";
import type { Message, PubSub, Subscription } from "@google-cloud/pubsub";

export interface Probe {
  messages: Message[];
  /** Resolves with the first message matching `predicate` (already received or still to come). */
  waitFor(predicate: (message: Message) => boolean, timeoutMs?: number): Promise<Message>;
  close(): Promise<void>;
}

/** Subscribes to `topics` (which must exist) and keeps every message, acked. */
export async function probeTopics(pubsub: PubSub, topics: readonly string[]): Promise<Probe> {
  const messages: Message[] = [];
  const waiters = new Set<() => void>();
  const subscriptions: Subscription[] = [];
  for (const topic of topics) {
    const [subscription] = await pubsub.createSubscription(
      topic,
      `probe-${topic}-${randomUUID().slice(0, 8)}`,
    );
    subscription.on("message", (message: Message) => {
      message.ack();
      messages.push(message);
      for (const wake of waiters) wake();
    });
    subscriptions.push(subscription);
  }
  return {
    messages,
    waitFor: (predicate, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = messages.find(predicate);
          if (found === undefined) return false;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(found);
          return true;
        };
        const wake = (): void => void check();
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(
            new Error(`no matching message within ${timeoutMs} ms (${messages.length} received)`),
          );
        }, timeoutMs);
        if (!check()) waiters.add(wake);
      }),
    close: async () => {
      await Promise.all(
        subscriptions.map(async (subscription) => {
          await subscription.close();
          await subscription.delete();
        }),
      );
    },
  };
}
