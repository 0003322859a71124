/**
 * responder (docs/requirements.md, DP-5): answers a routed document with its route's template
 * (response-templates.ts) and publishes com.dip.response.generated.
 */
import { PermanentError } from "../runtime/errors";
import { defineHandler } from "../runtime/handler";
import { documentIdFor } from "../runtime/idempotency";
import { documentStatus, newStatus } from "./document-status";
import { renderResponse } from "./response-templates";

export const responder = defineHandler({
  name: "responder",
  accepts: ["com.dip.routing.decided"],
  async handle(event, ctx) {
    const { documentId, route, category } = event.data;
    if (!documentId)
      throw new PermanentError("missing-document-id", "routing.decided has no document id");
    const { template, text } = renderResponse(route, documentId, category);
    ctx.publish("com.dip.response.generated", { documentId, route, template, responseText: text });
    await documentStatus.update(ctx, documentIdFor(documentId), (current) => ({
      ...(current ?? newStatus(documentId)),
      response: { template, text },
    }));
  },
});
