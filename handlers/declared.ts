/**
 * The declaration this image ships (infra/system.ts), resolved per stack: what the image's
 * entrypoint, the gateway, the tracker, the test helper and the tools hand the runtime. The
 * runtime itself is given a resolved declaration and never reads infra/system.ts.
 */
import { resolveSystem } from "../infra/model/resolve";
import { system } from "../infra/system";
import { EventTypes } from "./runtime/event-types";

const byStack = new Map<string, EventTypes>();

/** The event types of the declared system for `stack` (resolved and validated once per stack). */
export function eventTypesFor(stack = "local"): EventTypes {
  let eventTypes = byStack.get(stack);
  if (eventTypes === undefined) {
    eventTypes = new EventTypes(resolveSystem(system, stack));
    byStack.set(stack, eventTypes);
  }
  return eventTypes;
}

/**
 * Where hook `name` sends on `stack`: the declaration's URL, or the stack's override
 * (`stacks.<stack>.hooks`). Undefined for a name no hook has.
 */
export function hookUrlFor(name: string, stack = "local"): string | undefined {
  return eventTypesFor(stack).system.consumers.find((consumer) => consumer.name === name)?.hook
    ?.url;
}
