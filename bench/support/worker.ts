/**
 * The runtime as the benchmarks run it: a child process that starts the consumer HANDLER
 * names through the runtime's own entrypoint (`launch`, as handlers/main.ts does), with the
 * bench registry (bench-handlers.ts), configured by the same environment variables, and
 * stopped by SIGTERM or SIGKILL like a pod.
 *
 * Two things are added for measuring, neither of which changes what the runtime does:
 * - every delivery's outcome and receipt-to-outcome time, taken around
 *   DeliveryProcessor.process (the one path every message takes), reported by recorder.ts;
 * - BENCH_MAX_MESSAGES, which replaces the consumer's declared `gke.maxMessages` the way a
 *   stack override would, for the flow-control sweep and for running the email-worker with
 *   the runtime's default flow control instead of its declared 10.
 * Tracing is set up from the environment as handlers/main.ts sets it up (OTEL_EXPORTER_OTLP_ENDPOINT
 * for the tracing benchmark); without an exporter there is none.
 */
import { system } from "../../infra/system";
import { capabilityChecks } from "../../handlers/adapters/environment";
import { DeliveryProcessor } from "../../handlers/runtime/delivery";
import type { ReceivedMessage } from "../../handlers/runtime/received-message";
import { launch } from "../../handlers/runtime/launcher";
import { ConfigError, Settings } from "../../handlers/runtime/settings";
import { tracingFromSettings } from "../../handlers/runtime/trace-export";
import type { Outcome } from "../../handlers/runtime/outcome";
import { benchRegistry } from "./bench-handlers";
import { withMaxMessages } from "./flow-control-override";
import { announceReady } from "./children";
import { Recorder, exitWithParent, type Result } from "./recorder";

process.env["METADATA_SERVER_DETECTION"] = "none";
exitWithParent();
const recorder = new Recorder();

function resultOf(outcome: Outcome): Result {
  if (outcome.action === "nack") return "retry";
  if (
    outcome.result === "handled" ||
    outcome.result === "duplicate" ||
    outcome.result === "dead-lettered"
  )
    return outcome.result;
  return "skipped";
}

const process_ = DeliveryProcessor.prototype.process;
DeliveryProcessor.prototype.process = async function measured(
  this: DeliveryProcessor,
  delivery: ReceivedMessage,
): Promise<Outcome> {
  const started = recorder.received();
  const outcome = await process_.call(this, delivery);
  recorder.done(started, resultOf(outcome), delivery.attributes["ce-id"]);
  return outcome;
};

const stack = process.env["STACK"] || "local";
const handler = process.env["HANDLER"] ?? "";
const maxMessages = process.env["BENCH_MAX_MESSAGES"];
// launch() resolves the declaration it is given, so the override goes into that declaration.
const declaration = maxMessages
  ? withMaxMessages(system, stack, handler, Number(maxMessages))
  : system;

// As handlers/main.ts does: tracing only when the environment asks for an exporter (bench/tracing.ts).
tracingFromSettings(new Settings(process.env), handler || "worker");

launch({ system: declaration, registry: benchRegistry, capabilityChecks }).then(
  async (runtime) => {
    // A benchmark that asked for a flow-control limit must not measure another one.
    const held =
      runtime.consumer.delivery === "pull" ? runtime.consumer.gke.maxMessages : undefined;
    if (maxMessages && held !== undefined && held !== Number(maxMessages)) {
      process.stderr.write(
        `bench worker: asked for maxMessages ${maxMessages}, the runtime holds ${held}\n`,
      );
      process.exit(2);
    }
    announceReady({ port: runtime.port, pid: process.pid });
    recorder.report();
    const code = await runtime.stopped;
    recorder.finish();
    process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(
      `bench worker: ${err instanceof ConfigError ? err.message : String(err)}\n`,
    );
    process.exit(2);
  },
);
