/**
 * creative-analyzer (docs/requirements.md, MO-5): turns a submitted creative into
 * com.eventline.creative.analyzed with its feature embedding (feature-hashing.ts over
 * creative-genome.ts's tokens) and its attention scores (attention.ts), and keeps the
 * analysis in the `creatives` projection. Both are pure functions of the genome, so a
 * resubmitted creative gets the same analysis, and the latest observation (day, CTR,
 * impressions) rides along for the fatigue detector.
 */
import type { marketing } from "../../proto/gen";
import { PermanentError } from "../runtime/errors";
import { defineHandler } from "../runtime/handler";
import { documentIdFor } from "../runtime/idempotency";
import { defineProjection } from "../runtime/projections";
import { attentionScores } from "./attention";
import { genomeTokens } from "./creative-genome";
import { hashedEmbedding } from "./feature-hashing";

export interface CreativeView {
  creativeId: string;
  campaignId: string;
  genome: marketing.v1.ICreativeGenome;
  embedding: number[];
  attention: { overall: number; byElement: Record<string, number> };
  /** The latest observation submitted with the creative. */
  latest: { day: number; ctr: number; impressions: number };
}

export const creatives = defineProjection<CreativeView>("creatives");

export const creativeAnalyzer = defineHandler({
  name: "creative-analyzer",
  accepts: ["com.eventline.creative.submitted"],
  async handle(event, ctx) {
    const submitted = event.data;
    if (!submitted.creativeId)
      throw new PermanentError("invalid-creative", "creative.submitted without a creative id");
    if (!submitted.genome)
      throw new PermanentError(
        "invalid-creative",
        `creative ${submitted.creativeId} has no genome to analyze`,
      );
    const genome: marketing.v1.ICreativeGenome = {
      hook: submitted.genome.hook ?? "",
      promise: submitted.genome.promise ?? "",
      frame: submitted.genome.frame ?? "",
      cta: submitted.genome.cta ?? "",
      format: submitted.genome.format ?? "",
      durationSeconds: submitted.genome.durationSeconds ?? 0,
    };
    const embedding = hashedEmbedding(genomeTokens(genome));
    const attention = attentionScores(genome);
    ctx.publish("com.eventline.creative.analyzed", {
      creativeId: submitted.creativeId,
      campaignId: submitted.campaignId,
      genome,
      embedding,
      attentionScores: attention,
      impressions: submitted.impressions,
      ctr: submitted.ctr,
      day: submitted.day,
    });
    await creatives.update(ctx, documentIdFor(submitted.creativeId), () => ({
      creativeId: submitted.creativeId,
      campaignId: submitted.campaignId,
      genome,
      embedding,
      attention,
      latest: {
        day: submitted.day,
        ctr: submitted.ctr,
        impressions: Number(submitted.impressions),
      },
    }));
  },
});
