/**
 * HTTP GET probes with the semantics Kubernetes documents and Cloud Run follows: an attempt
 * passes on a status of 200..399 within timeoutSeconds; a probe gets initialDelaySeconds plus
 * periodSeconds × failureThreshold to pass (its budget), and passes once successThreshold
 * attempts in a row have passed. Locally the first attempts come faster than the period
 * (every min(period, 0.25 s)): that only finds the first success sooner, the budget decides.
 * Confirmations for a successThreshold above 1 are spaced by the period, as the kubelet does.
 *
 * Workloads declare their container port (8080); locally each listens on a port of its own, so
 * the caller passes the host port the declared one maps to.
 */
import { request } from "node:http";

export interface ProbeSpec {
  kind: "startup" | "readiness" | "liveness";
  /** The HTTP path, e.g. "/readyz". */
  path: string;
  /** The declared container port (the caller maps it to a local port). */
  port: number;
  /** Seconds after the start before the first attempt. Default 0. */
  initialDelaySeconds?: number;
  /** Seconds between attempts on the platform. Default 10. */
  periodSeconds?: number;
  /** Seconds an attempt may take. Default 1. */
  timeoutSeconds?: number;
  /** Failed attempts in a row after which the probe has failed. Default 3. */
  failureThreshold?: number;
  /** Passed attempts in a row for the probe to pass. Default 1. */
  successThreshold?: number;
}

export interface ProbeResult {
  kind: ProbeSpec["kind"];
  path: string;
  passed: boolean;
  /** seconds from start to the first success */
  after?: number;
  /** the budget it had */
  budgetSeconds: number;
  detail: string;
}

/** One attempt's outcome. */
export interface ProbeAttempt {
  passed: boolean;
  /** The HTTP status, when one came back in time. */
  status?: number;
  /** What happened, e.g. "GET /readyz → 503" or "GET /readyz: connection refused". */
  detail: string;
}

/** Kubernetes' defaults for the optional fields. */
export const PROBE_DEFAULTS = {
  initialDelaySeconds: 0,
  periodSeconds: 10,
  timeoutSeconds: 1,
  failureThreshold: 3,
  successThreshold: 1,
} as const satisfies Required<Omit<ProbeSpec, "kind" | "path" | "port">>;

/** The fastest local polling interval, in seconds. */
const FASTEST_POLL_SECONDS = 0.25;

/** How many of the process's last output lines a failure shows. */
const OUTPUT_LINES_SHOWN = 20;

function settings(probe: ProbeSpec): Required<ProbeSpec> {
  return {
    ...probe,
    initialDelaySeconds: probe.initialDelaySeconds ?? PROBE_DEFAULTS.initialDelaySeconds,
    periodSeconds: probe.periodSeconds ?? PROBE_DEFAULTS.periodSeconds,
    timeoutSeconds: probe.timeoutSeconds ?? PROBE_DEFAULTS.timeoutSeconds,
    failureThreshold: probe.failureThreshold ?? PROBE_DEFAULTS.failureThreshold,
    successThreshold: probe.successThreshold ?? PROBE_DEFAULTS.successThreshold,
  };
}

/** Seconds a probe has to pass: initialDelaySeconds + periodSeconds × failureThreshold. */
export function probeBudgetSeconds(probe: ProbeSpec): number {
  const { initialDelaySeconds, periodSeconds, failureThreshold } = settings(probe);
  return initialDelaySeconds + periodSeconds * failureThreshold;
}

/** One attempt: GET http://127.0.0.1:<hostPort><path>, passed on 200..399 within timeoutSeconds. */
export function checkProbe(probe: ProbeSpec, hostPort: number): Promise<ProbeAttempt> {
  const { path, timeoutSeconds } = settings(probe);
  const what = `GET ${path}`;
  return new Promise((resolve) => {
    const req = request(
      // A new connection per attempt, as the kubelet makes; its User-Agent names it a probe.
      {
        host: "127.0.0.1",
        port: hostPort,
        path,
        method: "GET",
        agent: false,
        headers: {
          "user-agent": "kube-probe/eventline-verify",
          accept: "*/*",
          connection: "close",
        },
      },
      (res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        const passed = status >= 200 && status < 400;
        resolve({ passed, status, detail: `${what} → ${status}` });
      },
    );
    req.setTimeout(timeoutSeconds * 1000, () => {
      req.destroy();
      resolve({ passed: false, detail: `${what}: no answer within ${timeoutSeconds} s` });
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      resolve({
        passed: false,
        detail: `${what}: ${err.code === "ECONNREFUSED" ? "connection refused" : (err.code ?? err.message)}`,
      });
    });
    req.end();
  });
}

export interface WaitOptions {
  /** Resolves when the workload's process exits: the probe then fails at once with the exit status. Default: none (only the budget ends it). */
  exited?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The workload's output lines, the last 20 shown when it exits. Default: none. A RunningContainer has both fields. */
  output?: readonly string[];
  /** When the budget starts, in ms since the epoch (e.g. when the startup probe passed). Default: now. */
  startedAt?: number;
}

function sleep(seconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, seconds * 1000)));
}

/**
 * Probes until the probe passes, its budget runs out, or the process exits.
 * @param hostPort the local port the declared `probe.port` maps to.
 */
export async function waitForProbe(
  probe: ProbeSpec,
  hostPort: number,
  options: WaitOptions = {},
): Promise<ProbeResult> {
  const spec = settings(probe);
  const budgetSeconds = probeBudgetSeconds(probe);
  const startedAt = options.startedAt ?? Date.now();
  const elapsed = (): number => (Date.now() - startedAt) / 1000;
  const budget = `${budgetSeconds} s (${spec.initialDelaySeconds > 0 ? `${spec.initialDelaySeconds} s delay + ` : ""}${spec.periodSeconds} s period × ${spec.failureThreshold} failures)`;
  const result = (passed: boolean, detail: string, after?: number): ProbeResult => ({
    kind: probe.kind,
    path: probe.path,
    passed,
    ...(after !== undefined && { after: Number(after.toFixed(3)) }),
    budgetSeconds,
    detail,
  });

  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void options.exited?.then((status) => (exit = status));
  const exitedResult = (): ProbeResult => {
    const how =
      exit!.signal !== null ? `was killed by ${exit!.signal}` : `exited with code ${exit!.code}`;
    const last = (options.output ?? []).slice(-OUTPUT_LINES_SHOWN);
    return result(
      false,
      `the process ${how} after ${elapsed().toFixed(1)} s, before ${spec.kind} probe GET ${spec.path} passed${last.length > 0 ? `; its last output:\n  ${last.join("\n  ")}` : ""}`,
    );
  };
  // Sleeps, but wakes when the process exits.
  const pause = (seconds: number): Promise<unknown> =>
    Promise.race([sleep(seconds), options.exited ?? new Promise(() => undefined)]);

  await pause(spec.initialDelaySeconds - elapsed());
  let firstSuccess: number | undefined;
  let successes = 0;
  let last: ProbeAttempt | undefined;
  while (exit === undefined) {
    if (elapsed() > budgetSeconds) break;
    last = await checkProbe(probe, hostPort);
    if (exit !== undefined) break;
    if (last.passed) {
      firstSuccess ??= elapsed();
      if (++successes >= spec.successThreshold) {
        return result(
          true,
          `${last.detail} after ${firstSuccess.toFixed(1)} s (budget ${budget})`,
          firstSuccess,
        );
      }
      await pause(spec.periodSeconds);
    } else {
      successes = 0;
      await pause(Math.min(spec.periodSeconds, FASTEST_POLL_SECONDS));
    }
  }
  if (exit !== undefined) return exitedResult();
  const progress =
    firstSuccess !== undefined
      ? `; it passed first after ${firstSuccess.toFixed(1)} s but not ${spec.successThreshold} times in a row`
      : "";
  return result(
    false,
    `${spec.kind} probe GET ${spec.path} did not pass within its budget of ${budget}; last attempt: ${last?.detail ?? "none"}${progress}`,
    firstSuccess,
  );
}
