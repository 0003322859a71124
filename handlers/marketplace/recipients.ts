/**
 * Where a notification goes. Events carry the recipient's address where the producer knows
 * it (event-carried state: the notifier then needs nothing else); otherwise the address comes
 * from the users' search documents, which search-users keeps from user.created and
 * user.updated. A user not there yet is a race with that projection, not a bad event: retry.
 */
import { PermanentError, RetryableError } from "../runtime/errors";
import { documentIdFor } from "../runtime/idempotency";
import type { ProjectionContext } from "../runtime/projections";
import { userSearch } from "./search-users";

/**
 * The address to write to.
 * @param carried the address the event carries ("" when it carries none).
 * @param who what the recipient is to the event, for messages ("client", "freelancer").
 * @throws PermanentError when the event names neither an address nor a user; RetryableError when the user is not known yet.
 */
export async function recipientEmail(
  ctx: ProjectionContext,
  carried: string,
  userId: string,
  who: string,
): Promise<string> {
  if (carried) return carried;
  if (!userId)
    throw new PermanentError(
      "no-recipient",
      `the event names no ${who}: neither an email nor a user id`,
    );
  const user = await userSearch.get(ctx, documentIdFor(userId));
  if (!user?.email)
    throw new RetryableError(
      `no email known yet for ${who} ${userId} (user-search has not seen them)`,
    );
  return user.email;
}
