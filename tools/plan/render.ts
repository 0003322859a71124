/**
 * A plan (infra/model/plan.ts) for people: Markdown, so the same text reads in a terminal and in
 * the pull-request comment the preview workflow posts. Refusals come first: they are what
 * stops the deploy.
 */
import { refusals, type Consequence, type Plan, type PlannedChange } from "../../infra/model/plan";

const ORDER: readonly Consequence[] = [
  "refused",
  "replace-with-migration",
  "delete",
  "in-place",
  "create",
];

const LABEL: Record<Consequence, string> = {
  refused: "refused",
  "replace-with-migration": "replace with migration",
  delete: "delete",
  "in-place": "in place",
  create: "create",
};

function changeLines(change: PlannedChange): string[] {
  const fields = change.fields.map((f) => `${f.field} ${f.from} → ${f.to}`).join("; ");
  const lines = [
    `- **${LABEL[change.consequence]}** ${change.resource} \`${change.name}\`${fields === "" ? "" : `: ${fields}`}`,
    `  - ${change.effect}`,
  ];
  if (change.guards !== undefined) lines.push(`  - guard: ${change.guards.join(", ")}`);
  if (change.fix !== undefined) lines.push(`  - fix: ${change.fix}`);
  return lines;
}

/** The plan as Markdown; `deployedFrom` says where the deployed declaration was read. */
export function planMarkdown(plan: Plan, deployedFrom: string | undefined): string {
  const lines = [`## eventline plan: ${plan.stack}`, ""];
  if (!plan.deployedKnown || deployedFrom === undefined)
    lines.push(
      "No deployed declaration is known for this stack, so everything is planned as new.",
      "",
    );
  else lines.push(`Compared with the deployed declaration from ${deployedFrom}.`, "");
  if (plan.changes.length === 0) {
    lines.push("No changes: Pub/Sub already holds what the declaration says.");
    return `${lines.join("\n")}\n`;
  }
  const counts = ORDER.map(
    (kind) => [kind, plan.changes.filter((c) => c.consequence === kind).length] as const,
  )
    .filter(([, count]) => count > 0)
    .map(([kind, count]) => `${count} ${LABEL[kind]}`);
  lines.push(
    `${plan.changes.length} ${plan.changes.length === 1 ? "change" : "changes"}: ${counts.join(", ")}.`,
    "",
  );
  for (const kind of ORDER)
    for (const change of plan.changes.filter((c) => c.consequence === kind))
      lines.push(...changeLines(change));
  const refused = refusals(plan).length;
  if (refused > 0)
    lines.push(
      "",
      `**${refused} change${refused === 1 ? " is" : "s are"} refused**: deploying would fail or lose messages. Apply the fixes above, then plan again.`,
    );
  return `${lines.join("\n")}\n`;
}
