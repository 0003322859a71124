/** notify-user-created (the notification service; docs/requirements.md, MP-6): the welcome email. */
import { PermanentError } from "../runtime/errors";
import { defineHandler } from "../runtime/handler";
import { emailCommand } from "./email-commands";

export const notifyUserCreated = defineHandler({
  name: "notify-user-created",
  accepts: ["com.skillancer.user.created"],
  handle(event, ctx) {
    const user = event.data;
    if (!user.email)
      throw new PermanentError("no-recipient", `user.created for ${user.userId} has no email`);
    // Greet by the display name, or by the address's local part when there is none.
    const name = user.displayName || user.email.split("@")[0]!;
    ctx.publish(
      "com.skillancer.email.send",
      emailCommand("welcome", user.email, { name }, ctx.idempotencyKey),
    );
  },
});
