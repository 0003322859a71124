/**
 * Runs the Pulumi program for a stack without the Pulumi CLI or a cloud: the runtime is put
 * under mocks (`pulumi.runtime.setMocks`) that answer every resource and invoke with
 * realistic state, the stack's config is loaded the way the CLI would (Pulumi.yaml defaults,
 * then Pulumi.<stack>.yaml, then the caller's overrides), and every resource the program
 * registers is recorded with its inputs. Tests, the offline policy check and the benchmark
 * all evaluate the program through here.
 *
 * Several evaluations may run in one process, one after another (concurrent calls queue):
 * the program is a function that builds its resources when called, so no module state
 * carries over, and each evaluation installs a fresh mock monitor and config.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { isAbsolute, join, resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { secretConfigKeys } from "./config";
import type { SystemSpec } from "./model/types";

export interface RecordedResource {
  /** The resource type token, e.g. `gcp:pubsub/subscription:Subscription`. */
  type: string;
  /** The Pulumi (logical) name. */
  name: string;
  urn: string;
  /** The inputs as the provider would receive them, secrets unwrapped. */
  inputs: Record<string, unknown>;
  /** The parent's URN, for resources created inside a component. */
  parent?: string;
  /** URNs of the resources it waits for (its dependsOn and what its inputs reference). */
  dependencies: string[];
  /** Its `ignoreChanges` option: input paths whose drift a preview does not show. */
  ignoreChanges: string[];
  /** Its `retainOnDelete` option: deleted or replaced, it is left in the cloud. */
  retainOnDelete: boolean;
}

export interface Evaluation {
  stack: string;
  /**
   * Secret keys the stack's file does not set, which the evaluation gave a placeholder
   * (see {@link EvaluateOptions.missingSecrets}). A real `pulumi preview` refuses them.
   */
  placeholderSecrets: string[];
  /** Every resource the program registered (components included), in registration order. */
  resources: RecordedResource[];
  /** The stack outputs, resolved. */
  outputs: Record<string, unknown>;
}

export interface EvaluateOptions {
  /** The stack to evaluate; its defaults come from Pulumi.<stack>.yaml when that file exists. */
  stack: string;
  /** Config by full key (`gcp:project`) over the stack file's; `undefined` removes a key. */
  config?: Record<string, string | undefined>;
  /**
   * The program: a module path exporting the program function as infra/index.ts does, or the
   * function itself; default infra/index.ts.
   */
  program?: string | Program;
  /** A declaration to deploy instead of infra/system.ts (passed to the program). */
  system?: SystemSpec;
  /**
   * What a secret key the stack does not set becomes. A stack file cannot hold a secret
   * before `pulumi config set --secret` has encrypted it with the stack's own key, which only
   * the Pulumi CLI can do, so offline checks give it a placeholder and report it
   * (`placeholder`, the default); `fail` leaves it unset, and the program refuses it, as a real
   * preview would.
   */
  missingSecrets?: "placeholder" | "fail";
  /**
   * Let Pulumi format the stacks it captures for every resource and promise, as a real run
   * does (see withoutPulumiStackCaptures). Off by default; the benchmark's baseline turns it on.
   */
  pulumiStacks?: boolean;
}

/** The shape of infra/index.ts: one function whose result is the stack outputs. */
export type Program = (options?: { system?: SystemSpec }) => Promise<Record<string, unknown>>;

/** The project number the mocks give the project (it names Google's service agents). */
export const MOCK_PROJECT_NUMBER = "123456789012";
const PROJECT_NAME = "eventline";
const REPO_ROOT = resolve(__dirname, "..");

/**
 * js-yaml comes with @pulumi/pulumi (a transitive dependency, without type declarations);
 * loaded through createRequire so this module compiles without them.
 */
const yaml = createRequire(__filename)("js-yaml") as { load(text: string): unknown };

function readYaml(path: string): Record<string, unknown> {
  if (!existsSync(path)) return {};
  const parsed = yaml.load(readFileSync(path, "utf8"));
  return parsed !== null && typeof parsed === "object" ? (parsed as Record<string, unknown>) : {};
}

function fullKey(key: string): string {
  return key.includes(":") ? key : `${PROJECT_NAME}:${key}`;
}

/** A config value as the CLI hands it to the program: strings, with lists and maps as JSON. */
function configString(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * The config the CLI would give `stack`: Pulumi.yaml's defaults and values, overlaid by
 * Pulumi.<stack>.yaml. Secure values (`{ secure: … }`) cannot be decrypted here; they get a
 * placeholder and are reported as secret keys.
 */
export function stackConfig(
  stack: string,
  root: string = REPO_ROOT,
): { values: Record<string, string>; secretKeys: string[] } {
  const values: Record<string, string> = {};
  const secretKeys: string[] = [];
  const project = readYaml(join(root, "Pulumi.yaml"))["config"] as
    Record<string, { default?: unknown; value?: unknown } | unknown> | undefined;
  for (const [key, spec] of Object.entries(project ?? {})) {
    if (spec === null || typeof spec !== "object") continue;
    const { default: fallback, value } = spec as { default?: unknown; value?: unknown };
    if (value !== undefined) values[fullKey(key)] = configString(value);
    else if (fallback !== undefined) values[fullKey(key)] = configString(fallback);
  }
  const perStack = readYaml(join(root, `Pulumi.${stack}.yaml`))["config"] as
    Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(perStack ?? {})) {
    if (value !== null && typeof value === "object" && "secure" in value) {
      values[fullKey(key)] = `mock-secret-${fullKey(key)}`;
      secretKeys.push(fullKey(key));
    } else {
      values[fullKey(key)] = configString(value);
    }
  }
  return { values, secretKeys };
}

const digestOf = (text: string) => createHash("sha256").update(text).digest("hex");

/** Realistic computed state for the resources the program reads outputs of. */
function mockState(
  args: pulumi.runtime.MockResourceArgs,
  project: string,
  region: string,
): { id: string; state: Record<string, unknown> } {
  const inputs = args.inputs as Record<string, unknown>;
  const name = typeof inputs["name"] === "string" ? (inputs["name"] as string) : args.name;
  const base = { ...inputs, name };
  switch (args.type) {
    case "gcp:pubsub/topic:Topic":
      return { id: `projects/${project}/topics/${name}`, state: base };
    case "gcp:pubsub/subscription:Subscription":
      return { id: `projects/${project}/subscriptions/${name}`, state: base };
    case "gcp:pubsub/schema:Schema":
      return { id: `projects/${project}/schemas/${name}`, state: base };
    case "gcp:serviceaccount/account:Account": {
      const email = `${String(inputs["accountId"])}@${project}.iam.gserviceaccount.com`;
      return {
        id: `projects/${project}/serviceAccounts/${email}`,
        state: {
          ...inputs,
          email,
          member: `serviceAccount:${email}`,
          name: `projects/${project}/serviceAccounts/${email}`,
        },
      };
    }
    case "gcp:cloudrunv2/service:Service":
      return {
        id: `projects/${project}/locations/${region}/services/${name}`,
        state: { ...base, uri: `https://${name}-${MOCK_PROJECT_NUMBER}.${region}.run.app` },
      };
    case "gcp:artifactregistry/repository:Repository": {
      const repository = String(inputs["repositoryId"]);
      return {
        id: `projects/${project}/locations/${region}/repositories/${repository}`,
        state: {
          ...inputs,
          name: repository,
          registryUri: `${region}-docker.pkg.dev/${project}/${repository}`,
        },
      };
    }
    case "docker-build:index:Image": {
      const tag = String((inputs["tags"] as string[] | undefined)?.[0] ?? args.name);
      const digest = `sha256:${digestOf(tag)}`;
      return { id: digest, state: { ...inputs, digest, ref: `${tag}@${digest}` } };
    }
    case "gcp:container/cluster:Cluster":
      return {
        id: `projects/${project}/locations/${region}/clusters/${name}`,
        state: {
          ...base,
          endpoint: "203.0.113.10",
          masterAuth: { clusterCaCertificate: Buffer.from("mock-ca").toString("base64") },
          // GKE gives every cluster a DNS endpoint; whether it takes outside traffic is the input's.
          controlPlaneEndpointsConfig: {
            ...(inputs["controlPlaneEndpointsConfig"] as object | undefined),
            dnsEndpointConfig: {
              ...((inputs["controlPlaneEndpointsConfig"] as { dnsEndpointConfig?: object })
                ?.dnsEndpointConfig ?? {}),
              endpoint: `gke-${digestOf(name).slice(0, 32)}.${region}.gke.goog`,
            },
          },
        },
      };
    case "gcp:secretmanager/secret:Secret":
      return {
        id: `projects/${project}/secrets/${String(inputs["secretId"])}`,
        state: {
          ...inputs,
          name: `projects/${MOCK_PROJECT_NUMBER}/secrets/${String(inputs["secretId"])}`,
        },
      };
    case "gcp:secretmanager/secretVersion:SecretVersion": {
      const secret = String(inputs["secret"]);
      return {
        id: `${secret}/versions/1`,
        state: {
          ...inputs,
          version: "1",
          name: `${secret.replace(`projects/${project}/`, `projects/${MOCK_PROJECT_NUMBER}/`)}/versions/1`,
        },
      };
    }
    case "gcp:monitoring/dashboard:Dashboard":
      return {
        id: `projects/${MOCK_PROJECT_NUMBER}/dashboards/${digestOf(args.name).slice(0, 32)}`,
        state: inputs,
      };
    default:
      return { id: `${args.name}-id`, state: base };
  }
}

function mocks(project: string, region: string): pulumi.runtime.Mocks {
  return {
    newResource: (args) => mockState(args, project, region),
    call: (args) => {
      switch (args.token) {
        case "gcp:organizations/getProject:getProject":
          return {
            id: `projects/${project}`,
            projectId: project,
            name: project,
            number: MOCK_PROJECT_NUMBER,
          };
        case "gcp:organizations/getClientConfig:getClientConfig":
          return {
            id: "client-config",
            project,
            region,
            zone: `${region}-b`,
            accessToken: "mock-access-token",
          };
        default:
          throw new Error(
            `evaluateProgram: no mock for invoke ${args.token}; add one to infra/evaluate.ts`,
          );
      }
    },
  };
}

/** The monitor call the mocks see, as far as recording needs it. */
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getDependenciesList(): string[];
  getIgnorechangesList(): string[];
  getRetainondelete(): boolean | undefined;
  getObject(): Parameters<typeof pulumi.runtime.deserializeProperties>[0];
}
type RegisterCallback = (err: unknown, response?: { getUrn(): string }) => void;
interface RecordableMonitor {
  registerResource(req: RegisterRequest, callback: RegisterCallback): unknown;
}

/** Records every registration the mock monitor answers. */
function recordRegistrations(into: RecordedResource[]): void {
  const monitor = pulumi.runtime.getMonitor() as unknown as RecordableMonitor;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) =>
    register(req, (err, response) => {
      if (!err && response) {
        const inputs = pulumi.runtime.deserializeProperties(req.getObject()) as Record<
          string,
          unknown
        >;
        for (const key of Object.keys(inputs))
          inputs[key] = pulumi.runtime.unwrapRpcSecret(inputs[key]);
        const parent = req.getParent();
        into.push({
          type: req.getType(),
          name: req.getName(),
          urn: response.getUrn(),
          inputs,
          ...(parent && { parent }),
          dependencies: req.getDependenciesList(),
          ignoreChanges: req.getIgnorechangesList(),
          retainOnDelete: req.getRetainondelete() === true,
        });
      }
      callback(err, response);
    });
}

/** Resolves every Output in the program's result once all registrations are answered. */
async function settle(result: Record<string, unknown>): Promise<Record<string, unknown>> {
  let settled: { value: Record<string, unknown> } | undefined;
  pulumi.output(result).apply((value) => {
    settled = { value: value as Record<string, unknown> };
    return value;
  });
  await pulumi.runtime.disconnect();
  // Every registration is answered; the outputs' own callbacks need a few more event-loop turns.
  for (let tick = 0; tick < 10 && settled === undefined; tick++)
    await new Promise((done) => setImmediate(done));
  if (settled === undefined)
    throw new Error(
      "evaluateProgram: the stack outputs did not resolve; a registration or invoke failed (see the errors above)",
    );
  return settled.value;
}

async function evaluate(options: EvaluateOptions): Promise<Evaluation> {
  const { values, secretKeys } = stackConfig(options.stack);
  for (const [key, value] of Object.entries(options.config ?? {})) {
    if (value === undefined) delete values[key];
    else values[key] = value;
  }
  const placeholders = new Map<string, string>();
  if ((options.missingSecrets ?? "placeholder") === "placeholder") {
    for (const [key, example] of secretConfigKeys) {
      if (values[key] || (options.config !== undefined && key in options.config)) continue;
      values[key] = example;
      placeholders.set(key, example);
      secretKeys.push(key);
    }
  }
  const project = values["gcp:project"] ?? "mock-project";
  const region = values["gcp:region"] ?? "europe-west1";

  await pulumi.runtime.setMocks(mocks(project, region), PROJECT_NAME, options.stack, false);
  // The runtime read PULUMI_CONFIG once, when its store was created; set the store itself.
  pulumi.runtime.setAllConfig(values, secretKeys);
  const resources: RecordedResource[] = [];
  recordRegistrations(resources);

  const program = await loadProgram(options.program);

  const restoreStacks =
    options.pulumiStacks === true ? () => undefined : withoutPulumiStackCaptures();
  try {
    const outputs = await settle(
      await program(options.system === undefined ? {} : { system: options.system }),
    );
    // Only the placeholders the program used: a secret its consumers do not need is not missing.
    const used = JSON.stringify(resources.map((resource) => resource.inputs));
    const placeholderSecrets = [...placeholders]
      .filter(([, example]) => used.includes(JSON.stringify(example).slice(1, -1)))
      .map(([key]) => key);
    return { stack: options.stack, placeholderSecrets, resources, outputs };
  } finally {
    // Whatever happened, let in-flight registrations finish before the next evaluation's mocks.
    await pulumi.runtime.disconnect();
    restoreStacks();
  }
}

/**
 * The SDK module that tags every RPC promise with a stack for its leak report. Its functions are
 * called through the module object (`debuggable_1.debuggablePromise(…)`), so replacing the
 * export reaches every caller. An internal path: should an SDK release move it, the evaluation
 * goes on without the replacement, only slower.
 */
interface DebuggableModule {
  debuggablePromise: (promise: Promise<unknown>, context: unknown) => Promise<unknown>;
}
function debuggableModule(): Partial<DebuggableModule> {
  try {
    return createRequire(__filename)(
      "@pulumi/pulumi/runtime/debuggable",
    ) as Partial<DebuggableModule>;
  } catch {
    return {};
  }
}
const debuggable = debuggableModule();

/**
 * Makes the stacks Pulumi captures for its own diagnostics free while the program runs under
 * mocks. The SDK reads `new Error().stack` for every resource (its source position, at
 * unlimited depth) and every RPC promise (for leak reports), and under mocks nothing reads
 * them. Two costs, each measured (bench/README.md, "Program evaluation"):
 * - formatting those stacks through the TypeScript source maps: such errors, without a
 *   message, get an empty stack;
 * - capturing the promises' stacks at all: a promise is tagged with no frames.
 * Any other error keeps its stack, captured and formatted as Node does.
 * @returns what puts the previous formatter and promise tagging back.
 */
function withoutPulumiStackCaptures(): () => void {
  const previous = Error.prepareStackTrace;
  Error.prepareStackTrace = (error: Error, frames: NodeJS.CallSite[]) => {
    if (error.message === "" && error.name === "Error") return "";
    if (previous !== undefined) return previous(error, frames);
    return [String(error), ...frames.map((frame) => `    at ${String(frame)}`)].join("\n");
  };
  const tag = debuggable.debuggablePromise;
  if (typeof tag === "function")
    debuggable.debuggablePromise = (promise, context) => {
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      try {
        return tag(promise, context);
      } finally {
        Error.stackTraceLimit = limit;
      }
    };
  return () => {
    Error.prepareStackTrace = previous;
    if (typeof tag === "function") debuggable.debuggablePromise = tag;
  };
}

/** The program function: `program` itself, or what its module (default infra/index.ts) exports. */
async function loadProgram(program: string | Program | undefined): Promise<Program> {
  if (typeof program === "function") return program;
  const path =
    program === undefined
      ? join(__dirname, existsSync(join(__dirname, "index.ts")) ? "index.ts" : "index.js")
      : program;
  const loaded = (await loadModule(isAbsolute(path) ? path : resolve(path))) as
    { default?: Program } | Program;
  const exported = typeof loaded === "function" ? loaded : loaded.default;
  if (typeof exported !== "function")
    throw new Error(
      `evaluateProgram: ${path} does not export the program function (export = async (options) => outputs)`,
    );
  return exported;
}

/**
 * The arguments Pulumi.yaml has the CLI give `node` when it runs the program
 * (`runtime.options.nodeargs`), split as a shell would split plain words; none when it sets
 * none. The benchmark evaluates with them, so it measures the runtime a real preview uses.
 */
export function programNodeArgs(root: string = REPO_ROOT): string[] {
  const runtime = readYaml(join(root, "Pulumi.yaml"))["runtime"];
  const options =
    runtime !== null && typeof runtime === "object"
      ? (runtime as { options?: { nodeargs?: unknown } }).options
      : undefined;
  const nodeargs = options?.nodeargs;
  if (nodeargs === undefined) return [];
  if (typeof nodeargs !== "string")
    throw new Error("Pulumi.yaml: runtime.options.nodeargs must be a string of node arguments");
  return nodeargs.split(/\s+/).filter((word) => word !== "");
}

/**
 * Loads the program module: with require() where a CommonJS hook compiles TypeScript (the
 * `eventline` bin runs under tsx's), else with import() (vitest, tsx's ESM loader).
 */
function loadModule(path: string): Promise<unknown> {
  const require_ = createRequire(__filename);
  if (path.endsWith(".ts") && require_.extensions[".ts"] !== undefined)
    return Promise.resolve(require_(path));
  return import(path);
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * Evaluates infra/index.ts (or `program`, a module path exporting the same shape) for `stack`
 * under mocks. config: full keys like "gcp:project".
 * @throws whatever the program throws (e.g. ConfigError, DeclarationError).
 */
export async function evaluateProgram(options: EvaluateOptions): Promise<Evaluation> {
  const run = queue.then(() => evaluate(options));
  queue = run.catch(() => undefined);
  return run;
}
