/**
 * The event types of a resolved declaration, and what the runtime looks up by type: each
 * one's protobuf message, topic, encoding and ordering key. The runtime is given the resolved
 * declaration (handlers/declared.ts resolves infra/system.ts); it takes only its types from
 * infra/system.ts, so handlers are typed by the declaration they run.
 */
import type { EventTypeOf, PayloadOf } from "../../infra/model/define";
import type {
  Encoding,
  MessageClass,
  ResolvedEvent,
  ResolvedSystem,
  ResolvedTopic,
} from "../../infra/model/types";
import type { DeclaredSystem } from "../../infra/system";
import { suggest } from "./suggest";

/** Every event type the system declares, e.g. `"com.eventline.share.requested"`. */
export type EventType = EventTypeOf<DeclaredSystem["topics"]>;

/** The decoded payload of an event type: an instance of its generated message class. */
export type Payload<E extends EventType = EventType> = PayloadOf<DeclaredSystem["topics"], E>;

/** What a publisher may pass for an event's payload: the message, or a plain object of its fields. */
export type PayloadInput<E extends EventType = EventType> = Partial<Payload<E>> | Payload<E>;

/** What the runtime knows of one event type. */
export interface EventTypeEntry extends ResolvedEvent {
  /** The topic's wrapper message (its Pub/Sub schema and the body of every message on it). */
  schema: MessageClass;
  encoding: Encoding;
  orderingKey?: string;
}

/** Lookups over the event types of a resolved system. */
export class EventTypes {
  private readonly entries = new Map<string, EventTypeEntry>();
  private readonly topicsByName = new Map<string, ResolvedTopic>();

  constructor(readonly system: ResolvedSystem) {
    for (const topic of system.topics) {
      this.topicsByName.set(topic.name, topic);
      for (const event of topic.events) {
        this.entries.set(event.type, {
          ...event,
          schema: topic.schema,
          encoding: topic.encoding,
          ...(topic.orderingKey !== undefined && { orderingKey: topic.orderingKey }),
        });
      }
    }
  }

  /** The entry for a type, or undefined when the declaration does not have it. */
  find(type: string): EventTypeEntry | undefined {
    return this.entries.get(type);
  }

  /** The entry for a type the caller knows to be declared. */
  get(type: EventType): EventTypeEntry {
    const entry = this.entries.get(type);
    if (entry === undefined) throw new Error(this.undeclared(type));
    return entry;
  }

  /** What to say of a consumer the declaration does not have: the closest declared one, and all of them. */
  undeclaredConsumer(name: string): string {
    const names = this.system.consumers.map((c) => c.name);
    return `no consumer named ${name}${suggest(name, names) || "."} Declared: ${names.join(", ")}`;
  }

  /** What to say of a type the declaration does not have: the closest declared one, if any is close. */
  undeclared(type: string): string {
    return `event type ${type} is not declared${suggest(type, [...this.entries.keys()])} (eventline catalog lists the types)`;
  }

  topic(name: string): ResolvedTopic | undefined {
    return this.topicsByName.get(name);
  }

  /** Every entry, in declaration order. */
  all(): EventTypeEntry[] {
    return [...this.entries.values()];
  }
}
