import { describe, expect, it } from "vitest";
import { classifier, model } from "../../handlers/documents/classifier";
import { documentStatus } from "../../handlers/documents/document-status";
import { classify } from "../../handlers/documents/naive-bayes";
import { responder } from "../../handlers/documents/responder";
import { router } from "../../handlers/documents/router";
import type { DecodedEvent } from "../../handlers/runtime/codec";
import type { Handler } from "../../handlers/runtime/handler";
import { runHandler, type EventInput } from "../../handlers/testing/run-handler";
import { useEmulators } from "../support/emulators";

const env = useEmulators();
const plain = (data: object) => JSON.parse(JSON.stringify(data)) as Record<string, unknown>;

/** Delivers a published event to the next handler as the transport would: same id, context and payload. */
function forward(event: DecodedEvent): EventInput {
  const { meta } = event;
  return {
    type: event.type,
    data: event.data as never,
    id: meta.id,
    source: meta.source,
    time: meta.time,
    correlationId: meta.correlationId,
    ...(meta.causationId !== undefined && { causationId: meta.causationId }),
  };
}

async function pipeline(ingested: EventInput) {
  const steps: [Handler, EventInput][] = [[classifier, ingested]];
  const published: DecodedEvent[] = [];
  for (const next of [router, responder, undefined]) {
    const [handler, input] = steps[steps.length - 1]!;
    const run = await runHandler(handler, input, { firestore: env.firestore });
    expect(run.outcome, handler.name).toEqual({ action: "ack", result: "handled" });
    expect(run.published).toHaveLength(1);
    published.push(run.published[0]!);
    if (next !== undefined) steps.push([next, forward(run.published[0]!)]);
  }
  return { steps, published };
}

describe("the document pipeline", () => {
  const ingested: EventInput = {
    id: "doc-e1",
    correlationId: "corr-doc-1",
    type: "com.dip.document.ingested",
    data: {
      documentId: "doc-123",
      contentType: "application/pdf",
      size: 1_024_000,
      filename: "invoice.pdf",
      text: "Invoice 42: amount due",
    },
  };

  it("classifies, routes and answers an invoice in one flow, each step caused by the last", async () => {
    const { published } = await pipeline(ingested);
    const expected = classify(model, "Invoice 42: amount due");
    expect(published.map((e) => e.type)).toEqual([
      "com.dip.document.classified",
      "com.dip.routing.decided",
      "com.dip.response.generated",
    ]);
    expect(plain(published[0]!.data)).toEqual({
      documentId: "doc-123",
      category: "invoice",
      confidence: expected.confidence,
      scores: expected.posteriors,
    });
    expect(plain(published[1]!.data)).toEqual({
      documentId: "doc-123",
      category: "invoice",
      route: "accounts-payable",
      reason: `category invoice with confidence ${expected.confidence.toFixed(2)} (floor 0.60)`,
    });
    expect(plain(published[2]!.data)).toEqual({
      documentId: "doc-123",
      route: "accounts-payable",
      template: "invoice-received",
      responseText:
        "Thank you. We have received your invoice (reference doc-123) and passed it to accounts payable for processing.",
    });
    expect(published.map((e) => e.meta.correlationId)).toEqual([
      "corr-doc-1",
      "corr-doc-1",
      "corr-doc-1",
    ]);
    expect(published.map((e) => e.meta.causationId)).toEqual([
      "doc-e1",
      published[0]!.meta.id,
      published[1]!.meta.id,
    ]);
    expect((await documentStatus.ref(env.firestore, "doc-123").get()).data()).toEqual({
      documentId: "doc-123",
      classification: {
        category: "invoice",
        confidence: expected.confidence,
        scores: expected.posteriors,
      },
      routing: {
        route: "accounts-payable",
        reason: `category invoice with confidence ${expected.confidence.toFixed(2)} (floor 0.60)`,
      },
      response: {
        template: "invoice-received",
        text: "Thank you. We have received your invoice (reference doc-123) and passed it to accounts payable for processing.",
      },
    });
  });

  it("sends a document it cannot place to manual review", async () => {
    const { published } = await pipeline({
      id: "doc-e2",
      type: "com.dip.document.ingested",
      data: { documentId: "doc-9", text: "Xylophone zeppelin" },
    });
    // Neither word is in the vocabulary: the posteriors are the priors, 14/70 = 0.2 each, under every floor.
    expect((published[0]!.data as { confidence: number }).confidence).toBeCloseTo(0.2, 14);
    expect(plain(published[1]!.data)).toMatchObject({
      route: "manual-review",
      reason: "confidence 0.20 is below the complaint floor 0.50",
    });
    expect(plain(published[2]!.data)).toMatchObject({ template: "document-received" });
  });

  it("changes nothing and publishes nothing when every step's event is delivered once more", async () => {
    const { steps } = await pipeline({
      ...ingested,
      id: "doc-e3",
      data: { ...(ingested.data as object), documentId: "doc-124" },
    });
    const before = (await documentStatus.ref(env.firestore, "doc-124").get()).data();
    for (const [handler, input] of steps) {
      const run = await runHandler(handler, input, { firestore: env.firestore });
      expect(run.outcome).toEqual({ action: "ack", result: "duplicate" });
      expect(run.published).toEqual([]);
    }
    expect((await documentStatus.ref(env.firestore, "doc-124").get()).data()).toEqual(before);
  });
});
