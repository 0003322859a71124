/**
 * project-analytics (docs/requirements.md, MP-10): counts created projects by skill and by
 * budget band (per currency), in `project-analytics/<dimension>:<key>`. A project counts once,
 * whatever events report its creation: `project-analytics-projects/<projectId>` remembers what
 * was counted. The counts are incremented without being read: every project moves `all:all`,
 * and transactions that read it would queue on its lock when projects are created together
 * (handlers/runtime/projections.ts).
 */
import { PermanentError } from "../runtime/errors";
import { defineHandler } from "../runtime/handler";
import { documentIdFor } from "../runtime/idempotency";
import { defineProjection } from "../runtime/projections";
import { budgetBand } from "./budget-bands";

export interface ProjectCount {
  dimension: "all" | "skill" | "budget";
  key: string;
  projects: number;
}

export interface CountedProject {
  projectId: string;
  keys: string[];
}

export const projectCounts = defineProjection<ProjectCount>("project-analytics");
export const countedProjects = defineProjection<CountedProject>("project-analytics-projects");

export const projectAnalytics = defineHandler({
  name: "project-analytics",
  accepts: ["com.skillancer.project.created"],
  async handle(event, ctx) {
    const project = event.data;
    if (!project.projectId)
      throw new PermanentError("missing-project-id", "project.created has no project id");
    const counted = documentIdFor(project.projectId);
    if ((await countedProjects.get(ctx, counted)) !== undefined) return;
    const skills = [
      ...new Set(project.skills.map((s) => s.trim().toLowerCase()).filter(Boolean)),
    ].sort();
    const currency = project.currency.trim().toUpperCase() || "UNKNOWN";
    const counts: [ProjectCount["dimension"], string][] = [
      ["all", "all"],
      ...skills.map((s): [ProjectCount["dimension"], string] => ["skill", s]),
      ["budget", `${currency}:${budgetBand(project.budget)}`],
    ];
    for (const [dimension, key] of counts) {
      projectCounts.increment(
        ctx,
        documentIdFor(`${dimension}:${key}`),
        { projects: 1 },
        { dimension, key },
      );
    }
    await countedProjects.update(ctx, counted, () => ({
      projectId: project.projectId,
      keys: counts.map(([d, k]) => `${d}:${k}`),
    }));
  },
});
