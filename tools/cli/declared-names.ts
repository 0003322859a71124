/**
 * Names the user types that the declaration must have: an event type, a consumer. A name it
 * does not have is refused before anything starts, with the closest declared one.
 */
import { eventTypesFor } from "../../handlers/declared";
import type { EventTypes } from "../../handlers/runtime/event-types";
import type { ResolvedConsumer } from "../../infra/model/types";
import { UserError } from "./errors";
import { LOCAL_STACK } from "../local/settings";

/** `type` when the declaration has it. @throws UserError naming the closest declared type. */
export function declaredType(type: string, option = "--type"): string {
  const eventTypes = eventTypesFor(LOCAL_STACK);
  if (eventTypes.find(type) === undefined)
    throw new UserError(`${option} ${type}: ${eventTypes.undeclared(type)}`);
  return type;
}

/** The declared consumer called `name`. @throws UserError naming the closest, and listing them all. */
export function consumerNamed(eventTypes: EventTypes, name: string): ResolvedConsumer {
  const consumer = eventTypes.system.consumers.find((c) => c.name === name);
  if (consumer === undefined) throw new UserError(eventTypes.undeclaredConsumer(name));
  return consumer;
}

/** The consumer of the local declaration called `name`. @throws UserError as {@link consumerNamed}. */
export function declaredConsumer(name: string): ResolvedConsumer {
  return consumerNamed(eventTypesFor(LOCAL_STACK), name);
}
