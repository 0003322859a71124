/**
 * A marketing strategy a backtest replays a period under, to compare with the current one
 * (docs/requirements.md, MO-11): the campaign processor's thresholds (optimization-rules.ts)
 * and the attribution model the strategy credits channels by. The attribution builder computes every
 * model for every conversion, so the model is a choice of which credit to act on, not a
 * different computation.
 *
 * Written as JSON for the CLI and CI, every field optional, unset ones taken from the current
 * strategy: `{"cpaTolerance": 0.15, "pacingTolerance": 0.35, "targetMultiplier": 1, "attributionModel": "last-click"}`.
 */
import { campaignProcessorWith } from "../../handlers/marketing/campaign-processor";
import {
  DEFAULT_OPTIMIZATION_STRATEGY,
  type OptimizationStrategy,
} from "../../handlers/marketing/optimization-rules";
import { registry as liveRegistry } from "../../handlers/registry";
import type { HandlerRegistry } from "../../handlers/runtime/handler";
import { ReplayError } from "./errors";

/** The attribution models the builder credits by (attribution-models.ts). */
export const ATTRIBUTION_MODELS = ["last-click", "linear", "shapley"] as const;

export type AttributionModelName = (typeof ATTRIBUTION_MODELS)[number];

export interface Strategy {
  /** The campaign processor's thresholds. */
  optimization: Readonly<OptimizationStrategy>;
  /** The model whose credit per channel the strategy acts on. */
  attributionModel: AttributionModelName;
}

/** What runs live: the processor's own thresholds, and Shapley credit. */
export const CURRENT_STRATEGY: Readonly<Strategy> = {
  optimization: DEFAULT_OPTIMIZATION_STRATEGY,
  attributionModel: "shapley",
};

type Check = (value: number) => boolean;

const numberFields: Readonly<Record<keyof OptimizationStrategy, { valid: Check; rule: string }>> = {
  cpaTolerance: { valid: (x) => x >= 0, rule: "a share of the target, 0 or more (0.1 = 10% over)" },
  targetMultiplier: { valid: (x) => x > 0, rule: "a factor above 0 (1.2 = targets 20% higher)" },
  pacingTolerance: {
    valid: (x) => x > 0 && x < 1,
    rule: "a share of the expected spend between 0 and 1 (0.2 = ±20%)",
  },
};

/**
 * The strategy a JSON config describes, on top of `base`.
 * @param what names the config in errors, e.g. "--strategy".
 * @throws ReplayError naming the field and the rule, for an unknown field or a bad value.
 */
export function strategyFrom(
  config: unknown,
  base: Readonly<Strategy> = CURRENT_STRATEGY,
  what = "the strategy",
): Strategy {
  if (config === null || typeof config !== "object" || Array.isArray(config))
    throw new ReplayError(`${what} must be a JSON object such as {"cpaTolerance": 0.15}`);
  const optimization: OptimizationStrategy = { ...base.optimization };
  let attributionModel = base.attributionModel;
  for (const [field, value] of Object.entries(config)) {
    if (field === "attributionModel") {
      if (!ATTRIBUTION_MODELS.includes(value as AttributionModelName))
        throw new ReplayError(
          `${what}: attributionModel ${JSON.stringify(value)} is not one of ${ATTRIBUTION_MODELS.join(", ")}`,
        );
      attributionModel = value as AttributionModelName;
      continue;
    }
    const rule = numberFields[field as keyof OptimizationStrategy];
    if (rule === undefined)
      throw new ReplayError(
        `${what} has no field ${field}; the fields are ${[...Object.keys(numberFields), "attributionModel"].join(", ")}`,
      );
    if (typeof value !== "number" || !rule.valid(value))
      throw new ReplayError(`${what}: ${field} ${JSON.stringify(value)} is not ${rule.rule}`);
    optimization[field as keyof OptimizationStrategy] = value;
  }
  return { optimization, attributionModel };
}

/** One line for people: `target CPA ×1 +0%, pacing ±20%, shapley credit`. */
export function describeStrategy(strategy: Readonly<Strategy>): string {
  const { cpaTolerance, targetMultiplier, pacingTolerance } = strategy.optimization;
  const percent = (share: number): string => `${Math.round(share * 1000) / 10}%`;
  return `target CPA ×${targetMultiplier} +${percent(cpaTolerance)}, pacing ±${percent(pacingTolerance)}, ${strategy.attributionModel} credit`;
}

/** The handler implementations that act a strategy out: `base` with the campaign processor judging by its thresholds. */
export function strategyRegistry(
  strategy: Readonly<Strategy>,
  base: HandlerRegistry = liveRegistry,
): HandlerRegistry {
  return { ...base, "campaign-processor": campaignProcessorWith(strategy.optimization) };
}
