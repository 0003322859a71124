/**
 * search-users (docs/requirements.md, MP-8): keeps the user search documents,
 * `user-search/<userId>`, from user.created and user.updated. Fields merge by revision
 * (revisioned-fields.ts): an older event never overwrites a newer state, whatever order the
 * events arrive in. The keywords (display name and skills) are rebuilt from the merged fields;
 * the email is stored for the marketplace's own lookups but is not a keyword.
 */
import { marketplace } from "../../proto/gen";
import { PermanentError } from "../runtime/errors";
import { defineHandler } from "../runtime/handler";
import { documentIdFor } from "../runtime/idempotency";
import { defineProjection } from "../runtime/projections";
import { applyRevision } from "./revisioned-fields";
import { searchKeywords } from "./search-keywords";

export interface UserSearchDocument {
  userId: string;
  email: string;
  /** UserRole name, e.g. "USER_ROLE_FREELANCER". */
  role: string;
  displayName: string;
  skills: string[];
  keywords: string[];
  /** The highest revision applied. */
  revision: number;
  /** The revision that set each field. */
  fieldRevisions: Record<string, number>;
}

export const userSearch = defineProjection<UserSearchDocument>("user-search");

const FIELDS = ["email", "role", "displayName", "skills"] as const;

export const searchUsers = defineHandler({
  name: "search-users",
  accepts: ["com.skillancer.user.created", "com.skillancer.user.updated"],
  async handle(event, ctx) {
    const user = event.data;
    if (!user.userId) throw new PermanentError("missing-user-id", `${event.type} has no user id`);
    const revision = Number(user.revision);
    if (!(revision > 0))
      throw new PermanentError(
        "missing-revision",
        `${event.type} for ${user.userId} has no revision, so it cannot be ordered against other changes`,
      );
    const fields: Record<string, unknown> = {
      email: user.email,
      role: marketplace.v1.UserRole[user.role] ?? "",
      displayName: user.displayName,
    };
    // user.updated carries the whole user; user.created has no skills yet.
    if (event.type === "com.skillancer.user.updated") fields["skills"] = [...event.data.skills];
    const id = documentIdFor(user.userId);
    const current = await userSearch.get(ctx, id);
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
        { userId: user.userId, revision, current: current?.revision },
        "older or repeated revision; search document unchanged",
      );
      return;
    }
    const v = state.values as Partial<UserSearchDocument>;
    await userSearch.update(ctx, id, () => ({
      userId: user.userId,
      email: v.email ?? "",
      role: v.role ?? "",
      displayName: v.displayName ?? "",
      skills: v.skills ?? [],
      keywords: searchKeywords(v.displayName, v.skills),
      revision: state.revision,
      fieldRevisions: state.revisions,
    }));
  },
});
