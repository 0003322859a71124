/**
 * One realistic payload per declared event type, and variants where one type takes several
 * routes (a share over each channel). Tests, `eventline verify` and the catalog use them; the
 * mapped type makes the compiler fail when a type is added to the declaration without a sample.
 */
import type { EventType, PayloadInput } from "../../handlers/runtime/event-types";

export const samplePayloads: { [E in EventType]: PayloadInput<E> } = {
  "com.eventline.share.requested": { invitationId: "inv-1", senderUserId: "user-1", cardId: "card-1", channel: "email", recipient: "ana@example.com", shareMetadata: { campaign: "spring" } },
  "com.eventline.share.completed": { invitationId: "inv-1", messageId: "<m1@smtp>", retryCount: 1, processingTimeMs: 87, channel: "email", cardId: "card-1", senderUserId: "user-1" },
  "com.eventline.share.failed": { invitationId: "inv-2", channel: "sms", reason: "invalid number", retryCount: 0, processingTimeMs: 12, cardId: "card-1", senderUserId: "user-1" },
  "com.eventline.invitation.opened": { invitationId: "inv-1", cardId: "card-1", senderUserId: "user-1", channel: "email", userAgent: "Mail/1.0" },
  "com.eventline.invitation.clicked": { invitationId: "inv-1", cardId: "card-1", senderUserId: "user-1", channel: "email", targetUrl: "https://example.com/card-1" },
  "com.eventline.invitation.converted": { invitationId: "inv-1", cardId: "card-1", senderUserId: "user-1", channel: "email", convertedUserId: "user-9", conversionValue: 19.9 },
  "com.eventline.campaign.created": {
    campaignId: "cmp-1",
    accountId: "acct-1",
    platform: 2,
    budget: { currency: "EUR", dailyBudget: 100, totalBudget: 3000, targetCpa: 12.5, pacing: 1, startDate: "2026-11-01", endDate: "2026-11-30" },
    targeting: { countries: ["DE", "FR"], languages: ["de"], ageMin: 25, ageMax: 54, interests: ["cycling"], devices: ["mobile"] },
  },
  "com.eventline.campaign.performance_reported": { campaignId: "cmp-1", metrics: { impressions: 120_000, clicks: 2400, conversions: 96, spend: 1320.5, cpm: 11.0, ctr: 0.02, cpa: 13.75 }, window: 2, windowStart: "2026-11-22T00:00:00Z" },
  "com.eventline.campaign.optimized": { campaignId: "cmp-1", action: { type: 2, amount: -0.2, target: "adgroup-7" }, reasoning: "CPA above target for 3 days", predictedImpact: 0.11, agentId: "agent-budget" },
  "com.eventline.campaign.optimization_required": { campaignId: "cmp-1", reason: "CPA 13.75 exceeds target 12.50", priority: 3 },
  "com.eventline.creative.submitted": { creativeId: "cr-1", campaignId: "cmp-1", genome: { hook: "question", promise: "save time", frame: "testimonial", cta: "try free", format: "video", durationSeconds: 15 }, impressions: 5000, ctr: 0.031, day: 2 },
  "com.eventline.creative.analyzed": {
    creativeId: "cr-1",
    genome: { hook: "question", promise: "save time", frame: "testimonial", cta: "try free", format: "video", durationSeconds: 15 },
    embedding: [0.5, -0.25, 0.125],
    attentionScores: { overall: 0.7, byElement: { hook: 0.9, cta: 0.4 } },
    campaignId: "cmp-1",
    impressions: 5000,
    ctr: 0.031,
    day: 2,
  },
  "com.eventline.creative.fatigue_detected": { creativeId: "cr-1", fatigueScore: 0.82, decayCurve: [0.031, 0.027, 0.024], predictedDaysRemaining: 3.5 },
  "com.eventline.creative.mutated": { parentId: "cr-1", childId: "cr-2", mutationType: 1, mutationVector: [0.25, 0.5] },
  "com.eventline.attribution.touchpoint_recorded": { userId: "user-5", touchpoint: { channel: "search", campaign: "cmp-1", creative: "cr-1", timestamp: { seconds: 1_795_000_000, nanos: 5_000_000 } }, sessionId: "s-1" },
  "com.eventline.attribution.conversion_recorded": { conversionId: "conv-1", userId: "user-5", value: 49, sessionId: "s-2" },
  "com.eventline.attribution.conversion_attributed": { conversionId: "conv-1", userId: "user-5", attributionModel: 2, creditDistribution: { search: 0.6, social: 0.4 }, counterfactualLift: 0.18 },
  "com.skillancer.user.created": { userId: "usr_123", email: "user@example.com", role: 1, displayName: "Ana", revision: 1 },
  "com.skillancer.user.updated": { userId: "usr_123", email: "user@example.com", role: 1, displayName: "Ana B.", skills: ["typescript"], revision: 2 },
  "com.skillancer.project.created": { projectId: "prj-1", clientUserId: "usr_9", title: "Event pipeline", description: "Pub/Sub work", budget: 5000, currency: "USD", skills: ["gcp"], revision: 1 },
  "com.skillancer.project.published": { projectId: "prj-1", clientUserId: "usr_9", title: "Event pipeline", revision: 2, clientEmail: "client@example.com" },
  "com.skillancer.booking.created": { bookingId: "bk-1", projectId: "prj-1", freelancerUserId: "usr_123", clientUserId: "usr_9", amount: 5000, currency: "USD", startDate: "2026-12-01", freelancerEmail: "user@example.com", clientEmail: "client@example.com" },
  "com.skillancer.payment.completed": { paymentId: "pay-1", bookingId: "bk-1", amount: 5000, currency: "USD", providerReference: "ch_1", payerEmail: "client@example.com" },
  "com.skillancer.email.send": { to: "user@example.com", template: "welcome", subject: "Welcome", variables: { name: "Ana" }, idempotencyKey: "evt-1" },
  "com.skillancer.search.index_project": { projectId: "prj-1", reason: "published" },
  "com.dip.document.ingested": { documentId: "doc-123", contentType: "application/pdf", size: 1_024_000, filename: "invoice.pdf", text: "Invoice 42: amount due" },
  "com.dip.document.classified": { documentId: "doc-123", category: "invoice", confidence: 0.93, scores: { invoice: 0.93, contract: 0.07 } },
  "com.dip.routing.decided": { documentId: "doc-123", category: "invoice", route: "accounts-payable", reason: "category invoice" },
  "com.dip.response.generated": { documentId: "doc-123", route: "accounts-payable", template: "invoice-received", responseText: "We received your invoice." },
};

/** Further payloads of a type, for consumers whose filter the first sample does not pass. */
export const sampleVariants: { [E in EventType]?: readonly PayloadInput<E>[] } = {
  "com.eventline.share.requested": [
    { invitationId: "inv-2", senderUserId: "user-1", cardId: "card-1", channel: "sms", recipient: "+4915112345678", shareMetadata: { campaign: "spring" } },
    { invitationId: "inv-3", senderUserId: "user-1", cardId: "card-1", channel: "whatsapp", recipient: "+4915112345679", shareMetadata: { campaign: "spring" } },
  ],
};

/** Every sample payload of `type`: the first, then its variants. */
export function samplesOf<E extends EventType>(type: E): PayloadInput<E>[] {
  return [samplePayloads[type], ...((sampleVariants[type] ?? []) as PayloadInput<E>[])];
}
