/**
 * `defineHandler`: a handler is a pure function over a typed event and a context; the
 * transport (push or pull, ack or nack, dead-lettering, idempotency) lives in the runtime.
 * Its type comes from the declaration (infra/system.ts): `name` must be one of the declared
 * handlers, `accepts` a non-empty subset of that contract's accepts (types outside it do not
 * compile), `event.data` is the union of the accepted payloads (narrowed by `event.type`), and
 * `ctx.publish` takes only the types the contract emits.
 *
 * The rules a handler follows, because the runtime retries:
 * - Everything it writes to Firestore goes through `ctx.transaction`. The runtime records the
 *   event as processed in the same commit, so a redelivered event changes nothing twice. (Runs a
 *   batch can commit, reads included when the run writes what it read, are committed in
 *   groups: commit-groups.ts.)
 * - `ctx.publish` stages events; they are published after the transaction commits, with ids
 *   derived from the cause, so neither a retried transaction nor a crash publishes twice
 *   under different ids.
 * - Firestore may run the function again when the transaction meets contention, and the
 *   runtime does when a grouped run cannot be committed as a batch or a document it read
 *   changed before its commit (commit-groups.ts). So a call to
 *   an outside service (SMTP, an SMS provider) goes through an adapter that passes
 *   `ctx.idempotencyKey` to the provider (or checks it in the provider's own records) and
 *   through `ctx.breaker(name)`, so a repeated call has no second effect. A run committed
 *   before its record is looked up (commit-groups.ts) may be a duplicate: there
 *   `ctx.breaker(name)` throws, and the runtime runs the event again after the lookup, if it
 *   is new (catching that error changes nothing: the run is discarded all the same).
 * - Throw {@link RetryableError} for what may pass (a timeout, a 503), {@link PermanentError}
 *   for what never will (a rejected recipient): the first is retried with the subscription's
 *   backoff, the second dead-lettered at once. Any other error counts as retryable.
 */
import type { Firestore } from "@google-cloud/firestore";
import type { Logger } from "pino";
import type { ResolvedConsumer } from "../../infra/model/types";
import type { DeclaredSystem } from "../../infra/system";
import type { EventType, PayloadInput } from "./event-types";
import type { DecodedEvent } from "./codec";
import type { HandlerMetrics } from "./metrics";
import type { OutsideCall, OutsideCallOptions } from "./resilience";
import type { HandlerTransaction } from "./transaction";

type Contracts = DeclaredSystem["handlers"];

/** The name of a declared handler contract, e.g. `"email-sender"`. */
export type HandlerName = keyof Contracts & string;

/** The event types handler `N`'s contract accepts. */
export type AcceptedBy<N extends HandlerName> = Extract<Contracts[N]["accepts"][number], EventType>;

/** The event types handler `N`'s contract may publish (none when it declares no `emits`). */
export type EmittedBy<N extends HandlerName> = Contracts[N] extends {
  readonly emits: readonly (infer E)[];
}
  ? Extract<E, EventType>
  : never;

/** A decoded event of one of the types `E`: `event.type` narrows `event.data`. */
export type HandlerEvent<E extends EventType> = E extends EventType ? DecodedEvent<E> : never;

/** What the runtime knows about the event being handled and its delivery. */
export interface DeliveryInfo {
  readonly id: string;
  readonly type: EventType;
  readonly source: string;
  /** RFC 3339 time the event occurred. */
  readonly time: string;
  readonly subject?: string;
  readonly correlationId: string;
  readonly causationId?: string;
  readonly traceparent?: string;
  /** 1 on the first delivery; undefined when the transport does not count (no dead-letter policy). */
  readonly deliveryAttempt: number | undefined;
  /** The Pub/Sub message id of this delivery. */
  readonly messageId: string;
  /** The consumer (and subscription) delivering it. */
  readonly consumer: string;
  readonly topic: string;
}

/** What a handler may add to an event it publishes; the runtime sets the rest. */
export interface PublishOptions {
  /** Default: the payload field the catalog names as the type's subject. */
  subject?: string;
  /** Extension attributes, by name without `ce-`. Default: none. */
  extensions?: Readonly<Record<string, string>>;
}

/** Everything a handler gets besides the event. */
export interface HandlerContext<N extends HandlerName = HandlerName> {
  readonly delivery: DeliveryInfo;
  /** The event id: pass it to outside services so a repeated call has no second effect. */
  readonly idempotencyKey: string;
  /**
   * Stages an event caused by this one (same correlation id, causation id = this event's id,
   * same trace); it is published once the transaction commits. Only the contract's `emits`.
   * @returns the new event's id.
   * @throws PermanentError("undeclared-emit") for a type the contract does not emit.
   * @throws EncodeError when the payload does not fit its message.
   */
  publish<E extends EmittedBy<N>>(type: E, data: PayloadInput<E>, options?: PublishOptions): string;
  /** The transaction for the handler's own Firestore writes (see transaction.ts). */
  readonly transaction: HandlerTransaction;
  /** For building document references; write only through `transaction`. */
  readonly firestore: Firestore;
  /** A logger whose every line carries the event's id, correlation and causation ids and trace. */
  readonly log: Logger;
  readonly metrics: HandlerMetrics;
  /**
   * The named outside service's policies: bulkhead, retry with backoff, circuit breaker and
   * timeout (resilience.ts), shared by every call in the process. Options come from the
   * handler's `outside` declaration.
   */
  breaker(name: string): OutsideCall;
  /** Aborts when the runtime stops waiting for the handler (its ack deadline passed). */
  readonly signal: AbortSignal;
}

/** A handler implementation for contract `N`, handling the types `E`. */
export interface Handler<N extends HandlerName = HandlerName, E extends EventType = EventType> {
  readonly kind: "handler";
  readonly name: N;
  readonly accepts: readonly [E, ...E[]];
  /** Options per outside service the handler calls through `ctx.breaker(name)`. Default: resilience.ts defaults. */
  readonly outside?: Readonly<Record<string, OutsideCallOptions>>;
  handle(event: HandlerEvent<E>, ctx: HandlerContext<N>): Promise<void> | void;
}

/** A platform handler with its own delivery path (the archiver writes in bulk, not per transaction). */
export interface BuiltInHandler {
  readonly kind: "archiver";
  readonly name: string;
}

export type RegisteredHandler = Handler | BuiltInHandler;

/** Handler implementations by contract name (handlers/registry.ts is the image's). */
export type HandlerRegistry = Readonly<Record<string, RegisteredHandler>>;

/**
 * Defines a handler for a declared contract; the compiler holds it to the contract. The runtime
 * checks the implementation against the declaration it is given ({@link checkImplementation}).
 */
export function defineHandler<
  const N extends HandlerName,
  const A extends readonly [AcceptedBy<N>, ...AcceptedBy<N>[]],
>(definition: {
  name: N;
  accepts: A;
  outside?: Readonly<Record<string, OutsideCallOptions>>;
  handle(event: HandlerEvent<A[number]>, ctx: HandlerContext<N>): Promise<void> | void;
}): Handler<N, A[number]> {
  return { kind: "handler", ...definition };
}

/**
 * Whether `handler` implements `consumer`'s contract: its name, and no accepted type outside
 * the contract (only possible by going around the types).
 * @throws Error naming the difference.
 */
export function checkImplementation(consumer: ResolvedConsumer, handler: RegisteredHandler): void {
  if (handler.kind !== "handler") return;
  if (handler.name !== consumer.handler)
    throw new Error(
      `consumer ${consumer.name} runs handler ${consumer.handler}, but was given ${handler.name}`,
    );
  const outside = handler.accepts.filter((type) => !consumer.contract.accepts.includes(type));
  if (outside.length > 0)
    throw new Error(
      `handler ${handler.name} accepts ${outside.join(", ")}, which its contract in the declaration does not`,
    );
}

/** Indexes implementations by name. */
export function registryOf(...handlers: readonly RegisteredHandler[]): HandlerRegistry {
  return Object.fromEntries(handlers.map((handler) => [handler.name, handler]));
}
