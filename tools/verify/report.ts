/**
 * verify's report for a person: one row per workload (its probes, the events it handled, the
 * settings it read, how it stopped), then every problem with its fix, then what verify pointed
 * at this machine. `--json` prints the report itself.
 */
import { clip, table } from "../cli/format";
import type { VerifyReport, WorkloadReport } from "./verify";

function probesCell(workload: WorkloadReport): string {
  return (
    workload.probes
      .map(
        (probe) =>
          `${probe.kind} ${probe.path} ${probe.passed ? `✓${probe.after !== undefined ? ` ${probe.after.toFixed(1)}s` : ""}` : "✗"}`,
      )
      .join(", ") || "none"
  );
}

function checksCell(workload: WorkloadReport): string {
  if (workload.checks.length === 0) return "-";
  const passed = workload.checks.filter((check) => check.passed).length;
  const outcomes = [
    ...new Set(
      workload.checks
        .filter((check) => check.passed)
        .map((check) => check.outcome.replace(/^\d{3}, /, "").split(" (")[0]),
    ),
  ];
  return `${passed}/${workload.checks.length} ${outcomes.join(", ") || ""}`.trim();
}

function settingsCell(workload: WorkloadReport): string {
  const settings = workload.settings;
  if (settings === undefined) return "-";
  const parts = [`${settings.read} read`];
  if (settings.missing.length > 0) parts.push(`missing ${settings.missing.join(", ")}`);
  if (settings.unknown.length > 0) parts.push(`unknown ${settings.unknown.join(", ")}`);
  if (settings.unread.length > 0) parts.push(`unread ${settings.unread.join(", ")}`);
  if (settings.defaulted.length > 0) parts.push(`defaulted ${settings.defaulted.join(", ")}`);
  return parts.join("; ");
}

function stopCell(workload: WorkloadReport): string {
  if (workload.stop === undefined) return "-";
  return workload.stop.killed ? "killed" : `exit ${workload.stop.code} ${workload.stop.seconds}s`;
}

/** The report as the terminal shows it. */
export function formatReport(report: VerifyReport): string {
  const rows = report.workloads.map((workload) => [
    workload.name,
    workload.platform === "cloud-run" ? "Cloud Run" : "GKE",
    workload.mode || "-",
    workload.skipped !== undefined ? "not run" : probesCell(workload),
    workload.skipped !== undefined ? clip(workload.skipped, 50) : checksCell(workload),
    settingsCell(workload),
    stopCell(workload),
    workload.skipped !== undefined ? "skipped" : workload.problems.length === 0 ? "ok" : "FAILED",
  ]);
  const lines = [
    `eventline verify --stack ${report.stack}`,
    "",
    table(["workload", "runs on", "mode", "probes", "events", "settings", "stop", "result"], rows),
  ];
  const failed = report.workloads.filter((workload) => workload.problems.length > 0);
  if (failed.length > 0) {
    lines.push(
      `${failed.length} workload${failed.length === 1 ? "" : "s"} would not work as declared:`,
    );
    for (const workload of failed)
      for (const { problem, fix } of workload.problems)
        lines.push(`  ${workload.name}: ${problem}\n    Fix: ${fix}`);
    lines.push("");
  }
  const ran = report.workloads.filter((workload) => workload.skipped === undefined).length;
  lines.push(
    report.ok
      ? `All ${ran} workloads started as declared, answered their probes, handled their events and stopped cleanly.`
      : "verify failed.",
  );
  lines.push(
    "",
    "Pointed at this machine (everything else is as declared):",
    ...report.overrides.map((line) => `  ${line}`),
    "",
  );
  return lines.join("\n");
}
