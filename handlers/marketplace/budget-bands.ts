/**
 * Budget bands for project analytics, in the project's own currency (no exchange rates:
 * counts are kept per currency). Bands follow the marketplace's small / medium / large /
 * enterprise project sizes.
 */

/** Band lower bounds and labels, ascending. */
export const BUDGET_BANDS = [
  { from: 0, label: "under-1k" },
  { from: 1_000, label: "1k-5k" },
  { from: 5_000, label: "5k-20k" },
  { from: 20_000, label: "20k-plus" },
] as const;

/** The band of a budget; a negative or missing budget is "unknown". */
export function budgetBand(budget: number): string {
  if (!(budget >= 0)) return "unknown";
  let label = "unknown";
  for (const band of BUDGET_BANDS) if (budget >= band.from) label = band.label;
  return label;
}
