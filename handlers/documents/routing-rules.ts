/**
 * Where a classified document goes. Each category has a queue and a confidence floor: a
 * classification below its category's floor goes to manual review rather than to a team
 * that would have to bounce it. The floors differ by what a wrong route costs: a contract
 * sent to the wrong team is a legal risk (0.7), while a complaint is better routed on a
 * weaker signal than left waiting in review (0.5).
 */

export interface RoutingRule {
  route: string;
  /** Lowest posterior the classification needs for this route. */
  minConfidence: number;
}

/** Rules by category (the classifier's categories). */
export const ROUTING_RULES: Readonly<Record<string, RoutingRule>> = {
  invoice: { route: "accounts-payable", minConfidence: 0.6 },
  contract: { route: "legal", minConfidence: 0.7 },
  complaint: { route: "customer-care", minConfidence: 0.5 },
  inquiry: { route: "front-desk", minConfidence: 0.5 },
  resume: { route: "recruiting", minConfidence: 0.6 },
};

/** Where documents go that no rule takes. */
export const MANUAL_REVIEW_ROUTE = "manual-review";

/** A routing decision and why. */
export interface Route {
  route: string;
  reason: string;
}

/** The route of a document classified as `category` with posterior `confidence`. */
export function decideRoute(
  category: string,
  confidence: number,
  rules: Readonly<Record<string, RoutingRule>> = ROUTING_RULES,
): Route {
  const rule = rules[category];
  if (rule === undefined)
    return { route: MANUAL_REVIEW_ROUTE, reason: `no routing rule for category ${category}` };
  const shown = confidence.toFixed(2);
  if (confidence < rule.minConfidence)
    return {
      route: MANUAL_REVIEW_ROUTE,
      reason: `confidence ${shown} is below the ${category} floor ${rule.minConfidence.toFixed(2)}`,
    };
  return {
    route: rule.route,
    reason: `category ${category} with confidence ${shown} (floor ${rule.minConfidence.toFixed(2)})`,
  };
}
