/**
 * What a strategy's replay of marketing traffic led to, read from the projections it left and
 * the events it published: the optimizations the campaign processor asked for (how many, how
 * urgent, for how many campaigns, and their summed predicted impact), and the conversions
 * the attribution builder credited to each channel under the strategy's model.
 */
import type { Firestore } from "@google-cloud/firestore";
import { marketing } from "../../proto/gen";
import type { ChannelCreditView } from "../../handlers/marketing/attribution-builder";
import type { CampaignView } from "../../handlers/marketing/campaign-processor";
import { projectionItems } from "./projection-store";
import type { AttributionModelName, Strategy } from "./strategy";

/** The priorities an optimization request can have, lowest first. */
export const PRIORITIES = ["LOW", "MEDIUM", "HIGH", "CRITICAL"] as const;

export interface StrategyOutcome {
  optimizations: {
    /** optimization_required events published. */
    requested: number;
    /** Requests per priority (every priority present, 0 when none). */
    byPriority: Record<(typeof PRIORITIES)[number], number>;
    /** Campaigns with at least one request. */
    campaigns: number;
    /** The sum of the requests' predicted impacts, in account currency. */
    predictedImpact: number;
  };
  attribution: {
    model: AttributionModelName;
    /** Conversions credited to any channel under the model. */
    conversions: number;
    /** Credited conversions and conversion value per channel under the model. */
    byChannel: Record<string, { conversions: number; value: number }>;
  };
}

/** The field of the builder's projections that holds a model's credit. */
const MODEL_FIELDS: Readonly<Record<AttributionModelName, "lastClick" | "linear" | "shapley">> = {
  "last-click": "lastClick",
  linear: "linear",
  shapley: "shapley",
};

/** The event type of the campaign processor's requests, which a backtest keeps as its replay publishes them. */
export const OPTIMIZATION_REQUIRED = "com.eventline.campaign.optimization_required";

/** The outcome of a replay into `target` under `strategy`, given the optimization requests it published. */
export async function measureOutcome(
  target: Firestore,
  requests: readonly marketing.v1.IOptimizationRequired[],
  strategy: Readonly<Strategy>,
): Promise<StrategyOutcome> {
  const byPriority = Object.fromEntries(
    PRIORITIES.map((p) => [p, 0]),
  ) as StrategyOutcome["optimizations"]["byPriority"];
  for (const request of requests) {
    const name = (marketing.v1.Priority[request.priority ?? 0] ?? "").replace(
      /^PRIORITY_/,
      "",
    ) as (typeof PRIORITIES)[number];
    if (name in byPriority) byPriority[name]++;
  }
  const campaigns = Object.values(await projectionItems(target, "campaigns")) as CampaignView[];
  const predictedImpact = campaigns.reduce(
    (sum, campaign) => sum + (campaign.optimizations?.predictedImpact ?? 0),
    0,
  );

  const field = MODEL_FIELDS[strategy.attributionModel];
  const byChannel: StrategyOutcome["attribution"]["byChannel"] = {};
  for (const view of Object.values(
    await projectionItems(target, "attribution-channels"),
  ) as ChannelCreditView[]) {
    byChannel[view.channel] = { conversions: view.conversions[field], value: view.value[field] };
  }
  const attributions = Object.values(await projectionItems(target, "attribution")) as {
    credit: Record<string, Record<string, number> | null>;
  }[];
  const conversions = attributions.filter(
    (a) => Object.keys(a.credit[field] ?? {}).length > 0,
  ).length;

  return {
    optimizations: {
      requested: requests.length,
      byPriority,
      campaigns: new Set(requests.map((r) => r.campaignId)).size,
      predictedImpact,
    },
    attribution: { model: strategy.attributionModel, conversions, byChannel },
  };
}
