/**
 * What each consumer's handler should do with verify's sample event of each type it accepts,
 * when it is the only workload running (nothing upstream has run, no state exists). Most
 * handle it. Where a handler rightly does not, the exception is listed here with its reason,
 * so verify checks that outcome instead and a change of behaviour shows.
 */
import type { ResolvedConsumer } from "../../infra/model/types";

/** What should become of an event. */
export type Outcome = "handled" | "retried";

export interface ExpectedOutcome {
  outcome: Outcome;
  /** Why, when it is not "handled". */
  because?: string;
}

/** Exceptions by handler, then by event type. */
const exceptions: Readonly<Record<string, Readonly<Record<string, ExpectedOutcome>>>> = {};

/** The outcome `consumer`'s handler should give verify's sample of `type`. */
export function expectedOutcome(consumer: ResolvedConsumer, type: string): ExpectedOutcome {
  return exceptions[consumer.handler]?.[type] ?? { outcome: "handled" };
}
