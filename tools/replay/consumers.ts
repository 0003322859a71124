/**
 * Which consumers a replay runs: those named (by consumer or by handler name, a handler
 * standing for every consumer that runs it), and with `chain`, every consumer downstream of
 * them: a consumer on the topic of an event a member emits whose handler accepts that event,
 * and so on. The derived events a chained replay reproduces are not also read from the store.
 */
import type { ResolvedConsumer } from "../../infra/model/types";
import type { EventTypes } from "../../handlers/runtime/event-types";
import type { Handler, HandlerRegistry } from "../../handlers/runtime/handler";
import { ReplayError } from "./errors";

/** A consumer a replay runs, with its implementation. */
export interface ReplayConsumer {
  consumer: ResolvedConsumer;
  handler: Handler;
}

/** Declared consumers whose handler has an implementation that runs in a transaction (not the archivers). */
function runnable(eventTypes: EventTypes, registry: HandlerRegistry): ReplayConsumer[] {
  return eventTypes.system.consumers.flatMap((consumer) => {
    const handler = registry[consumer.handler];
    return handler?.kind === "handler" ? [{ consumer, handler }] : [];
  });
}

/**
 * The consumers `names` select, in declaration order, with their downstream consumers when
 * `chain` is set.
 * @throws ReplayError naming what is neither a consumer nor a handler with an implementation.
 */
export function replayConsumers(
  eventTypes: EventTypes,
  registry: HandlerRegistry,
  names: readonly string[],
  chain: boolean,
): ReplayConsumer[] {
  if (names.length === 0)
    throw new ReplayError("name at least one handler to replay through, e.g. campaign-processor");
  const candidates = runnable(eventTypes, registry);
  const chosen = new Set<string>();
  for (const name of names) {
    const matching = candidates.filter(
      (c) => c.consumer.name === name || c.consumer.handler === name,
    );
    if (matching.length === 0) {
      const known = [...new Set(candidates.map((c) => c.consumer.handler))].join(", ");
      throw new ReplayError(
        `no consumer or handler named ${name} can be replayed; the handlers are ${known}`,
      );
    }
    for (const c of matching) chosen.add(c.consumer.name);
  }
  for (let grown = chain; grown;) {
    grown = false;
    const emitted = new Set(
      candidates
        .filter((c) => chosen.has(c.consumer.name))
        .flatMap((c) => c.consumer.contract.emits),
    );
    for (const c of candidates) {
      if (chosen.has(c.consumer.name)) continue;
      if (
        c.handler.accepts.some(
          (type) => emitted.has(type) && eventTypes.find(type)?.topic === c.consumer.topic,
        )
      ) {
        chosen.add(c.consumer.name);
        grown = true;
      }
    }
  }
  return candidates.filter((c) => chosen.has(c.consumer.name));
}

/** The event types a chained replay reproduces, so reads none of from the store. */
export function reproducedTypes(consumers: readonly ReplayConsumer[]): Set<string> {
  return new Set(consumers.flatMap((c) => c.consumer.contract.emits));
}
