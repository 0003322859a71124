/**
 * search-projects (docs/requirements.md, MP-8): keeps the project search documents,
 * `project-search/<projectId>`, from project.created and project.published, merged by
 * revision (revisioned-fields.ts), and asks the project indexer to rebuild the searchable
 * part (com.skillancer.search.index_project) whenever an event changed the document. An older
 * or repeated event changes nothing and asks for nothing.
 */
import { PermanentError } from "../runtime/errors";
import { defineHandler } from "../runtime/handler";
import { documentIdFor } from "../runtime/idempotency";
import { defineProjection } from "../runtime/projections";
import { applyRevision } from "./revisioned-fields";

/** What the indexer builds from the document's fields (project-indexer.ts). */
export interface ProjectIndexEntry {
  keywords: string[];
  skills: string[];
  budgetBand: string;
  published: boolean;
  /** The document revision the entry was built from. */
  sourceRevision: number;
}

export interface ProjectSearchDocument {
  projectId: string;
  clientUserId: string;
  title: string;
  description: string;
  budget: number;
  currency: string;
  skills: string[];
  status: "draft" | "published";
  revision: number;
  fieldRevisions: Record<string, number>;
  /** The searchable part, rebuilt by the project indexer; null until it has run. */
  index: ProjectIndexEntry | null;
}

export const projectSearch = defineProjection<ProjectSearchDocument>("project-search");

const FIELDS = [
  "clientUserId",
  "title",
  "description",
  "budget",
  "currency",
  "skills",
  "status",
] as const;

export const searchProjects = defineHandler({
  name: "search-projects",
  accepts: ["com.skillancer.project.created", "com.skillancer.project.published"],
  async handle(event, ctx) {
    const project = event.data;
    if (!project.projectId)
      throw new PermanentError("missing-project-id", `${event.type} has no project id`);
    const revision = Number(project.revision);
    if (!(revision > 0))
      throw new PermanentError(
        "missing-revision",
        `${event.type} for ${project.projectId} has no revision, so it cannot be ordered against other changes`,
      );
    const fields: Record<string, unknown> =
      event.type === "com.skillancer.project.created"
        ? {
            clientUserId: event.data.clientUserId,
            title: event.data.title,
            description: event.data.description,
            budget: event.data.budget,
            currency: event.data.currency,
            skills: [...event.data.skills],
            status: "draft",
          }
        : { clientUserId: event.data.clientUserId, title: event.data.title, status: "published" };
    const id = documentIdFor(project.projectId);
    const current = await projectSearch.get(ctx, id);
    const values = Object.fromEntries(
      FIELDS.filter((f) => current?.fieldRevisions[f] !== undefined).map((f) => [f, current![f]]),
    );
    const { state, applied } = applyRevision(
      { values, revisions: current?.fieldRevisions ?? {}, revision: current?.revision ?? 0 },
      fields,
      revision,
    );
    if (applied.length === 0) {
      ctx.log.debug(
        { projectId: project.projectId, revision, current: current?.revision },
        "older or repeated revision; search document unchanged",
      );
      return;
    }
    const v = state.values as Partial<ProjectSearchDocument>;
    await projectSearch.update(ctx, id, () => ({
      projectId: project.projectId,
      clientUserId: v.clientUserId ?? "",
      title: v.title ?? "",
      description: v.description ?? "",
      budget: v.budget ?? 0,
      currency: v.currency ?? "",
      skills: v.skills ?? [],
      status: v.status ?? "draft",
      revision: state.revision,
      fieldRevisions: state.revisions,
      index: current?.index ?? null,
    }));
    ctx.publish("com.skillancer.search.index_project", {
      projectId: project.projectId,
      reason: event.type === "com.skillancer.project.created" ? "created" : "published",
    });
  },
});
