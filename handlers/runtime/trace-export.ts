/**
 * Where a deployed workload's spans go, from its settings (infra/model/settings.ts):
 *   EVENTLINE_TRACE_EXPORT=cloud-trace   Cloud Trace, as the workload's own account (Application
 *                                        Default Credentials: Workload Identity on GKE, the
 *                                        service's account on Cloud Run; roles/cloudtrace.agent)
 *   OTEL_EXPORTER_OTLP_ENDPOINT=<url>    any OTLP/HTTP receiver too, at <url>/v1/traces
 *   EVENTLINE_TRACE_SAMPLE_RATIO=<0..1>  the share of new traces kept (per stack, in config)
 * With no exporter the process sets up no tracing at all, and every span is the API's no-op.
 * `npm start` does not come here: it keeps every span in memory (tools/local/span-store.ts).
 */
import { TraceExporter } from "@google-cloud/opentelemetry-cloud-trace-exporter";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import { ConfigError, type Settings } from "./settings";
import { startTracing, type Tracing } from "./tracing";

const EXPORTS = ["cloud-trace", "none"] as const;

/** EVENTLINE_TRACE_SAMPLE_RATIO as a number. @throws ConfigError when it is not from 0 to 1. */
export function sampleRatioSetting(settings: Settings): number {
  const value = settings.withDefault("EVENTLINE_TRACE_SAMPLE_RATIO");
  const ratio = Number(value);
  if (value.trim() === "" || !(ratio >= 0 && ratio <= 1))
    throw new ConfigError(
      `EVENTLINE_TRACE_SAMPLE_RATIO is "${value}": use a number from 0 to 1 (pulumi config set eventline:traceSampleRatio 0.1)`,
    );
  return ratio;
}

/** The exporters the settings ask for. @throws ConfigError for a bad value. */
export function traceExporters(settings: Settings): SpanExporter[] {
  const exporters: SpanExporter[] = [];
  const target = settings.withDefault("EVENTLINE_TRACE_EXPORT");
  if (!(EXPORTS as readonly string[]).includes(target))
    throw new ConfigError(
      `EVENTLINE_TRACE_EXPORT is "${target}": use one of ${EXPORTS.join(", ")}`,
    );
  if (target === "cloud-trace") {
    const projectId = settings.get("GOOGLE_CLOUD_PROJECT");
    exporters.push(new TraceExporter(projectId === undefined ? {} : { projectId }));
  }
  const endpoint = settings.get("OTEL_EXPORTER_OTLP_ENDPOINT");
  if (endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new ConfigError(
        `OTEL_EXPORTER_OTLP_ENDPOINT "${endpoint}" is not a URL: use the receiver's base, e.g. http://collector:4318`,
      );
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new ConfigError(
        `OTEL_EXPORTER_OTLP_ENDPOINT "${endpoint}" is not http(s): spans go over OTLP/HTTP`,
      );
    // As OpenTelemetry's own variable means it: the base, under which traces go to /v1/traces.
    exporters.push(
      new OTLPTraceExporter({ url: new URL("v1/traces", url.href.replace(/\/?$/, "/")).href }),
    );
  }
  return exporters;
}

/**
 * Sets up this process's tracing from its settings, or nothing when no exporter is asked for.
 * Every setting is read (and checked) either way, so a bad one fails the start.
 */
export function tracingFromSettings(settings: Settings, serviceName: string): Tracing | undefined {
  const sampleRatio = sampleRatioSetting(settings);
  const exporters = traceExporters(settings);
  if (exporters.length === 0) return undefined;
  return startTracing({ serviceName, sampleRatio, exporters });
}
