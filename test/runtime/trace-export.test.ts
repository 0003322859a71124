import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, Settings } from "../../handlers/runtime/settings";
import { sampleRatioSetting, tracingFromSettings } from "../../handlers/runtime/trace-export";
import { contextFromAttributes, inSpan } from "../../handlers/runtime/tracing";

interface OtlpSpan {
  name: string;
  traceId: string;
}
interface OtlpRequest {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { spans: OtlpSpan[] }[];
  }[];
}

/** A local OTLP/HTTP receiver: what it was sent, by path. */
const received: { path: string; contentType: string; body: OtlpRequest }[] = [];
let receiver: Server;
let endpoint: string;

beforeAll(async () => {
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({
        path: request.url ?? "",
        contentType: request.headers["content-type"] ?? "",
        body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as OtlpRequest,
      });
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

const names = () =>
  received.flatMap((r) =>
    r.body.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans)),
  );

describe("exporting spans from a deployed workload", () => {
  it("sends spans to the OTLP endpoint's /v1/traces, with the workload's service name", async () => {
    const tracing = tracingFromSettings(
      new Settings({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, EVENTLINE_TRACE_SAMPLE_RATIO: "1" }),
      "email-worker",
    );
    expect(tracing).toBeDefined();
    await inSpan("process email-worker", {}, () =>
      inSpan("handle email-sender", {}, async () => {}),
    );
    await tracing!.shutdown();
    expect(received.map((r) => r.path)).toContain("/v1/traces");
    expect(received[0]!.contentType).toContain("application/json");
    expect(names().map((s) => s.name)).toEqual(
      expect.arrayContaining(["process email-worker", "handle email-sender"]),
    );
    const service = received[0]!.body.resourceSpans[0]!.resource.attributes.find(
      (a) => a.key === "service.name",
    );
    expect(service?.value.stringValue).toBe("email-worker");
  });

  it("keeps no new trace at ratio 0, but keeps one that arrives sampled", async () => {
    received.length = 0;
    const tracing = tracingFromSettings(
      new Settings({
        OTEL_EXPORTER_OTLP_ENDPOINT: `${endpoint}/`,
        EVENTLINE_TRACE_SAMPLE_RATIO: "0",
      }),
      "gateway",
    );
    await inSpan("unsampled root", {}, async () => {});
    const sampledParent = contextFromAttributes({
      "ce-traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    });
    await inSpan("continues a sampled trace", { parent: sampledParent }, async () => {});
    await tracing!.shutdown();
    expect(names().map((s) => s.name)).toEqual(["continues a sampled trace"]);
    expect(names()[0]!.traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
  });

  it("sets up nothing without an exporter, and refuses bad settings by name", () => {
    expect(tracingFromSettings(new Settings({}), "gateway")).toBeUndefined();
    expect(sampleRatioSetting(new Settings({}))).toBe(0.1);
    const refused = (env: NodeJS.ProcessEnv) => () => tracingFromSettings(new Settings(env), "x");
    expect(refused({ EVENTLINE_TRACE_SAMPLE_RATIO: "2" })).toThrow(ConfigError);
    expect(refused({ EVENTLINE_TRACE_SAMPLE_RATIO: "often" })).toThrow(
      /EVENTLINE_TRACE_SAMPLE_RATIO is "often": use a number from 0 to 1/,
    );
    expect(refused({ EVENTLINE_TRACE_EXPORT: "jaeger" })).toThrow(
      /EVENTLINE_TRACE_EXPORT is "jaeger": use one of cloud-trace, none/,
    );
    expect(refused({ OTEL_EXPORTER_OTLP_ENDPOINT: "ftp://collector" })).toThrow(/not http\(s\)/);
    expect(refused({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" })).toThrow(ConfigError);
  });
});
