/**
 * The shape every benchmark and fault scenario reports in, and how it is printed: a table
 * (the figures, with their spread over runs and the ratio to the baseline), the targets
 * with the measured number and a met/missed verdict, and notes that say what was measured
 * and what the numbers do not show. The same object is printed, saved as JSON and summarised
 * in bench/README.md, so the three never disagree.
 */
import type { LoadRecord, MachineInfo } from "./machine";

export interface Table {
  columns: string[];
  rows: (string | number)[][];
}

export interface Target {
  target: string;
  /** The fault scenario the target belongs to (fault suite only). */
  scenario?: string;
  measured: string;
  met: boolean;
  /**
   * A correctness target (nothing lost, nothing applied twice, a clear refusal): missing it
   * fails the run, smoke runs included. Performance targets are reported, never failed on:
   * a shared 2-core machine's numbers are evidence, not a gate.
   */
  correctness?: boolean;
}

export interface BenchResult {
  /** File-name form: "pipeline", "gateway", "faults", … */
  benchmark: string;
  title: string;
  date: string;
  smoke: boolean;
  machine: MachineInfo;
  load: LoadRecord;
  /** What was run, with what settings. */
  settings: Record<string, unknown>;
  table: Table;
  targets: Target[];
  notes: string[];
  /** Every run's raw figures. */
  runs: unknown[];
  /** Set when the benchmark could not complete; the table then holds what was measured. */
  error?: string;
}

function cell(value: string | number): string {
  return typeof value === "number" ? String(value) : value;
}

/** The table as aligned plain text, for the terminal. */
export function plainTable(table: Table): string {
  const all = [table.columns, ...table.rows.map((row) => row.map(cell))];
  const widths = table.columns.map((_, i) => Math.max(...all.map((row) => (row[i] ?? "").length)));
  const line = (row: string[]): string =>
    row
      .map((value, i) => (i === 0 ? value.padEnd(widths[i]!) : value.padStart(widths[i]!)))
      .join("  ");
  return [
    line(table.columns),
    line(widths.map((w) => "-".repeat(w))),
    ...all.slice(1).map(line),
  ].join("\n");
}

/** The table in Markdown. */
export function markdownTable(table: Table): string {
  const escape = (value: string): string => value.replaceAll("|", "\\|");
  return [
    `| ${table.columns.map(escape).join(" | ")} |`,
    `| ${table.columns.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`,
    ...table.rows.map((row) => `| ${row.map((value) => escape(cell(value))).join(" | ")} |`),
  ].join("\n");
}

/** The whole result for the terminal. */
export function printResult(
  result: BenchResult,
  write: (text: string) => void = (text) => process.stdout.write(text),
): void {
  const lines = [
    "",
    `== ${result.title}${result.smoke ? " (smoke)" : ""}`,
    `   load average (1 min): ${result.load.start} at start, ${result.load.end} at end${result.load.startedLoaded ? " (started loaded)" : ""}`,
    "",
    plainTable(result.table),
  ];
  if (result.targets.length > 0) {
    lines.push("");
    for (const t of result.targets)
      lines.push(`   ${t.met ? "MET   " : "MISSED"}  ${t.target}: ${t.measured}`);
  }
  for (const note of result.notes) lines.push(`   note: ${note}`);
  if (result.error !== undefined) lines.push(`   ERROR: ${result.error}`);
  write(`${lines.join("\n")}\n`);
}
