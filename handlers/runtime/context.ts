/**
 * Builds the context one handler run gets: the envelope, staged publishing (restricted to the
 * contract's emits, stamped with correlation and causation), the transaction, the bound
 * logger, metrics and named outside calls. A new context per transaction attempt, so a
 * retried attempt starts with nothing staged and derives the same event ids again.
 */
import type { Firestore } from "@google-cloud/firestore";
import type { Logger } from "pino";
import type { ResolvedConsumer } from "../../infra/model/types";
import type { EventType, PayloadInput } from "./event-types";
import { causedBy, type DecodedEvent, type EventCodec, type OutgoingMessage } from "./codec";
import { PermanentError } from "./errors";
import type { DeliveryInfo, HandlerContext, Handler, PublishOptions } from "./handler";
import { derivedEventId } from "./idempotency";
import type { HandlerMetrics } from "./metrics";
import type { OutsideCalls } from "./resilience";
import type { HandlerTransaction } from "./transaction";

/** The CloudEvents source of events a consumer publishes. */
export function sourceOf(consumer: string): string {
  return `//eventline/${consumer}`;
}

/** The envelope of a decoded event as delivered to a consumer. */
export function deliveryInfoOf(
  event: DecodedEvent,
  consumer: string,
  messageId: string,
  deliveryAttempt: number | undefined,
): DeliveryInfo {
  const { meta } = event;
  return {
    id: meta.id,
    type: event.type,
    source: meta.source,
    time: meta.time,
    ...(meta.subject !== undefined && { subject: meta.subject }),
    correlationId: meta.correlationId,
    ...(meta.causationId !== undefined && { causationId: meta.causationId }),
    ...(meta.traceparent !== undefined && { traceparent: meta.traceparent }),
    deliveryAttempt,
    messageId,
    consumer,
    topic: event.topic,
  };
}

export interface ContextParts {
  consumer: ResolvedConsumer;
  handler: Handler;
  codec: EventCodec;
  firestore: Firestore;
  transaction: HandlerTransaction;
  log: Logger;
  metrics: HandlerMetrics;
  outsideCalls: OutsideCalls;
  /** Told before each `ctx.breaker(name)`; it throws when the run may not call out (DeferredTransaction.beforeOutsideCall). */
  beforeOutsideCall?: () => void;
  delivery: DeliveryInfo;
  signal: AbortSignal;
}

/** A handler context, and the list its `publish` stages messages into. */
export function createContext(
  event: DecodedEvent,
  parts: ContextParts,
): { ctx: HandlerContext; staged: OutgoingMessage[] } {
  const staged: OutgoingMessage[] = [];
  const { consumer, codec } = parts;
  const emits = new Set<string>(consumer.contract.emits);
  const publish = (type: EventType, data: PayloadInput, options: PublishOptions = {}): string => {
    if (!emits.has(type)) {
      throw new PermanentError(
        "undeclared-emit",
        `handler ${consumer.handler} may not publish ${type}: its contract emits ${[...emits].join(", ") || "nothing"}`,
      );
    }
    const message = codec.encode(type, data, {
      id: derivedEventId(consumer.name, event.meta, staged.length),
      source: sourceOf(consumer.name),
      ...causedBy(event.meta),
      ...(options.subject !== undefined && { subject: options.subject }),
      ...(options.extensions !== undefined && { extensions: options.extensions }),
    });
    staged.push(message);
    return message.attributes["ce-id"]!;
  };
  const ctx: HandlerContext = {
    delivery: parts.delivery,
    idempotencyKey: event.meta.id,
    publish: publish as HandlerContext["publish"],
    transaction: parts.transaction,
    firestore: parts.firestore,
    log: parts.log,
    metrics: parts.metrics,
    breaker: (name) => {
      parts.beforeOutsideCall?.();
      return parts.outsideCalls.get(name, parts.handler.outside?.[name]);
    },
    signal: parts.signal,
  };
  return { ctx, staged };
}
