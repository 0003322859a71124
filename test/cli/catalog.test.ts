import { describe, expect, it } from "vitest";
import {
  asyncApiDocument,
  AsyncApiError,
  validateAsyncApi,
  validatedAsyncApi,
} from "../../tools/catalog/asyncapi";
import { catalogMarkdown, catalogRows } from "../../tools/catalog/event-catalog";
import { resolveSystem } from "../../infra/model/resolve";
import { system } from "../../infra/system";
import { runCli } from "./run-cli";

const resolved = resolveSystem(system, "local");
const row = (type: string) => catalogRows(resolved).find((r) => r.type === type);

describe("the event catalog", () => {
  it("has one row per declared event type", () => {
    const declared = resolved.topics.flatMap((topic) => topic.events.map((event) => event.type));
    expect(catalogRows(resolved).map((r) => r.type)).toEqual(declared);
  });

  it.each([
    ["com.skillancer.user.created", ["user-service"], ["notify-user-created", "search-users"]],
    [
      "com.skillancer.project.published",
      ["project-service"],
      ["notify-project-published", "search-projects"],
    ],
    [
      "com.skillancer.booking.created",
      ["booking-service"],
      ["notify-booking-created", "payment-on-booking"],
    ],
    [
      "com.skillancer.payment.completed",
      ["payment-service"],
      ["notify-payment-completed", "booking-on-payment"],
    ],
  ])(
    "lists the marketplace's %s with producer %j and consumers %j among its consumers",
    (type, producers, consumers) => {
      // At least the services the requirement names (MP-2); a consumer added later joins them.
      expect(row(type)?.producers).toEqual(producers);
      expect(row(type)?.consumers).toEqual(expect.arrayContaining(consumers));
    },
  );

  it("counts a consumer whose handler emits a type among that type's producers", () => {
    expect(row("com.skillancer.email.send")?.producers).toEqual([
      "notify-user-created",
      "notify-project-published",
      "notify-booking-created",
      "notify-payment-completed",
    ]);
    expect(row("com.eventline.campaign.optimization_required")?.producers).toEqual([
      "campaign-processor",
    ]);
  });

  it("leaves a consumer out of the types its filter or handler does not take", () => {
    expect(row("com.eventline.campaign.created")?.consumers).toEqual(["campaign-processor"]);
    expect(row("com.eventline.creative.submitted")?.consumers).toEqual(["creative-analyzer"]);
  });

  it("renders a Markdown table with the schema of each event and mentions the archiver once", () => {
    const markdown = catalogMarkdown(resolved);
    expect(markdown).toContain("| Event | Topic | Producer | Consumers | Schema |");
    // Whoever the declaration has consume a type, in declaration order.
    const consumersOf = (type: string) =>
      resolved.consumers
        .filter((c) => !c.builtIn && c.contract.accepts.includes(type))
        .map((c) => c.name);
    expect(markdown).toContain(
      `| \`com.skillancer.user.created\` | \`users\` | user-service | ${consumersOf("com.skillancer.user.created").join(", ")} | \`marketplace.v1.UserCreated\` (protobuf) |`,
    );
    const ingestedBy = consumersOf("com.dip.document.ingested");
    expect(markdown).toContain(
      `\`com.dip.document.ingested\` | \`documents\` | ingestion-service | ${ingestedBy.join(", ")} | \`documents.v1.DocumentIngested\` (json)`,
    );
    expect(markdown.match(/archiver/g)?.length).toBe(2);
  });
});

describe("the AsyncAPI document", () => {
  it("validates with @asyncapi/parser and has a channel per topic, a message per event and an operation per consumer", async () => {
    const document = (await validatedAsyncApi(resolved)) as {
      asyncapi: string;
      channels: object;
      operations: Record<string, { action: string }>;
      components: { messages: object };
    };
    expect(document.asyncapi).toMatch(/^3\./);
    const hooks = resolved.consumers.filter((c) => c.hook !== undefined);
    expect(Object.keys(document.channels)).toHaveLength(resolved.topics.length + hooks.length);
    expect(Object.keys(document.components.messages)).toHaveLength(catalogRows(resolved).length);
    expect(Object.values(document.operations).filter((op) => op.action === "receive")).toHaveLength(
      resolved.consumers.length,
    );
  });

  it("shows each hook: in the catalog's rows and table, and in AsyncAPI as an HTTP server, channel and POST operation", async () => {
    expect(row("com.eventline.campaign.optimization_required")?.consumers).toContain(
      "optimization-agents (hook)",
    );
    expect(row("com.eventline.campaign.optimized")?.producers).toContain(
      "optimization-agents (hook)",
    );
    expect(catalogMarkdown(resolved)).toContain(
      "| optimization-agents | `com.eventline.campaign.optimization_required` | http://127.0.0.1:8787/optimization-agents | `com.eventline.campaign.optimized` |",
    );
    const document = (await validatedAsyncApi(resolveSystem(system, "prod"))) as {
      servers: Record<string, { host: string; pathname?: string; protocol: string }>;
      operations: Record<string, { action: string; bindings?: { http?: { method: string } } }>;
    };
    expect(document.servers["hook-optimization-agents"]).toMatchObject({
      host: "agents.eventline.example",
      pathname: "/hooks/optimization",
      protocol: "https",
    });
    expect(document.operations["notify-optimization-agents"]).toMatchObject({
      action: "send",
      bindings: { http: { method: "POST" } },
    });
  });

  it("describes a payload's fields, enums, maps and timestamps as JSON Schema", () => {
    const document = asyncApiDocument(resolved) as {
      components: {
        schemas: Record<string, { properties: Record<string, Record<string, unknown>> }>;
      };
    };
    const share = document.components.schemas["viral.v1.ViralShareRequested"]!;
    expect(share.properties["invitationId"]).toEqual({ type: "string" });
    expect(share.properties["shareMetadata"]).toEqual({
      type: "object",
      additionalProperties: { type: "string" },
    });
    const campaign = document.components.schemas["marketing.v1.CampaignCreated"]!;
    expect(campaign.properties["platform"]).toMatchObject({
      type: "string",
      enum: expect.arrayContaining([expect.any(String)]),
    });
    expect(campaign.properties["budget"]).toEqual({
      $ref: "#/components/schemas/marketing.v1.BudgetConfig",
    });
  });

  it("fails loudly, naming the problem, when a document does not validate", async () => {
    const broken = asyncApiDocument(resolved) as {
      channels: Record<string, { messages: Record<string, unknown> }>;
    };
    broken.channels["users"]!.messages["com.skillancer.user.created"] = {
      $ref: "#/components/messages/no-such-message",
    };
    await expect(validateAsyncApi(broken)).rejects.toThrow(AsyncApiError);
  });
});

describe("eventline catalog", () => {
  it("prints the Markdown catalog by default", async () => {
    const result = await runCli(["catalog"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^# Event catalog/);
  });

  it("prints a parsable AsyncAPI 3 document with --format asyncapi", async () => {
    const result = await runCli(["catalog", "--format", "asyncapi"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      asyncapi: expect.stringMatching(/^3\./),
      info: { title: "Eventline" },
    });
  });

  it("rejects an unknown format with one line and exit code 1", async () => {
    const result = await runCli(["catalog", "--format", "yaml"]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain("Allowed choices are markdown, asyncapi");
  });
});
