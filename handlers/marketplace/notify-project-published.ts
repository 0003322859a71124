/** notify-project-published (the notification service; docs/requirements.md, MP-6): tells the client the project is live. */
import { defineHandler } from "../runtime/handler";
import { emailCommand } from "./email-commands";
import { recipientEmail } from "./recipients";

export const notifyProjectPublished = defineHandler({
  name: "notify-project-published",
  accepts: ["com.skillancer.project.published"],
  async handle(event, ctx) {
    const project = event.data;
    const to = await recipientEmail(ctx, project.clientEmail, project.clientUserId, "client");
    ctx.publish(
      "com.skillancer.email.send",
      emailCommand(
        "project-published",
        to,
        { title: project.title, projectId: project.projectId },
        ctx.idempotencyKey,
      ),
    );
  },
});
