/**
 * Runs a handler in-process, the way a host would, for unit tests: give it an event (or a raw
 * message), get back the outcome, the events it published (decoded), what it dead-lettered,
 * the Firestore writes it made and its log lines. The event goes through the real pipeline:
 * encoded by the codec, filtered by the consumer's filter, decoded, applied once in a
 * transaction, so running the same event twice reports a duplicate the second time.
 *
 * Firestore is the emulator, not an in-memory stand-in: handlers use real transactions
 * (read-before-write, preconditions, FieldValue transforms, queries), and a stand-in would have
 * to re-implement those and would pass tests the real database fails. The price is a running
 * emulator; test/support/emulators.ts starts one per test file in about three seconds.
 * Publishing is captured in memory: no Pub/Sub is needed.
 */
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import type { Firestore } from "@google-cloud/firestore";
import type { ResolvedConsumer } from "../../infra/model/types";
import { type EventType, type PayloadInput } from "../runtime/event-types";
import { eventTypesFor } from "../declared";
import {
  EventCodec,
  type EventOptions,
  type IncomingMessage,
  type OutgoingMessage,
  type DecodedEvent,
} from "../runtime/codec";
import { DeliveryProcessor } from "../runtime/delivery";
import { EventStore } from "../runtime/event-store";
import type { RegisteredHandler } from "../runtime/handler";
import { createLogger } from "../runtime/logger";
import { RuntimeMetrics } from "../runtime/metrics";
import type { Outcome } from "../runtime/outcome";
import type { MessagePublisher } from "../runtime/publisher";
import { OutsideCalls } from "../runtime/resilience";
import type { RecordedWrite } from "../runtime/transaction";

/** An event to deliver: its type and payload, and any context to set. */
export interface EventInput<E extends EventType = EventType> extends Partial<EventOptions> {
  type: E;
  data: PayloadInput<E>;
}

export interface RunOptions {
  /** A Firestore client on the emulator. */
  firestore: Firestore;
  /** The consumer to run as. Default: the first consumer that runs this handler. */
  consumer?: string;
  /** The delivery attempt to report; on the subscription's last one a failure is dead-lettered. Default 1. */
  deliveryAttempt?: number;
  /** The stack whose declaration applies. Default `"local"`. */
  stack?: string;
  /** The Pub/Sub message id of the delivery. Default: a new UUID. */
  messageId?: string;
  /** How long the runtime waits for the handler, in milliseconds. Default: the consumer's ack deadline. */
  handlerTimeoutMs?: number;
}

/** What one delivery did. */
export interface HandlerRun {
  outcome: Outcome;
  /** The events the handler published (after its transaction committed), decoded. */
  published: DecodedEvent[];
  /** The dead letters the runtime published, data and attributes as sent. */
  deadLetters: OutgoingMessage[];
  /** The Firestore writes of the committed handler run, in order. */
  writes: RecordedWrite[];
  /** The log lines, parsed. */
  logs: Record<string, unknown>[];
}

/** A publisher that keeps what it is given, in memory, and publishes nothing. */
export class CapturingPublisher implements MessagePublisher {
  readonly messages: OutgoingMessage[] = [];
  async publish(messages: readonly OutgoingMessage[]): Promise<string[]> {
    this.messages.push(...messages);
    return messages.map(() => randomUUID());
  }
  async flush(): Promise<void> {}
}

function consumerFor(handler: RegisteredHandler, options: RunOptions): ResolvedConsumer {
  const { system } = eventTypesFor(options.stack ?? "local");
  const consumer = system.consumers.find((c) =>
    options.consumer !== undefined ? c.name === options.consumer : c.handler === handler.name,
  );
  if (consumer === undefined)
    throw new Error(
      `runHandler: no consumer ${options.consumer !== undefined ? `named ${options.consumer}` : `runs handler ${handler.name}`}`,
    );
  if (consumer.handler !== handler.name)
    throw new Error(
      `runHandler: consumer ${consumer.name} runs handler ${consumer.handler}, not ${handler.name}`,
    );
  return consumer;
}

function encode(codec: EventCodec, { type, data, ...options }: EventInput): IncomingMessage {
  return codec.encode(type, data, { source: "//eventline/test", ...options });
}

/** Delivers one event (or raw message) to `handler` and reports what happened. */
export async function runHandler(
  handler: RegisteredHandler,
  input: EventInput | { raw: IncomingMessage },
  options: RunOptions,
): Promise<HandlerRun> {
  const eventTypes = eventTypesFor(options.stack ?? "local");
  const consumer = consumerFor(handler, options);
  const message = "raw" in input ? input.raw : encode(new EventCodec(eventTypes), input);
  const publisher = new CapturingPublisher();
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n"))
        if (line.trim() !== "") logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ level: "debug", destination, base: { consumer: consumer.name } });
  let writes: RecordedWrite[] = [];
  const eventStore =
    handler.kind === "archiver"
      ? new EventStore(options.firestore, eventTypes, { throttling: false })
      : undefined;
  const processor = new DeliveryProcessor({
    consumer,
    handler,
    eventTypes,
    firestore: options.firestore,
    publisher,
    metrics: new RuntimeMetrics(),
    logger,
    outsideCalls: new OutsideCalls(logger),
    ...(eventStore !== undefined && { eventStore }),
    ...(options.handlerTimeoutMs !== undefined && { handlerTimeoutMs: options.handlerTimeoutMs }),
    onWrites: (recorded) => (writes = [...recorded]),
  });
  const outcome = await processor.process({
    messageId: options.messageId ?? randomUUID(),
    data: message.data,
    attributes: message.attributes,
    deliveryAttempt: options.deliveryAttempt ?? 1,
  });
  await eventStore?.close();
  const codec = new EventCodec(eventTypes);
  const deadLetters = publisher.messages.filter((m) => m.topic === consumer.deadLetterTopic);
  const published = publisher.messages
    .filter((m) => m.topic !== consumer.deadLetterTopic)
    .map((m) => codec.decode(m, m.topic));
  return {
    outcome,
    published,
    deadLetters,
    writes: outcome.result === "handled" ? writes : [],
    logs,
  };
}
