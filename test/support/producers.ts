/**
 * Who posts what, as the tests that drive a gateway need it: the declared producer of an event
 * type and a source under its prefixes, so a request is admitted as that producer.
 */
import type { ResolvedSystem } from "../../infra/model/types";

export interface Poster {
  producer: string;
  source: string;
}

/** The first declared producer of `type`, and its first source. @throws when none posts it. */
export function posterOf(system: ResolvedSystem, type: string): Poster {
  const producer = system.producers.find((p) => p.publishes.includes(type));
  if (producer === undefined) throw new Error(`no declared producer posts ${type}`);
  return { producer: producer.name, source: producer.sources[0]! };
}

/** The declared producer that posts share requests. @throws when none does. */
export function sharer(system: ResolvedSystem): string {
  const producer = system.producers.find((p) => p.shares);
  if (producer === undefined) throw new Error("no declared producer posts share requests");
  return producer.name;
}
