/**
 * fatigue-detector (docs/requirements.md, MO-6): keeps each creative's CTR by day from its
 * analyzed events, fits the exponential decay (decay-fit.ts) and publishes
 * com.eventline.creative.fatigue_detected when the creative crosses into fatigue
 * (fatigue.ts): once per crossing, not on every later observation. A creative whose CTR
 * recovers leaves fatigue and may cross again.
 *
 * The series is keyed by day, so a repeated or restated observation of a day replaces it.
 * Projection `creative-fatigue/<creativeId>`.
 */
import { PermanentError } from "../runtime/errors";
import { defineHandler } from "../runtime/handler";
import { documentIdFor } from "../runtime/idempotency";
import { defineProjection } from "../runtime/projections";
import type { DecayFit } from "./decay-fit";
import { assessFatigue } from "./fatigue";

export interface CreativeFatigueView {
  creativeId: string;
  campaignId: string;
  /** CTR by day since the creative went live (keys are the day numbers). */
  series: Record<string, number>;
  fit: DecayFit | null;
  fatigued: boolean;
  score: number;
  /** Days left until the fitted CTR halves from day 0's; null while it is not falling or not fitted. */
  daysRemaining: number | null;
  /** ce-time of the observation that last crossed into fatigue. */
  detectedAt: string | null;
}

export const creativeFatigue = defineProjection<CreativeFatigueView>("creative-fatigue");

export const fatigueDetector = defineHandler({
  name: "fatigue-detector",
  accepts: ["com.eventline.creative.analyzed"],
  async handle(event, ctx) {
    const analyzed = event.data;
    if (!analyzed.creativeId)
      throw new PermanentError("invalid-creative", "creative.analyzed without a creative id");
    if (!(analyzed.ctr >= 0 && analyzed.ctr <= 1))
      throw new PermanentError(
        "invalid-ctr",
        `creative ${analyzed.creativeId}: CTR ${analyzed.ctr} is not a rate between 0 and 1`,
      );
    const id = documentIdFor(analyzed.creativeId);
    const current = await creativeFatigue.get(ctx, id);
    const series = { ...current?.series, [String(analyzed.day)]: analyzed.ctr };
    const verdict = assessFatigue(
      Object.entries(series).map(([day, ctr]) => ({ day: Number(day), ctr })),
    );
    const fatigued = verdict?.fatigued ?? false;
    const crossed = fatigued && !(current?.fatigued ?? false);
    const campaignId = analyzed.campaignId || current?.campaignId || "";
    if (crossed) {
      ctx.publish("com.eventline.creative.fatigue_detected", {
        creativeId: analyzed.creativeId,
        campaignId,
        fatigueScore: verdict!.score,
        decayCurve: verdict!.curve,
        curveStartDay: verdict!.curveStartDay,
        predictedDaysRemaining: verdict!.daysRemaining,
        decayRate: verdict!.fit.decayRate,
        initialCtr: verdict!.fit.initialCtr,
        rSquared: verdict!.fit.rSquared,
      });
    }
    await creativeFatigue.update(ctx, id, () => ({
      creativeId: analyzed.creativeId,
      campaignId,
      series,
      fit: verdict?.fit ?? null,
      fatigued,
      score: verdict?.score ?? 0,
      daysRemaining:
        verdict !== undefined && Number.isFinite(verdict.daysRemaining)
          ? verdict.daysRemaining
          : null,
      detectedAt: crossed ? ctx.delivery.time : fatigued ? (current?.detectedAt ?? null) : null,
    }));
  },
});
