/**
 * How the offline check prints what it found: violations grouped by resource, each with its level, the policy's
 * name, its description and what the rule reported, in the shape `pulumi preview --policy-pack` lists them.
 */
import type { DeclaredResource, PackIdentity, Violation } from "./engine";

/** The counts that decide the exit code. */
export interface Tally {
  mandatory: number;
  advisory: number;
}

export function tally(violations: readonly Violation[]): Tally {
  const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory").length;
  return { mandatory, advisory: violations.length - mandatory };
}

/** Violations by the URN of their resource, in declaration order; stack-wide ones under `undefined`, last. */
function grouped(
  violations: readonly Violation[],
  resources: readonly DeclaredResource[],
): Map<string | undefined, Violation[]> {
  const order = new Map(resources.map((resource, i) => [resource.urn, i]));
  const groups = new Map<string | undefined, Violation[]>();
  const sorted = [...violations].sort(
    (a, b) => (order.get(a.urn ?? "") ?? Infinity) - (order.get(b.urn ?? "") ?? Infinity),
  );
  for (const violation of sorted)
    groups.set(violation.urn, [...(groups.get(violation.urn) ?? []), violation]);
  return groups;
}

const indent = (text: string, by: string): string =>
  text
    .split("\n")
    .map((line) => by + line)
    .join("\n");

/** The human-readable report. */
export function formatReport(
  stack: string,
  pack: PackIdentity,
  violations: readonly Violation[],
  resources: readonly DeclaredResource[],
): string {
  const { mandatory, advisory } = tally(violations);
  const header = `Policies: ${pack.name}@v${pack.version}, stack ${stack}, ${resources.length} resource${resources.length === 1 ? "" : "s"}`;
  if (violations.length === 0) return `${header}\nNo policy violations.\n`;
  const byUrn = new Map(resources.map((resource) => [resource.urn, resource]));
  const lines = [header, ""];
  for (const [urn, group] of grouped(violations, resources)) {
    const resource = urn === undefined ? undefined : byUrn.get(urn);
    lines.push(resource === undefined ? (urn ?? "Stack") : `${resource.type}  ${resource.name}`);
    if (urn !== undefined) lines.push(`    ${urn}`);
    for (const violation of group) {
      lines.push(`    - [${violation.enforcementLevel}]  ${violation.policyName}`);
      lines.push(indent(violation.message, "      "));
    }
    lines.push("");
  }
  lines.push(
    `${violations.length} violation${violations.length === 1 ? "" : "s"}: ${mandatory} mandatory, ${advisory} advisory.`,
  );
  return `${lines.join("\n")}\n`;
}

/** The machine-readable report (--json): one entry per violation, with its resource's type and name. */
export function jsonReport(
  stack: string,
  pack: PackIdentity,
  violations: readonly Violation[],
  resources: readonly DeclaredResource[],
): string {
  const byUrn = new Map(resources.map((resource) => [resource.urn, resource]));
  return `${JSON.stringify(
    {
      stack,
      pack: `${pack.name}@v${pack.version}`,
      resources: resources.length,
      ...tally(violations),
      violations: violations.map((violation) => {
        const resource = violation.urn === undefined ? undefined : byUrn.get(violation.urn);
        return {
          policy: violation.policyName,
          level: violation.enforcementLevel,
          resource:
            resource === undefined
              ? null
              : { type: resource.type, name: resource.name, urn: resource.urn },
          detail: violation.detail,
          message: violation.message,
        };
      }),
    },
    null,
    2,
  )}\n`;
}
