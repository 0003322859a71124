/**
 * project-indexer (docs/requirements.md, MP-8): the index.project command's one consumer.
 * Rebuilds the searchable part of one project's search document (keywords, skill facets,
 * budget band, published flag) from the document's current fields. It always rebuilds from
 * the current state rather than from the command, so a late or repeated command can only
 * reproduce the latest entry, never an older one.
 */
import { RetryableError } from "../runtime/errors";
import { defineHandler } from "../runtime/handler";
import { documentIdFor } from "../runtime/idempotency";
import { budgetBand } from "./budget-bands";
import { projectSearch, type ProjectIndexEntry } from "./search-projects";
import { searchKeywords } from "./search-keywords";

const same = (a: ProjectIndexEntry | null, b: ProjectIndexEntry): boolean =>
  a !== null && JSON.stringify(a) === JSON.stringify(b);

export const projectIndexer = defineHandler({
  name: "project-indexer",
  accepts: ["com.skillancer.search.index_project"],
  async handle(event, ctx) {
    const id = documentIdFor(event.data.projectId);
    const document = await projectSearch.get(ctx, id);
    // The command follows the document's commit, so a missing document is a replica or replay lag.
    if (document === undefined)
      throw new RetryableError(`project ${event.data.projectId} has no search document yet`);
    const entry: ProjectIndexEntry = {
      keywords: searchKeywords(document.title, document.description, document.skills),
      skills: [
        ...new Set(document.skills.map((s) => s.trim().toLowerCase()).filter(Boolean)),
      ].sort(),
      budgetBand: budgetBand(document.budget),
      published: document.status === "published",
      sourceRevision: document.revision,
    };
    if (same(document.index, entry)) return;
    await projectSearch.update(ctx, id, (current) =>
      current === undefined ? undefined : { ...current, index: entry },
    );
  },
});
