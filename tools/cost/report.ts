/**
 * An estimate as Markdown (tables per service, per consumer and per resource line, with the
 * assumptions under them), and its difference from a baseline estimate (the same command's
 * `--json` on another checkout), for the pull request's comment.
 */
import type { CostEstimate, CostTotal } from "./estimate";

/** Dollars: cents below $100, whole dollars above; small amounts keep two significant digits. */
export function dollars(value: number): string {
  if (value === 0) return "$0";
  if (Math.abs(value) < 0.01) return `$${value.toPrecision(2)}`;
  if (Math.abs(value) < 100) return `$${value.toFixed(2)}`;
  return `$${Math.round(value).toLocaleString("en-US")}`;
}

function signed(value: number): string {
  if (Math.abs(value) < 0.005) return "±$0";
  return `${value > 0 ? "+" : "−"}${dollars(Math.abs(value))}`;
}

function amount(value: number): string {
  if (value === 0) return "0";
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString("en-US");
  return Number(value.toPrecision(3)).toString();
}

const cell = (text: string) => text.replace(/\|/g, "\\|");
const row = (cells: readonly string[]) => `| ${cells.map(cell).join(" | ")} |`;

function scaleHeaders(estimate: CostEstimate): string[] {
  return estimate.scales.map((scale) => `${scale}×`);
}

function totalsTable(
  title: string,
  totals: readonly CostTotal[],
  estimate: CostEstimate,
  baseline?: CostEstimate,
): string[] {
  const before = new Map(
    baseline
      ? [...baseline.byService, ...baseline.byConsumer].map((t) => [t.name, t.cost[0] ?? 0])
      : [],
  );
  const header = [title, ...scaleHeaders(estimate), ...(baseline ? ["1× vs baseline"] : [])];
  return [
    row(header),
    row(header.map(() => "---")),
    ...totals.map((total) =>
      row([
        total.name,
        ...total.cost.map(dollars),
        ...(baseline ? [signed((total.cost[0] ?? 0) - (before.get(total.name) ?? 0))] : []),
      ]),
    ),
    row([
      "**total**",
      ...estimate.total.map((value) => `**${dollars(value)}**`),
      ...(baseline ? [`**${signed((estimate.total[0] ?? 0) - (baseline.total[0] ?? 0))}**`] : []),
    ]),
  ];
}

/** The estimate as Markdown; with a baseline, each total also shows its change at 1×. */
export function costMarkdown(estimate: CostEstimate, baseline?: CostEstimate): string {
  const out: string[] = [];
  out.push(
    `## Monthly cost of stack ${estimate.stack}`,
    "",
    `Rate card ${estimate.rateCard.version} (prices of ${estimate.rateCard.date}, ${estimate.rateCard.currency}); ` +
      `${estimate.scales.map((s) => `${s}×`).join(", ")} the traffic the declaration expects.`,
    "",
  );
  if (baseline !== undefined) {
    const change = (estimate.total[0] ?? 0) - (baseline.total[0] ?? 0);
    out.push(
      `**${signed(change)} a month at 1×** against the baseline (${dollars(baseline.total[0] ?? 0)} → ${dollars(estimate.total[0] ?? 0)}).`,
      "",
    );
  }
  out.push(
    "### By service",
    "",
    ...totalsTable("service", estimate.byService, estimate, baseline),
    "",
  );
  out.push(
    "### By consumer",
    "",
    ...totalsTable("consumer", estimate.byConsumer, estimate, baseline),
    "",
  );
  out.push(
    "<details><summary>By resource</summary>",
    "",
    row([
      "service",
      "resource",
      "consumer",
      "item",
      "quantity at 1×",
      "unit price",
      ...scaleHeaders(estimate),
    ]),
    row(Array.from({ length: 6 + estimate.scales.length }, () => "---")),
    ...estimate.lines.map((line) =>
      row([
        line.service,
        line.resource,
        line.consumer,
        line.item,
        `${amount(line.quantity[0] ?? 0)} ${line.unit}`,
        `$${line.unitPrice}`,
        ...line.cost.map(dollars),
      ]),
    ),
    "",
    "</details>",
    "",
  );
  if (estimate.warnings.length > 0)
    out.push("### Warnings", "", ...estimate.warnings.map((warning) => `- ${warning}`), "");
  if (estimate.topicsWithoutVolume.length > 0)
    out.push(
      `Topics that declare no \`volume\` (priced as idle): ${estimate.topicsWithoutVolume.join(", ")}.`,
      "",
    );
  out.push(
    "### What it rests on",
    "",
    ...estimate.assumptions.map((text) => `- ${text}`),
    ...estimate.notes.map((text) => `- ${text}`),
    "",
  );
  return out.join("\n");
}

/** Checks that a parsed `--baseline` file is an estimate this version can compare with. */
export function isEstimate(value: unknown): value is CostEstimate {
  if (value === null || typeof value !== "object") return false;
  const estimate = value as Partial<CostEstimate>;
  const totals = (list: unknown) =>
    Array.isArray(list) &&
    list.every(
      (total: unknown) =>
        total !== null &&
        typeof total === "object" &&
        typeof (total as CostTotal).name === "string" &&
        Array.isArray((total as CostTotal).cost) &&
        (total as CostTotal).cost.every((n) => typeof n === "number" && Number.isFinite(n)),
    );
  return (
    Array.isArray(estimate.total) &&
    estimate.total.every((n) => typeof n === "number" && Number.isFinite(n)) &&
    totals(estimate.byService) &&
    totals(estimate.byConsumer)
  );
}
