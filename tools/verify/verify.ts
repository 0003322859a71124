/**
 * `eventline verify --stack <stack>`: every workload the Pulumi program deploys for the stack,
 * started the way the image runs it, with exactly the environment, command, port, probes and
 * volumes it declares, against the emulators, and exercised:
 *   1. the program is evaluated for the stack (infra/evaluate.ts), secrets given local values;
 *   2. the image's app directory is built as handlers/Dockerfile builds it (./image.ts);
 *   3. the emulators, a local SMTP server, a local messaging provider and the push relay (which
 *      signs each push as Pub/Sub would) start;
 *   4. each workload runs (several at once): its probes must pass within their thresholds, it
 *      must handle one event of each type it accepts (./exercise.ts), read no setting it was
 *      not given (./settings-check.ts), and stop cleanly within its grace period on SIGTERM.
 *
 * It overrides only what must point at this machine: the emulator hosts, the port, the push
 * token's issuer and keys, where an outside service is (the SMTP server and the messaging
 * provider, through the stack's config), and where the runtime reports what it read. Each
 * override is listed in the report. What only the cloud can show (IAM, networking, quotas,
 * the real Pub/Sub's delivery) is outside it; docs/deploy.md says what is.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { Firestore } from "@google-cloud/firestore";
import { PubSub } from "@google-cloud/pubsub";
import { type EventTypes } from "../../handlers/runtime/event-types";
import { eventTypesFor } from "../../handlers/declared";
import { SETTINGS_REPORT_VARIABLE } from "../../handlers/runtime/settings";
import { secretConfigKeys } from "../../infra/config";
import { evaluateProgram } from "../../infra/evaluate";
import { UNNAMED_DATABASE } from "../../infra/model/databases";
import { freePort, startEmulator, type RunningEmulator } from "../local/emulators";
import { provision } from "../local/provision";
import { startContainer } from "./container";
import { exerciseConsumer, exerciseGateway, exerciseTracker, type ExerciseCheck } from "./exercise";
import { buildImage, type ImageBuild } from "./image";
import { checkProbe, waitForProbe, type ProbeResult } from "./probes";
import { suggest } from "../../handlers/runtime/suggest";
import { startPushRelay, type PushRelay } from "./push-relay";
import { checkSettings, howToSet, readReport, type SettingsFinding } from "./settings-check";
import { startMessagingProvider, type MessagingProvider } from "./stand-ins/messaging-provider";
import { startSmtpCatcher, type SmtpCatcher } from "./stand-ins/smtp-catcher";
import { startHookReceiver, type HookReceiver } from "../hooks/receiver";
import { workloadsOf, type Workload } from "./workloads";

const REPO_ROOT = resolve(__dirname, "..", "..");

/** A problem verify found, with its fix. */
export interface Problem {
  problem: string;
  fix: string;
}

export interface WorkloadReport {
  name: string;
  platform: Workload["platform"];
  mode: string;
  /** Why it was not run (an image this repository does not build). */
  skipped?: string;
  probes: ProbeResult[];
  checks: ExerciseCheck[];
  settings?: SettingsFinding;
  /** How it stopped on SIGTERM. */
  stop?: { code: number | null; seconds: number; killed: boolean };
  problems: Problem[];
  seconds: number;
}

export interface VerifyReport {
  stack: string;
  /** What verify pointed at this machine, and where. */
  overrides: string[];
  workloads: WorkloadReport[];
  ok: boolean;
}

export interface VerifyOptions {
  stack: string;
  /** Run only these workloads. Default: all. */
  only?: readonly string[];
  /** Workloads run at once. Default 4. */
  concurrency?: number;
  /** Changes the workloads before they run: tests break one on purpose. Default: none. */
  mutate?: (workloads: Workload[]) => Workload[];
  /** Where the image's builds are cached. Default `.eventline/verify`. */
  workDir?: string;
  /** Progress lines. Default: none. */
  say?: (line: string) => void;
}

/** The stand-ins for what is outside the system, and the local values of the stack's secrets. */
interface StandIns {
  smtp: SmtpCatcher;
  hooks: HookReceiver;
  messaging: MessagingProvider;
  relay: PushRelay;
  /** Config overrides that point the program's outside endpoints here. */
  config: Record<string, string>;
}

async function startStandIns(): Promise<StandIns> {
  const hookSecret = `whsec_${randomBytes(32).toString("base64")}`;
  const [smtp, messaging, relay, hooks] = await Promise.all([
    startSmtpCatcher(),
    startMessagingProvider(),
    startPushRelay(),
    startHookReceiver({ secret: hookSecret }),
  ]);
  const local: Record<string, string> = {
    "eventline:smtpUrl": smtp.url,
    "eventline:hookSigningSecret": hookSecret,
    "eventline:messagingAuthToken": `verify-${randomBytes(8).toString("hex")}`,
  };
  const config: Record<string, string> = { "eventline:messagingUrl": messaging.baseUrl };
  for (const key of secretConfigKeys.keys())
    config[key] = local[key] ?? `verify-${randomBytes(8).toString("hex")}`;
  return { smtp, hooks, messaging, relay, config };
}

/** Runs `work` over `items`, `concurrency` at a time, in order of start. */
async function pool<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
  return results;
}

interface RunContext {
  stack: string;
  image: ImageBuild;
  eventTypes: EventTypes;
  emulators: { pubsub: string; firestore: string };
  standIns: StandIns;
  reportDir: string;
  runId: string;
  pubsubFor(project: string): PubSub;
}

/** A line of a workload's output for a person: a JSON log line as its severity, message and error. */
function logLine(line: string): string {
  try {
    const entry = JSON.parse(line) as {
      severity?: string;
      message?: string;
      err?: { message?: string };
    };
    if (typeof entry.message === "string")
      return `${entry.severity ?? ""} ${entry.message}${entry.err?.message ? `: ${entry.err.message}` : ""}`
        .trim()
        .slice(0, 300);
  } catch {
    // Not JSON: shown as it is.
  }
  return line.slice(0, 300);
}

function mark(passed: boolean): string {
  return passed ? "ok" : "FAILED";
}

/** Starts one workload as declared, checks it, and stops it. */
async function runWorkload(workload: Workload, context: RunContext): Promise<WorkloadReport> {
  const started = Date.now();
  const report: WorkloadReport = {
    name: workload.name,
    platform: workload.platform,
    mode: workload.mode,
    probes: [],
    checks: [],
    problems: [],
    seconds: 0,
  };
  const problem = (text: string, fix: string): void =>
    void report.problems.push({ problem: text, fix });
  const port = await freePort();
  const settingsReport = join(context.reportDir, `${workload.name}.json`);
  const overrides: Record<string, string> = {
    PORT: String(port),
    PUBSUB_EMULATOR_HOST: context.emulators.pubsub,
    FIRESTORE_EMULATOR_HOST: context.emulators.firestore,
    METADATA_SERVER_DETECTION: "none",
    // Cloud Trace is the cloud's; here the spans would only fail to leave (no credentials).
    EVENTLINE_TRACE_EXPORT: "none",
    [SETTINGS_REPORT_VARIABLE]: settingsReport,
    // Hooks post to a local receiver that checks their signatures, not to the outside agents.
    EVENTLINE_HOOK_BASE_URL: context.standIns.hooks.url,
    // Pub/Sub's pushes and producers' requests are signed by the relay's issuer here.
    ...((workload.push !== undefined || workload.mode === "gateway") && {
      TOKEN_JWKS_URL: context.standIns.relay.jwksUrl,
      TOKEN_ISSUER: context.standIns.relay.issuer,
    }),
  };
  const consumer = context.eventTypes.system.consumers.find((c) => c.name === workload.consumer);
  const project = workload.env["GOOGLE_CLOUD_PROJECT"] ?? "";
  const pubsub = context.pubsubFor(project);
  // As in the cloud, where the program creates a pull worker's subscription before its Deployment.
  if (consumer !== undefined && workload.push === undefined)
    await provision(pubsub, context.eventTypes.system, { consumers: [consumer.name] });
  const container = await startContainer({
    name: workload.name,
    image: context.image,
    ...(workload.command !== undefined && { command: workload.command }),
    ...(workload.args !== undefined && { args: workload.args }),
    env: workload.env,
    overrides,
    mounts: workload.mounts,
  });
  // Where its outcome shows: the event store for an archiver, its state database for any other
  // consumer, each a named database on the emulator, as in the cloud.
  const firestore = new Firestore({
    projectId: project,
    databaseId:
      workload.env["FIRESTORE_EVENT_STORE_DATABASE"] ||
      workload.env["FIRESTORE_STATE_DATABASE"] ||
      UNNAMED_DATABASE,
    host: context.emulators.firestore,
    ssl: false,
  });
  try {
    const startedAt = Date.now();
    for (const probe of workload.probes.filter((p) => p.kind !== "liveness")) {
      const result = await waitForProbe({ ...probe }, port, {
        exited: container.exited,
        output: container.output,
        startedAt,
      });
      report.probes.push(result);
      if (!result.passed)
        problem(
          `its ${probe.kind} probe GET ${probe.path} did not pass within ${result.budgetSeconds} s: ${result.detail}`,
          `serve ${probe.path} on the container port, or fix the probe in the program`,
        );
    }
    const liveness = workload.probes.find((p) => p.kind === "liveness");
    const ready = report.probes.every((probe) => probe.passed);
    if (ready) {
      if (liveness !== undefined) {
        const attempt = await checkProbe(liveness, port);
        report.probes.push({
          kind: "liveness",
          path: liveness.path,
          passed: attempt.passed,
          budgetSeconds: 0,
          detail: attempt.detail,
        });
        if (!attempt.passed)
          problem(
            `its liveness probe GET ${liveness.path} failed: ${attempt.detail}`,
            `serve ${liveness.path} on the container port`,
          );
      }
      report.checks = await exercise(workload, context, pubsub, firestore, port);
      for (const check of report.checks.filter((c) => !c.passed))
        problem(
          `${check.what}: expected ${check.expected}, got ${check.outcome}`,
          "see the workload's log (eventline verify --only <workload> --log)",
        );
    }
    const reads = readReport(settingsReport);
    if (reads !== undefined) {
      report.settings = checkSettings(reads, workload.env, overrides);
      for (const name of report.settings.missing)
        problem(`reads ${name}, which the declaration does not give it`, howToSet(name));
      for (const name of report.settings.unknown)
        problem(
          `is given ${name}, which the image never reads`,
          `remove it, or add it to infra/model/settings.ts if the image should read it`,
        );
      for (const name of report.settings.unread)
        problem(
          `is given ${name}, which it never reads`,
          "give each workload only the settings it uses (infra/index.ts and its components)",
        );
    } else {
      problem("wrote no record of the settings it read: it did not start", "see its output above");
    }
    const stop = await container.stop(workload.graceSeconds);
    report.stop = {
      code: stop.code,
      seconds: Math.round(stop.seconds * 10) / 10,
      killed: stop.killed,
    };
    if (stop.killed || stop.code !== 0) {
      const last = container.output.slice(-6).map(logLine).join("\n    ");
      problem(
        stop.killed
          ? `did not stop within its ${workload.graceSeconds} s grace period after SIGTERM`
          : `exited with ${stop.code ?? stop.signal}${ready ? " on SIGTERM" : ""}:\n    ${last}`,
        stop.killed ? "drain and close within the grace period" : "see the output above",
      );
    }
  } finally {
    await container.stop(0).catch(() => undefined);
    await firestore.terminate().catch(() => undefined);
  }
  report.seconds = Math.round((Date.now() - started) / 100) / 10;
  return report;
}

async function exercise(
  workload: Workload,
  context: RunContext,
  pubsub: PubSub,
  firestore: Firestore,
  port: number,
): Promise<ExerciseCheck[]> {
  if (workload.mode === "gateway") {
    // The tokens the cloud would issue each producer's account for the gateway's audience.
    const accounts = JSON.parse(workload.env["EVENTLINE_PRODUCER_ACCOUNTS"] ?? "{}") as Record<
      string,
      string
    >;
    const audience = workload.env["EVENTLINE_GATEWAY_AUDIENCE"] ?? "";
    return exerciseGateway(context.eventTypes, pubsub, port, context.runId, (producer) =>
      context.standIns.relay.token({
        audience,
        serviceAccountEmail: accounts[producer.name] ?? `${producer.name}@unknown`,
      }),
    );
  }
  if (workload.mode === "tracker")
    return exerciseTracker(context.eventTypes, pubsub, port, workload.env, context.runId);
  const consumer = context.eventTypes.system.consumers.find((c) => c.name === workload.consumer);
  if (consumer === undefined)
    return [
      {
        what: "HANDLER",
        expected: "a declared consumer",
        outcome: `${workload.consumer ?? "none"}`,
        passed: false,
      },
    ];
  const pushEndpoints: Record<string, string> = {};
  if (workload.push !== undefined) {
    pushEndpoints[consumer.name] = context.standIns.relay.route(consumer.name, {
      url: `http://127.0.0.1:${port}/`,
      ...workload.push,
      timeoutSeconds: consumer.ackDeadlineSeconds,
    });
  }
  await provision(pubsub, context.eventTypes.system, { consumers: [consumer.name], pushEndpoints });
  return exerciseConsumer(consumer, context.eventTypes, { pubsub, firestore }, port, context.runId);
}

/** Verifies the stack's workloads. The report's `ok` is false when any workload has a problem. */
export async function verify(options: VerifyOptions): Promise<VerifyReport> {
  const say = options.say ?? (() => {});
  process.env["METADATA_SERVER_DETECTION"] = "none";
  const standIns = await startStandIns();
  const emulators: RunningEmulator[] = [];
  const clients = new Map<string, PubSub>();
  try {
    say(`evaluating the program for stack ${options.stack}…`);
    const evaluation = await evaluateProgram({ stack: options.stack, config: standIns.config });
    let workloads = workloadsOf(evaluation);
    if (options.mutate !== undefined) workloads = options.mutate(workloads);
    if (options.only !== undefined) {
      const unknown = options.only.filter(
        (name) => !workloads.some((workload) => workload.name === name),
      );
      if (unknown.length > 0) {
        const names = workloads.map((w) => w.name);
        throw new Error(
          `no workload named ${unknown.join(", ")} in stack ${options.stack}${suggest(unknown[0]!, names) || "."} Its workloads: ${names.join(", ")}`,
        );
      }
      workloads = workloads.filter((workload) => options.only!.includes(workload.name));
    }
    say("building the image's app directory as handlers/Dockerfile does…");
    const workDir = options.workDir ?? join(REPO_ROOT, ".eventline", "verify");
    const image = await buildImage({
      dockerfile: join(REPO_ROOT, "handlers", "Dockerfile"),
      context: REPO_ROOT,
      workDir: join(workDir, "images"),
      say: (line) => say(`  ${line}`),
    });
    say("starting the Pub/Sub and Firestore emulators…");
    emulators.push(...(await Promise.all([startEmulator("pubsub"), startEmulator("firestore")])));
    const [pubsubEmulator, firestoreEmulator] = emulators as [RunningEmulator, RunningEmulator];
    const reportDir = join(workDir, "runs", `${options.stack}-${Date.now()}`);
    mkdirSync(reportDir, { recursive: true });
    const eventTypes = eventTypesFor(options.stack);
    const pubsubFor = (project: string): PubSub => {
      let client = clients.get(project);
      if (client === undefined) {
        client = new PubSub({
          projectId: project,
          apiEndpoint: pubsubEmulator.host,
          emulatorMode: true,
        });
        clients.set(project, client);
      }
      return client;
    };
    const runnable = workloads.filter((workload) => workload.handlerImage);
    // The topics exist before any workload, as the program creates them first.
    for (const project of new Set(
      runnable
        .map((workload) => workload.env["GOOGLE_CLOUD_PROJECT"])
        .filter((project): project is string => Boolean(project)),
    )) {
      await Promise.all(
        eventTypes.system.topics.map((topic) =>
          pubsubFor(project)
            .createTopic(topic.name)
            .catch(() => undefined),
        ),
      );
    }
    const context: RunContext = {
      stack: options.stack,
      image,
      eventTypes,
      emulators: { pubsub: pubsubEmulator.host, firestore: firestoreEmulator.host },
      standIns,
      reportDir,
      runId: randomBytes(3).toString("hex"),
      pubsubFor,
    };
    say(`running ${runnable.length} workloads, ${options.concurrency ?? 4} at a time…`);
    let done = 0;
    const ran = await pool(runnable, options.concurrency ?? 4, async (workload) => {
      const report = await runWorkload(workload, context);
      done += 1;
      say(
        `  [${done}/${runnable.length}] ${workload.name}: ${mark(report.problems.length === 0)} in ${report.seconds} s`,
      );
      return report;
    });
    const skipped = workloads
      .filter((workload) => !workload.handlerImage)
      .map((workload): WorkloadReport => ({
        name: workload.name,
        platform: workload.platform,
        mode: workload.mode,
        skipped: `runs ${workload.image.split("@")[0]}, not the handler image`,
        probes: [],
        checks: [],
        problems: [],
        seconds: 0,
      }));
    const overrides = [
      `Pub/Sub and Firestore: the emulators (${pubsubEmulator.host}, ${firestoreEmulator.host})`,
      "PORT: a free port per workload (the declared container port is probed there)",
      `push tokens: signed by a local issuer (${standIns.relay.issuer}), whose keys push consumers and the gateway are told to trust (TOKEN_ISSUER, TOKEN_JWKS_URL); producers' tokens from the same issuer`,
      `SMTP: a local server (${standIns.smtp.url}), as the value of eventline:smtpUrl`,
      `messaging provider: a local one (${standIns.messaging.baseUrl}), as eventline:messagingUrl`,
      `hooks: a local receiver that checks their signatures (${standIns.hooks.url}), as EVENTLINE_HOOK_BASE_URL`,
      `secrets: local values for ${[...secretConfigKeys.keys()].join(", ")}`,
      `${SETTINGS_REPORT_VARIABLE}: where each workload records the settings it read`,
      "EVENTLINE_TRACE_EXPORT: none (spans go to Cloud Trace only in the cloud)",
    ];
    overrides.push(
      `sent through them: ${standIns.smtp.mails.length} emails over SMTP, ${standIns.messaging.requests.length} texts to the provider's API`,
    );
    const all = [...ran, ...skipped];
    return {
      stack: options.stack,
      overrides,
      workloads: all,
      ok: all.every((workload) => workload.problems.length === 0),
    };
  } finally {
    await Promise.all([...clients.values()].map((client) => client.close().catch(() => undefined)));
    await Promise.all(emulators.map((emulator) => emulator.stop()));
    await Promise.all([
      standIns.smtp.close(),
      standIns.messaging.close(),
      standIns.relay.close(),
      standIns.hooks.close(),
    ]);
  }
}
