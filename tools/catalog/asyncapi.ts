/**
 * The declaration as an AsyncAPI 3 document: one channel per topic (with its Pub/Sub schema
 * settings), one message per event type (CloudEvents attributes as headers, the payload's
 * proto3 JSON as JSON Schema, the correlation id's location), a `send` operation per topic
 * naming its producers and a `receive` operation per consumer. Each hook also gets a server of its
 * own (its URL), a channel there, and a `send` operation with the HTTP binding (POST): the events
 * it is told of, signed per Standard Webhooks. It is checked with
 * @asyncapi/parser before anyone sees it: a document that does not validate is an error.
 */
import { Parser, type Diagnostic } from "@asyncapi/parser";
import type { ResolvedEvent, ResolvedSystem, ResolvedTopic } from "../../infra/model/types";
import { catalogRows } from "./event-catalog";
import { JsonSchemaBuilder, type JsonSchema } from "./json-schema";

export const ASYNCAPI_VERSION = "3.1.0";

const contentTypes = { protobuf: "application/protobuf", json: "application/json" } as const;
const schemaEncodings = { protobuf: "binary", json: "json" } as const;

export interface AsyncApiOptions {
  /** The document's `info.version`. Default `"0.0.0"`. */
  version?: string;
  /** Project in the Pub/Sub schema names. Default `"{project}"`, a placeholder the reader fills in. */
  project?: string;
}

/** An AsyncAPI document that @asyncapi/parser rejected; `problems` lists each error. */
export class AsyncApiError extends Error {
  override readonly name = "AsyncApiError";
  constructor(readonly problems: readonly string[]) {
    super(`the generated AsyncAPI document does not validate: ${problems.join("; ")}`);
  }
}

function headersOf(topic: ResolvedTopic, event: ResolvedEvent): JsonSchema {
  const text = { type: "string" };
  const properties: Record<string, JsonSchema> = {
    "ce-id": { ...text, description: "Event id, unique per event." },
    "ce-source": { ...text, description: "Producer, a URI reference." },
    "ce-type": { type: "string", const: event.type },
    "ce-specversion": { type: "string", const: "1.0" },
    "ce-time": { type: "string", format: "date-time" },
    "content-type": { type: "string", const: contentTypes[topic.encoding] },
    "ce-correlationid": {
      ...text,
      description: "Shared by every event of one flow; a root event's is its own id.",
    },
    "ce-causationid": { ...text, description: "The id of the event that caused this one." },
    "ce-traceparent": { ...text, description: "W3C trace context." },
  };
  if (event.subject !== undefined)
    properties["ce-subject"] = { ...text, description: `The payload's ${event.subject}.` };
  for (const [attribute, field] of Object.entries(event.routingAttributes)) {
    properties[`ce-${attribute}`] = {
      ...text,
      description: `The payload's ${field}, for subscription filters.`,
    };
  }
  return {
    type: "object",
    properties,
    required: ["ce-id", "ce-source", "ce-type", "ce-specversion", "ce-time", "content-type"],
  };
}

/** The AsyncAPI 3 document of a resolved system (not yet validated: see {@link validatedAsyncApi}). */
export function asyncApiDocument(
  system: ResolvedSystem,
  options: AsyncApiOptions = {},
): Record<string, unknown> {
  const project = options.project ?? "{project}";
  const schemas = new JsonSchemaBuilder("#/components/schemas/");
  const rows = new Map(catalogRows(system).map((row) => [row.type, row]));
  const messages: Record<string, unknown> = {};
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};

  for (const topic of system.topics) {
    const channelMessages: Record<string, unknown> = {};
    for (const event of topic.events) {
      messages[event.type] = {
        name: event.type,
        title: event.messageName,
        ...(event.description !== undefined && { summary: event.description }),
        contentType: contentTypes[topic.encoding],
        headers: headersOf(topic, event),
        payload: schemas.ref(event.messageName),
        correlationId: { location: "$message.header#/ce-correlationid" },
        bindings: {
          googlepubsub: {
            bindingVersion: "0.2.0",
            schema: { name: `projects/${project}/schemas/${topic.name}` },
            ...(topic.orderingKey !== undefined && {
              orderingKey: `the payload's ${topic.orderingKey}`,
            }),
          },
        },
      };
      channelMessages[event.type] = { $ref: `#/components/messages/${event.type}` };
    }
    channels[topic.name] = {
      address: topic.name,
      title: topic.name,
      servers: [{ $ref: "#/servers/local" }, { $ref: "#/servers/cloud" }],
      ...(topic.description !== undefined && { description: topic.description }),
      messages: channelMessages,
      bindings: {
        googlepubsub: {
          bindingVersion: "0.2.0",
          messageRetentionDuration: `${topic.retentionSeconds}s`,
          schemaSettings: {
            encoding: schemaEncodings[topic.encoding],
            name: `projects/${project}/schemas/${topic.name}`,
          },
        },
      },
    };
    const producers = [
      ...new Set(topic.events.flatMap((event) => rows.get(event.type)?.producers ?? [])),
    ];
    operations[`publish-${topic.name}`] = {
      action: "send",
      channel: { $ref: `#/channels/${topic.name}` },
      summary: `Publish to ${topic.name}${producers.length > 0 ? `; producers: ${producers.join(", ")}` : ""}.`,
      messages: topic.events.map((event) => ({
        $ref: `#/channels/${topic.name}/messages/${event.type}`,
      })),
    };
  }

  const hookServers: Record<string, unknown> = {};
  for (const consumer of system.consumers) {
    if (consumer.hook === undefined) continue;
    const url = new URL(consumer.hook.url);
    const id = `hook-${consumer.name}`;
    hookServers[id] = {
      host: url.host,
      ...(url.pathname !== "/" && { pathname: url.pathname }),
      protocol: url.protocol.replace(":", ""),
      title: `Hook ${consumer.name}`,
      description: `An outside agent (stack ${system.stack}). Each event is POSTed as a binary-mode CloudEvent, signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature).`,
    };
    const hookMessages = Object.fromEntries(
      consumer.contract.accepts.map((type) => [type, { $ref: `#/components/messages/${type}` }]),
    );
    channels[id] = {
      address: null,
      title: `${consumer.name} (hook)`,
      servers: [{ $ref: `#/servers/${id}` }],
      messages: hookMessages,
    };
    operations[`notify-${consumer.name}`] = {
      action: "send",
      channel: { $ref: `#/channels/${id}` },
      summary: `POST each ${consumer.contract.accepts.join(", ")} to hook ${consumer.name}${consumer.contract.emits.length > 0 ? `; a 2xx reply may carry ${consumer.contract.emits.join(", ")}, published as the hook's event` : ""}.`,
      bindings: { http: { method: "POST", bindingVersion: "0.3.0" } },
      messages: consumer.contract.accepts.map((type) => ({
        $ref: `#/channels/${id}/messages/${type}`,
      })),
    };
  }

  for (const consumer of system.consumers) {
    const accepted = system.topics
      .find((topic) => topic.name === consumer.topic)!
      .events.filter((event) => consumer.contract.accepts.includes(event.type));
    operations[consumer.name] = {
      action: "receive",
      channel: { $ref: `#/channels/${consumer.topic}` },
      summary:
        consumer.description ??
        consumer.contract.description ??
        `Runs handler ${consumer.handler}.`,
      description: `Subscription ${consumer.name} (${consumer.delivery}${consumer.filter !== undefined ? `, filter ${consumer.filter}` : ""}); dead letters to ${consumer.deadLetterTopic} after ${consumer.maxDeliveryAttempts} attempts.`,
      messages: accepted.map((event) => ({
        $ref: `#/channels/${consumer.topic}/messages/${event.type}`,
      })),
    };
  }

  return {
    asyncapi: ASYNCAPI_VERSION,
    info: {
      title: "Eventline",
      version: options.version ?? "0.0.0",
      description:
        "The event system declared in infra/system.ts: CloudEvents 1.0 over Google Cloud Pub/Sub (binary mode).",
    },
    defaultContentType: contentTypes.protobuf,
    servers: {
      local: {
        host: "127.0.0.1:8085",
        protocol: "googlepubsub",
        description: "The Pub/Sub emulator `npm start` runs.",
      },
      cloud: {
        host: "pubsub.googleapis.com",
        protocol: "googlepubsub",
        description: "Google Cloud Pub/Sub.",
      },
      ...hookServers,
    },
    channels,
    operations,
    components: { messages, schemas: schemas.definitions },
  };
}

function describe(diagnostic: Diagnostic): string {
  const path = diagnostic.path.length > 0 ? `${diagnostic.path.join(".")}: ` : "";
  return `${path}${diagnostic.message}`;
}

/**
 * Checks a document with @asyncapi/parser.
 * @throws AsyncApiError listing every error the parser reports.
 */
export async function validateAsyncApi(document: Record<string, unknown>): Promise<void> {
  const { diagnostics } = await new Parser().parse(JSON.stringify(document));
  // Severity 0 is an error; warnings and hints do not fail the document.
  const errors = diagnostics.filter((diagnostic) => diagnostic.severity === 0);
  if (errors.length > 0) throw new AsyncApiError(errors.map(describe));
}

/**
 * The system's document, validated.
 * @throws AsyncApiError when @asyncapi/parser rejects it.
 */
export async function validatedAsyncApi(
  system: ResolvedSystem,
  options: AsyncApiOptions = {},
): Promise<Record<string, unknown>> {
  const document = asyncApiDocument(system, options);
  await validateAsyncApi(document);
  return document;
}
