/**
 * The event catalog (docs/requirements.md, PL-23), generated from the declaration instead of
 * kept by hand: for each event type, who produces it, which consumers receive it and its
 * schema. Producers are the ones the declaration names plus every consumer whose handler
 * emits the type; consumers are
 * the subscriptions on the type's topic whose handler accepts it (the archiver, which
 * receives everything, is left out of each row and said once under the table).
 */
import type { ResolvedSystem } from "../../infra/model/types";
import { MAX_RECIPIENTS, SHARE_REQUESTED, shareChannels } from "../../handlers/gateway/shares";

export interface CatalogRow {
  type: string;
  topic: string;
  producers: string[];
  consumers: string[];
  /** The payload's protobuf message, e.g. `marketplace.v1.UserCreated`. */
  message: string;
  encoding: string;
  description?: string;
}

/** One row per event type, in declaration order. */
export function catalogRows(system: ResolvedSystem): CatalogRow[] {
  const business = system.consumers.filter((consumer) => !consumer.builtIn);
  const named = (consumer: ResolvedSystem["consumers"][number]) =>
    consumer.hook !== undefined ? `${consumer.name} (hook)` : consumer.name;
  return system.topics.flatMap((topic) =>
    topic.events.map((event) => ({
      type: event.type,
      topic: topic.name,
      producers: [
        ...event.producers,
        ...business.filter((consumer) => consumer.contract.emits.includes(event.type)).map(named),
      ],
      consumers: business
        .filter(
          (consumer) =>
            consumer.topic === topic.name && consumer.contract.accepts.includes(event.type),
        )
        .map(named),
      message: event.messageName,
      encoding: topic.encoding,
      ...(event.description !== undefined && { description: event.description }),
    })),
  );
}

/** `|` would end a cell early. */
function cell(text: string): string {
  return text.replace(/\|/g, "\\|");
}

/** The catalog as a Markdown document: event, producers, consumers and schema, one row per event type. */
/** Who posts to the gateway, what each may post, and the share request's body. */
function producersMarkdown(system: ResolvedSystem): string[] {
  return [
    "## Producers",
    "",
    "Each posts to the gateway with its ID token (`eventline token <producer>` locally): `POST /v1/events` takes the types it publishes, with a `source` under one of its prefixes.",
    "",
    "| Producer | Publishes | Sources | Share requests |",
    "| --- | --- | --- | --- |",
    ...system.producers.map(
      (p) =>
        `| ${cell(p.name)} | ${p.publishes.map((t) => `\`${t}\``).join(", ") || "—"} | ${p.sources.map((s) => `\`${s}\``).join(", ")} | ${p.shares ? "yes" : "—"} |`,
    ),
    "",
    "## POST /v1/shares",
    "",
    `A producer with share requests posts \`{ "senderUserId", "cardId", "recipients": [{ "channel", "recipient" }, …], "shareMetadata"?: { "<key>": "<value>" } }\` (1 to ${MAX_RECIPIENTS} recipients; channel one of ${shareChannels(system).join(", ") || "the declared channels"}). The gateway answers 202 with \`{ "correlationId", "invitations": [{ "invitationId", "eventId", "channel", "recipient" }] }\` and publishes one \`${SHARE_REQUESTED}\` per recipient.`,
    "",
  ];
}

export function catalogMarkdown(system: ResolvedSystem): string {
  const rows = catalogRows(system);
  const lines = [
    "# Event catalog",
    "",
    "Generated from `infra/system.ts` by `eventline catalog`; do not edit by hand.",
    "",
    "| Event | Topic | Producer | Consumers | Schema |",
    "| --- | --- | --- | --- | --- |",
    ...rows
      .map((row) =>
        [
          `\`${row.type}\``,
          `\`${row.topic}\``,
          row.producers.length > 0 ? row.producers.map(cell).join(", ") : "—",
          row.consumers.length > 0 ? row.consumers.map(cell).join(", ") : "—",
          `\`${row.message}\` (${row.encoding})`,
        ].join(" | "),
      )
      .map((line) => `| ${line} |`),
    "",
    `Every event is also appended to the event store (\`events/{source:id}\`) by its topic's built-in archiver (\`<topic>-archiver\`).`,
    "",
    ...producersMarkdown(system),
    ...hooksMarkdown(system),
  ];
  return lines.join("\n");
}

/** The hooks: outside agents told of events over signed HTTP, each a consumer of its own. */
function hooksMarkdown(system: ResolvedSystem): string[] {
  const hooks = system.consumers.filter((consumer) => consumer.hook !== undefined);
  if (hooks.length === 0) return [];
  return [
    "## Hooks",
    "",
    `Each event a hook takes is POSTed to its address as a binary-mode CloudEvent, signed per Standard Webhooks; a 2xx reply that is a CloudEvent of a type it may answer with is published as its own. Addresses of stack \`${system.stack}\`.`,
    "",
    "| Hook | Takes | Sent to | May answer with |",
    "| --- | --- | --- | --- |",
    ...hooks.map(
      (hook) =>
        `| ${cell(hook.name)} | ${hook.contract.accepts.map((t) => `\`${t}\``).join(", ")} | ${cell(hook.hook!.url)} | ${hook.contract.emits.map((t) => `\`${t}\``).join(", ") || "—"} |`,
    ),
    "",
  ];
}
