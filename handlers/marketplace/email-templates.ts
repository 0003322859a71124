/**
 * The marketplace's transactional emails. A notification handler names a template and its
 * variables in a com.skillancer.email.send command; the dispatcher renders it here. Keeping
 * the wording in one place means a command replayed later renders the same way as the first
 * time, and a command naming no known template fails once (dead-lettered) instead of
 * sending a broken email.
 */
import { PermanentError } from "../runtime/errors";

interface Template {
  subject: string;
  text: string;
}

/** Templates by name; `{{name}}` is replaced by the variable `name`, which must be given. */
export const EMAIL_TEMPLATES = {
  welcome: {
    subject: "Welcome to Skillancer, {{name}}",
    text: "Hi {{name}},\n\nWelcome to Skillancer. Your account is ready.\n",
  },
  "project-published": {
    subject: 'Your project "{{title}}" is live',
    text: 'Hi,\n\nYour project "{{title}}" ({{projectId}}) is now published and visible to freelancers.\n',
  },
  "booking-created-freelancer": {
    subject: "New booking {{bookingId}}",
    text: "Hi,\n\nYou have been booked for project {{projectId}}, starting {{startDate}}, for {{amount}} {{currency}}.\n",
  },
  "booking-created-client": {
    subject: "Booking {{bookingId}} confirmed",
    text: "Hi,\n\nYour booking {{bookingId}} for project {{projectId}} starts {{startDate}}. Amount: {{amount}} {{currency}}.\n",
  },
  "payment-receipt": {
    subject: "Receipt for booking {{bookingId}}",
    text: "Hi,\n\nWe received your payment {{paymentId}} of {{amount}} {{currency}} for booking {{bookingId}}.\nReference: {{providerReference}}\n",
  },
} as const satisfies Record<string, Template>;

export type EmailTemplateName = keyof typeof EMAIL_TEMPLATES;

/** A rendered email. */
export interface RenderedEmail {
  subject: string;
  text: string;
}

function fill(text: string, variables: Readonly<Record<string, string>>, template: string): string {
  return text.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const value = variables[name];
    if (value === undefined)
      throw new PermanentError(
        "missing-variable",
        `email template ${template} needs the variable ${name}`,
      );
    return value;
  });
}

/**
 * Renders a template.
 * @throws PermanentError("unknown-template") for a template not in {@link EMAIL_TEMPLATES},
 *   ("missing-variable") when a variable it uses is not given.
 */
export function renderEmail(
  template: string,
  variables: Readonly<Record<string, string>>,
): RenderedEmail {
  const found = (EMAIL_TEMPLATES as Readonly<Record<string, Template>>)[template];
  if (found === undefined)
    throw new PermanentError(
      "unknown-template",
      `no email template named ${template} (known: ${Object.keys(EMAIL_TEMPLATES).join(", ")})`,
    );
  return {
    subject: fill(found.subject, variables, template),
    text: fill(found.text, variables, template),
  };
}
