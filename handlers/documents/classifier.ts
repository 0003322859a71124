/**
 * classifier (docs/requirements.md, DP-4): classifies an ingested document's text with the
 * multinomial naive Bayes model trained at build time (`npm run train` → model.json; naive-bayes.ts) and
 * publishes com.dip.document.classified with the most probable category, its posterior as the
 * confidence, and every category's posterior. A text with no known word gets the priors, and
 * the router's confidence floors send it to manual review.
 */
import { PermanentError } from "../runtime/errors";
import { defineHandler } from "../runtime/handler";
import { documentIdFor } from "../runtime/idempotency";
import { documentStatus, newStatus } from "./document-status";
import trained from "./model.json";
import { classify, type NaiveBayesModel } from "./naive-bayes";

/** The shipped model. */
export const model: NaiveBayesModel = trained;

export const classifier = defineHandler({
  name: "classifier",
  accepts: ["com.dip.document.ingested"],
  async handle(event, ctx) {
    const document = event.data;
    if (!document.documentId)
      throw new PermanentError("missing-document-id", "document.ingested has no document id");
    const { category, confidence, posteriors } = classify(model, document.text);
    ctx.publish("com.dip.document.classified", {
      documentId: document.documentId,
      category,
      confidence,
      scores: posteriors,
    });
    await documentStatus.update(ctx, documentIdFor(document.documentId), (current) => ({
      ...(current ?? newStatus(document.documentId)),
      classification: { category, confidence, scores: posteriors },
    }));
  },
});
