/**
 * router (docs/requirements.md, DP-5): routes a classified document by its category's rule and
 * confidence floor (routing-rules.ts) and publishes com.dip.routing.decided.
 */
import { PermanentError } from "../runtime/errors";
import { defineHandler } from "../runtime/handler";
import { documentIdFor } from "../runtime/idempotency";
import { documentStatus, newStatus } from "./document-status";
import { decideRoute } from "./routing-rules";

export const router = defineHandler({
  name: "router",
  accepts: ["com.dip.document.classified"],
  async handle(event, ctx) {
    const { documentId, category, confidence } = event.data;
    if (!documentId)
      throw new PermanentError("missing-document-id", "document.classified has no document id");
    const { route, reason } = decideRoute(category, confidence);
    ctx.publish("com.dip.routing.decided", { documentId, category, route, reason });
    await documentStatus.update(ctx, documentIdFor(documentId), (current) => ({
      ...(current ?? newStatus(documentId)),
      routing: { route, reason },
    }));
  },
});
