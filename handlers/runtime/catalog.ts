/**
 * The event catalog: each event type's protobuf message, topic and encoding, derived
 * from the system declaration (infra/system.ts), its single source of truth.
 */
import type { EventTypeOf, PayloadOf } from "../../infra/model/define";
import { resolveSystem } from "../../infra/model/resolve";
import type { Encoding, MessageClass, ResolvedEvent, ResolvedSystem, ResolvedTopic } from "../../infra/model/types";
import { system, type DeclaredSystem } from "../../infra/system";

/** Every event type the system declares, e.g. `"com.eventline.share.requested"`. */
export type EventType = EventTypeOf<DeclaredSystem["topics"]>;

/** The decoded payload of an event type: an instance of its generated message class. */
export type Payload<E extends EventType = EventType> = PayloadOf<DeclaredSystem["topics"], E>;

/** What a publisher may pass for an event's payload: the message, or a plain object of its fields. */
export type PayloadInput<E extends EventType = EventType> = Partial<Payload<E>> | Payload<E>;

/** One catalog entry. */
export interface CatalogEntry extends ResolvedEvent {
  /** The topic's wrapper message (its Pub/Sub schema and the body of every message on it). */
  schema: MessageClass;
  encoding: Encoding;
  orderingKey?: string;
}

/** Lookups over the event types of a resolved system. */
export class EventCatalog {
  private readonly entries = new Map<string, CatalogEntry>();
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

  /** The entry for a type, or undefined when the catalog does not know it. */
  find(type: string): CatalogEntry | undefined {
    return this.entries.get(type);
  }

  /** The entry for a type the caller knows to be declared. */
  get(type: EventType): CatalogEntry {
    const entry = this.entries.get(type);
    if (entry === undefined) throw new Error(`event type ${type} is not in the catalog`);
    return entry;
  }

  topic(name: string): ResolvedTopic | undefined {
    return this.topicsByName.get(name);
  }

  /** Every entry, in declaration order. */
  all(): CatalogEntry[] {
    return [...this.entries.values()];
  }
}

const catalogs = new Map<string, EventCatalog>();

/** The catalog of the declared system for a stack (resolved and validated once per stack). */
export function catalogFor(stack = "local"): EventCatalog {
  let catalog = catalogs.get(stack);
  if (catalog === undefined) {
    catalog = new EventCatalog(resolveSystem(system, stack));
    catalogs.set(stack, catalog);
  }
  return catalog;
}
