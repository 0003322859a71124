/**
 * `POST /v1/shares`: the viral-sharing share request (docs/requirements.md, VS-1, VS-2). One
 * request names a card, its sender and any number of recipients; the gateway answers at once
 * with one invitation per recipient and publishes one com.eventline.share.requested each, all
 * under one correlation id, for the channel workers to send. The request waits for the
 * publish, never for a send: sending dozens of emails inside a request takes seconds.
 */
import { randomUUID } from "node:crypto";
import type { ResolvedSystem } from "../../infra/model/types";
import { parseFilter, type FilterAst } from "../../infra/model/filter";
import type { EventGateway } from "./gateway";
import { HttpError } from "./http";

export const SHARE_REQUESTED = "com.eventline.share.requested";

/** Recipients in one request: a share often names 50 or more; a bound keeps one request one quick publish. */
export const MAX_RECIPIENTS = 500;

export interface ShareRecipient {
  channel: string;
  recipient: string;
}

export interface ShareRequest {
  senderUserId: string;
  cardId: string;
  recipients: ShareRecipient[];
  /** Passed on as each event's share_metadata (e.g. `sender_name`). Default: none. */
  shareMetadata?: Record<string, string>;
}

export interface ShareAccepted {
  correlationId: string;
  invitations: { invitationId: string; eventId: string; channel: string; recipient: string }[];
}

/** Values of `attributes.<key> = "…"` anywhere in a filter. */
function equalsValues(ast: FilterAst, key: string): string[] {
  switch (ast.kind) {
    case "equals":
      return ast.key === key ? [ast.value] : [];
    case "and":
    case "or":
      return ast.operands.flatMap((operand) => equalsValues(operand, key));
    default:
      return [];
  }
}

/**
 * The channels some consumer sends on: the `ce-channel` values the share topic's consumers
 * filter on (email, sms, whatsapp). A share on any other channel would reach no worker.
 */
export function shareChannels(system: ResolvedSystem): string[] {
  const topic = system.topics.find((t) => t.events.some((event) => event.type === SHARE_REQUESTED));
  if (topic === undefined) return [];
  const attribute =
    Object.keys(
      topic.events.find((event) => event.type === SHARE_REQUESTED)!.routingAttributes,
    )[0] ?? "channel";
  const filters = system.consumers
    .filter((consumer) => consumer.topic === topic.name && consumer.filter !== undefined)
    .map((consumer) => parseFilter(consumer.filter!));
  return [...new Set(filters.flatMap((ast) => equalsValues(ast, `ce-${attribute}`)))];
}

function text(value: unknown, field: string): string {
  if (typeof value !== "string" || value.trim() === "")
    throw new HttpError(400, `${field} must be a non-empty string`, {}, "invalid-payload");
  return value;
}

/** Refuses the fields of `object` not in `known`, naming the first with its path. */
function refuseUnknown(object: object, known: readonly string[], at: string): void {
  const unknown = Object.keys(object).filter((key) => !known.includes(key));
  if (unknown.length > 0)
    throw new HttpError(
      400,
      `unknown field ${at}${unknown.join(`, ${at}`)}: the share request has no such field (fields here: ${known.join(", ")})`,
      {},
      "unknown-field",
    );
}

/**
 * The request, checked field by field; unknown fields are refused at every depth.
 * @throws HttpError 400 naming the field, with a reason ("invalid-payload", "unknown-field").
 */
export function parseShareRequest(body: unknown, channels: readonly string[]): ShareRequest {
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw new HttpError(
      400,
      "the share request must be a JSON object { senderUserId, cardId, recipients: [{ channel, recipient }] }",
      {},
      "invalid-payload",
    );
  const input = body as Record<string, unknown>;
  refuseUnknown(input, ["senderUserId", "cardId", "recipients", "shareMetadata"], "");
  const recipients = input["recipients"];
  if (!Array.isArray(recipients) || recipients.length === 0)
    throw new HttpError(
      400,
      "recipients must be a non-empty array of { channel, recipient }",
      {},
      "invalid-payload",
    );
  if (recipients.length > MAX_RECIPIENTS)
    throw new HttpError(
      400,
      `recipients has ${recipients.length} entries, over the ${MAX_RECIPIENTS} one request takes; split the share`,
      {},
      "invalid-payload",
    );
  const metadata = input["shareMetadata"];
  if (
    metadata !== undefined &&
    (metadata === null ||
      typeof metadata !== "object" ||
      Array.isArray(metadata) ||
      Object.values(metadata).some((v) => typeof v !== "string"))
  ) {
    throw new HttpError(400, "shareMetadata must be an object of strings", {}, "invalid-payload");
  }
  // A JS object cannot hold "__proto__" as a key: the map would lose it silently.
  if (metadata !== undefined && Object.hasOwn(metadata, "__proto__"))
    throw new HttpError(400, "shareMetadata cannot have the key __proto__", {}, "invalid-payload");
  return {
    senderUserId: text(input["senderUserId"], "senderUserId"),
    cardId: text(input["cardId"], "cardId"),
    recipients: recipients.map((entry: unknown, i) => {
      if (entry === null || typeof entry !== "object" || Array.isArray(entry))
        throw new HttpError(
          400,
          `recipients[${i}] must be an object { channel, recipient }`,
          {},
          "invalid-payload",
        );
      const r = entry as Record<string, unknown>;
      refuseUnknown(r, ["channel", "recipient"], `recipients[${i}].`);
      const channel = text(r["channel"], `recipients[${i}].channel`);
      if (channels.length > 0 && !channels.includes(channel))
        throw new HttpError(
          400,
          `recipients[${i}].channel ${channel} has no worker; use one of ${channels.join(", ")}`,
          {},
          "invalid-payload",
        );
      return { channel, recipient: text(r["recipient"], `recipients[${i}].recipient`) };
    }),
    ...(metadata !== undefined && { shareMetadata: metadata as Record<string, string> }),
  };
}

/** Publishes one share.requested per recipient under one correlation id. */
export async function acceptShare(
  gateway: EventGateway,
  request: ShareRequest,
  /** Extensions every share event carries (the producer and the time received). Default none. */
  extensions: Readonly<Record<string, string>> = {},
): Promise<ShareAccepted> {
  const correlationId = randomUUID();
  const invitations = request.recipients.map((recipient) => ({
    invitationId: randomUUID(),
    ...recipient,
  }));
  const accepted = await gateway.emitAll(
    invitations.map((invitation) => ({
      type: SHARE_REQUESTED,
      payload: {
        invitationId: invitation.invitationId,
        senderUserId: request.senderUserId,
        cardId: request.cardId,
        channel: invitation.channel,
        recipient: invitation.recipient,
        shareMetadata: request.shareMetadata ?? {},
      },
      options: { correlationId, extensions },
    })),
  );
  return {
    correlationId,
    invitations: invitations.map((invitation, i) => ({ ...invitation, eventId: accepted[i]!.id })),
  };
}
