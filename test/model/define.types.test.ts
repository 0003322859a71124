/**
 * Compile-time checks of defineSystem. Each `@ts-expect-error` fails `npm run typecheck`
 * (and so CI) if the compiler stops rejecting the line below it.
 */
import { describe, expect, it } from "vitest";
import { viral } from "../../proto/gen";
import { defineSystem, type PayloadOf } from "../../infra/model/define";

const topics = {
  shares: {
    schema: viral.v1.ViralSharesTopic,
    events: { "com.test.share.requested": { message: viral.v1.ViralShareRequested } },
  },
  funnel: {
    schema: viral.v1.ViralFunnelTopic,
    events: { "com.test.share.completed": { message: viral.v1.ViralShareCompleted } },
  },
} as const;

describe("defineSystem's compile-time checks", () => {
  it("accepts a consumer whose topic carries what its handler accepts, and types payloads from the declaration", () => {
    const ok = defineSystem({
      topics,
      handlers: {
        sender: { accepts: ["com.test.share.requested"], emits: ["com.test.share.completed"] },
      },
      consumers: { worker: { handler: "sender", topic: "shares", delivery: "pull" } },
    });
    const payload: PayloadOf<typeof ok.topics, "com.test.share.requested"> =
      new viral.v1.ViralShareRequested({ channel: "sms" });
    expect(payload.channel).toBe("sms");
    expect(ok.consumers.worker.topic).toBe("shares");
  });

  it("rejects a consumer whose topic cannot carry its handler's events", () => {
    const declare = () =>
      defineSystem({
        topics,
        handlers: { sender: { accepts: ["com.test.share.requested"] } },
        // @ts-expect-error topic funnel cannot carry com.test.share.requested
        consumers: { worker: { handler: "sender", topic: "funnel", delivery: "pull" } },
      });
    expect(declare).toBeTypeOf("function");
  });

  it("rejects a handler that accepts or emits an undeclared event type", () => {
    const declareAccepts = () =>
      defineSystem({
        topics,
        // @ts-expect-error com.test.share.teleported is declared on no topic
        handlers: { sender: { accepts: ["com.test.share.teleported"] } },
        consumers: {},
      });
    const declareEmits = () =>
      defineSystem({
        topics,
        handlers: {
          // @ts-expect-error com.test.share.lost is declared on no topic
          sender: { accepts: ["com.test.share.requested"], emits: ["com.test.share.lost"] },
        },
        consumers: {},
      });
    expect([declareAccepts, declareEmits]).toHaveLength(2);
  });

  it("rejects an unknown handler or topic, and exactly-once on a push consumer", () => {
    const handlers = { sender: { accepts: ["com.test.share.requested"] } } as const;
    const unknownHandler = () =>
      defineSystem({
        topics,
        handlers,
        // @ts-expect-error consumer a: no handler named ghost
        consumers: { a: { handler: "ghost", topic: "shares", delivery: "pull" } },
      });
    const unknownTopic = () =>
      defineSystem({
        topics,
        handlers,
        // @ts-expect-error consumer b: no topic named nowhere
        consumers: { b: { handler: "sender", topic: "nowhere", delivery: "pull" } },
      });
    const exactlyOncePush = () =>
      defineSystem({
        topics,
        handlers,
        consumers: {
          // @ts-expect-error push subscriptions cannot be exactly-once
          c: { handler: "sender", topic: "shares", delivery: "push", exactlyOnce: true },
        },
      });
    expect([unknownHandler, unknownTopic, exactlyOncePush]).toHaveLength(3);
  });
});
