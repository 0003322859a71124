/**
 * The com.skillancer.email.send command a notification handler publishes. The template is
 * rendered once here, so a command naming a template or variables the dispatcher could not
 * render fails at its source (PermanentError), and its subject travels with it.
 *
 * The idempotency key is the cause's event id and the template: a redelivered cause makes the
 * same key, and the dispatcher sends each key at most once.
 */
import type { PayloadInput } from "../runtime/event-types";
import { renderEmail, type EmailTemplateName } from "./email-templates";

/** The command to send `template` to `to`. */
export function emailCommand(
  template: EmailTemplateName,
  to: string,
  variables: Readonly<Record<string, string>>,
  causeId: string,
): PayloadInput<"com.skillancer.email.send"> {
  return {
    to,
    template,
    subject: renderEmail(template, variables).subject,
    variables: { ...variables },
    idempotencyKey: `${causeId}:${template}`,
  };
}

/** An amount as the emails show it: two decimals. */
export function money(amount: number): string {
  return amount.toFixed(2);
}
