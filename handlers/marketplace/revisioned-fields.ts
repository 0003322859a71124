/**
 * Last-writer-wins per field, by aggregate revision: marketplace events may arrive out of
 * order, and a version check keeps them from undoing each other (docs/requirements.md, MP-11).
 * Each field remembers the revision that last set it, and an event sets a field only if its
 * revision is higher. So an older event never overwrites newer state, yet still fills the
 * fields no newer event has set: project.created (revision 1) arriving after
 * project.published (revision 2) adds the description and budget but leaves the published
 * title and status alone.
 */

/** Field values and, for each, the revision that set it. */
export interface RevisionedFields {
  values: Record<string, unknown>;
  revisions: Record<string, number>;
  /** The highest revision applied so far; 0 for nothing yet. */
  revision: number;
}

export const NO_FIELDS: Readonly<RevisionedFields> = { values: {}, revisions: {}, revision: 0 };

/**
 * Applies an event's fields at its revision.
 * @returns the new state and the fields it changed (empty when the event was entirely older or a repeat).
 */
export function applyRevision(
  state: Readonly<RevisionedFields>,
  fields: Readonly<Record<string, unknown>>,
  revision: number,
): { state: RevisionedFields; applied: string[] } {
  const values = { ...state.values };
  const revisions = { ...state.revisions };
  const applied: string[] = [];
  for (const [field, value] of Object.entries(fields)) {
    if (revision > (revisions[field] ?? 0)) {
      values[field] = value;
      revisions[field] = revision;
      applied.push(field);
    }
  }
  return { state: { values, revisions, revision: Math.max(state.revision, revision) }, applied };
}
