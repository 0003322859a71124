/**
 * The workloads a stack deploys, read from what the Pulumi program registered (an evaluation
 * under mocks, infra/evaluate.ts), exactly as the platform would start them: each Cloud Run
 * service and each GKE Deployment, with its container's command, environment, port, probes and
 * volumes. Values the platform resolves at start are resolved the same way here: an environment
 * variable from a Secret Manager version becomes that version's data, and a volume of the
 * Secret Manager add-on becomes the files its SecretProviderClass names.
 *
 * Nothing here knows what the workloads are for beyond what they declare: a consumer is a
 * workload whose environment names HANDLER, and its push subscription is the one whose push
 * endpoint is its service's URL.
 */
import { createRequire } from "node:module";
import type { Evaluation, RecordedResource } from "../../infra/evaluate";
import type { VolumeMount } from "./container";
import type { ProbeSpec } from "./probes";

/** Cloud Run gives a container this long between SIGTERM and SIGKILL, in seconds. */
export const CLOUD_RUN_GRACE_SECONDS = 10;

/** One workload as declared. */
export interface Workload {
  /** The Cloud Run service's or the Deployment's name. */
  name: string;
  platform: "cloud-run" | "gke";
  /** The consumer it runs (its HANDLER), if it runs one. */
  consumer?: string;
  /** Its MODE. */
  mode: string;
  /** The image it runs, as declared (by digest). */
  image: string;
  /** True when that image is the one the program builds from this repository (handlers/Dockerfile). */
  handlerImage: boolean;
  /** The container's command and args, when declared (Kubernetes); absent: the image's CMD. */
  command?: string[];
  args?: string[];
  /** Every environment variable, secrets resolved to their data. */
  env: Record<string, string>;
  /** The variables among {@link env} whose values come from Secret Manager. */
  secretVariables: string[];
  /** Mounted volumes: an emptyDir is a mount without files; the add-on's is the secrets' files. */
  mounts: VolumeMount[];
  /** The container port it must listen on. */
  port: number;
  probes: ProbeSpec[];
  /** Seconds between SIGTERM and SIGKILL. */
  graceSeconds: number;
  /** For a push consumer: the identity and audience Pub/Sub signs its pushes with. */
  push?: { audience: string; serviceAccountEmail: string };
}

/** A workload whose declaration cannot be read: verify says so instead of guessing. */
export class WorkloadShapeError extends Error {
  override readonly name = "WorkloadShapeError";
}

// The program's inputs as the mocks recorded them; read defensively, shapes are the providers'.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Inputs = Record<string, any>;

const yaml = createRequire(__filename)("js-yaml") as { load(text: string): unknown };

const CLOUD_RUN = "gcp:cloudrunv2/service:Service";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const SUBSCRIPTION = "gcp:pubsub/subscription:Subscription";
const SECRET_VERSION = "gcp:secretmanager/secretVersion:SecretVersion";
const SECRET_PROVIDER_CLASS = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass";
const BUILT_IMAGE = "docker-build:index:Image";

function ofType(evaluation: Evaluation, type: string): (RecordedResource & { inputs: Inputs })[] {
  return evaluation.resources.filter((resource) => resource.type === type) as (RecordedResource & {
    inputs: Inputs;
  })[];
}

/** Secret data by secret id, from the stack's Secret Manager versions. */
function secretData(evaluation: Evaluation): Map<string, string> {
  const data = new Map<string, string>();
  for (const version of ofType(evaluation, SECRET_VERSION)) {
    const id = String(version.inputs["secret"]).split("/").pop()!;
    data.set(id, String(version.inputs["secretData"]));
  }
  return data;
}

function secretOf(
  data: Map<string, string>,
  workload: string,
  variable: string,
  secret: string,
): string {
  const id = secret.split("/").pop()!;
  const value = data.get(id);
  if (value === undefined)
    throw new WorkloadShapeError(
      `${workload}: ${variable} comes from secret ${secret}, which the stack does not create`,
    );
  return value;
}

function httpProbe(
  kind: ProbeSpec["kind"],
  declared: Inputs | undefined,
  workload: string,
): ProbeSpec | undefined {
  if (declared === undefined) return undefined;
  const get = declared["httpGet"] as Inputs | undefined;
  if (get === undefined)
    throw new WorkloadShapeError(
      `${workload}: its ${kind} probe is not an HTTP GET; verify checks HTTP probes only`,
    );
  const field = (name: string): number | undefined =>
    typeof declared[name] === "number" ? (declared[name] as number) : undefined;
  const probe: ProbeSpec = { kind, path: String(get["path"] ?? "/"), port: Number(get["port"]) };
  for (const name of [
    "initialDelaySeconds",
    "periodSeconds",
    "timeoutSeconds",
    "failureThreshold",
    "successThreshold",
  ] as const) {
    const value = field(name);
    if (value !== undefined) probe[name] = value;
  }
  return probe;
}

function cloudRunWorkload(
  service: Inputs,
  data: Map<string, string>,
  pushes: Map<string, Workload["push"]>,
): Workload {
  const name = String(service["name"]);
  const containers = (service["template"]?.["containers"] ?? []) as Inputs[];
  if (containers.length !== 1)
    throw new WorkloadShapeError(
      `${name}: ${containers.length} containers; verify runs services of one container`,
    );
  const container = containers[0]!;
  const env: Record<string, string> = {};
  const secretVariables: string[] = [];
  for (const entry of (container["envs"] ?? []) as Inputs[]) {
    const ref = entry["valueSource"]?.["secretKeyRef"] as Inputs | undefined;
    if (ref !== undefined) {
      env[entry["name"]] = secretOf(data, name, entry["name"], String(ref["secret"]));
      secretVariables.push(entry["name"]);
    } else {
      env[entry["name"]] = String(entry["value"] ?? "");
    }
  }
  const ports = container["ports"] as Inputs | Inputs[] | undefined;
  const port = Number((Array.isArray(ports) ? ports[0] : ports)?.["containerPort"] ?? 8080);
  const probes = [
    httpProbe("startup", container["startupProbe"], name),
    httpProbe("liveness", container["livenessProbe"], name),
  ].filter((probe): probe is ProbeSpec => probe !== undefined);
  const push = pushes.get(String(service["uri"] ?? ""));
  return {
    name,
    platform: "cloud-run",
    ...(env["HANDLER"] !== undefined && { consumer: env["HANDLER"] }),
    mode: env["MODE"] ?? "",
    image: String(container["image"]),
    handlerImage: false,
    ...(container["commands"] !== undefined && { command: container["commands"] as string[] }),
    ...(container["args"] !== undefined && { args: container["args"] as string[] }),
    env,
    secretVariables,
    mounts: [],
    port,
    probes,
    graceSeconds: CLOUD_RUN_GRACE_SECONDS,
    ...(push !== undefined && { push }),
  };
}

/** The files a SecretProviderClass of the Secret Manager add-on mounts: path → data. */
function providerFiles(
  evaluation: Evaluation,
  data: Map<string, string>,
  name: string,
  workload: string,
): Record<string, string> {
  const providerClass = ofType(evaluation, SECRET_PROVIDER_CLASS).find(
    (resource) => resource.inputs["metadata"]?.["name"] === name,
  );
  if (providerClass === undefined)
    throw new WorkloadShapeError(
      `${workload}: its secrets volume names SecretProviderClass ${name}, which the stack does not create`,
    );
  const listed = yaml.load(
    String(providerClass.inputs["spec"]?.["parameters"]?.["secrets"] ?? ""),
  ) as { resourceName: string; path: string }[] | undefined;
  return Object.fromEntries(
    (listed ?? []).map(({ resourceName, path }) => [
      path,
      secretOf(data, workload, path, resourceName.replace(/\/versions\/[^/]+$/, "")),
    ]),
  );
}

function deploymentWorkload(
  evaluation: Evaluation,
  deployment: Inputs,
  data: Map<string, string>,
): Workload {
  const name = String(deployment["metadata"]?.["name"]);
  const pod = deployment["spec"]?.["template"]?.["spec"] as Inputs;
  const containers = (pod?.["containers"] ?? []) as Inputs[];
  if (containers.length !== 1)
    throw new WorkloadShapeError(
      `${name}: ${containers.length} containers; verify runs pods of one container`,
    );
  const container = containers[0]!;
  const env: Record<string, string> = {};
  for (const entry of (container["env"] ?? []) as Inputs[]) {
    if (entry["valueFrom"] !== undefined)
      throw new WorkloadShapeError(
        `${name}: ${entry["name"]} uses valueFrom, which verify does not resolve`,
      );
    env[entry["name"]] = String(entry["value"] ?? "");
  }
  const volumes = new Map(
    ((pod["volumes"] ?? []) as Inputs[]).map((volume) => [String(volume["name"]), volume]),
  );
  const mounts: VolumeMount[] = ((container["volumeMounts"] ?? []) as Inputs[]).map((mount) => {
    const volume = volumes.get(String(mount["name"]));
    if (volume === undefined)
      throw new WorkloadShapeError(
        `${name}: mounts volume ${mount["name"]}, which the pod does not declare`,
      );
    if (volume["emptyDir"] !== undefined)
      return { mountPath: String(mount["mountPath"]), files: {} };
    const providerClass = volume["csi"]?.["volumeAttributes"]?.["secretProviderClass"] as
      string | undefined;
    if (providerClass === undefined)
      throw new WorkloadShapeError(
        `${name}: volume ${mount["name"]} is neither an emptyDir nor a Secret Manager add-on volume`,
      );
    return {
      mountPath: String(mount["mountPath"]),
      files: providerFiles(evaluation, data, providerClass, name),
    };
  });
  const ports = (container["ports"] ?? []) as Inputs[];
  return {
    name,
    platform: "gke",
    ...(env["HANDLER"] !== undefined && { consumer: env["HANDLER"] }),
    mode: env["MODE"] ?? "",
    image: String(container["image"]),
    handlerImage: false,
    ...(container["command"] !== undefined && { command: container["command"] as string[] }),
    ...(container["args"] !== undefined && { args: container["args"] as string[] }),
    env,
    secretVariables: [],
    mounts,
    port: Number(ports[0]?.["containerPort"] ?? 8080),
    probes: [
      httpProbe("startup", container["startupProbe"], name),
      httpProbe("readiness", container["readinessProbe"], name),
      httpProbe("liveness", container["livenessProbe"], name),
    ].filter((probe): probe is ProbeSpec => probe !== undefined),
    graceSeconds: Number(pod["terminationGracePeriodSeconds"] ?? 30),
  };
}

/** Every Cloud Run service and GKE Deployment the evaluated program deploys, in registration order. */
export function workloadsOf(evaluation: Evaluation): Workload[] {
  const data = secretData(evaluation);
  const pushes = new Map<string, Workload["push"]>();
  for (const subscription of ofType(evaluation, SUBSCRIPTION)) {
    const config = subscription.inputs["pushConfig"] as Inputs | undefined;
    if (config?.["pushEndpoint"] === undefined) continue;
    pushes.set(String(config["pushEndpoint"]), {
      audience: String(config["oidcToken"]?.["audience"] ?? ""),
      serviceAccountEmail: String(config["oidcToken"]?.["serviceAccountEmail"] ?? ""),
    });
  }
  // The mocks answer every Cloud Run service with its run.app URL; the recorded inputs hold the uri only in the state.
  const uris = new Map(
    Object.entries((evaluation.outputs["serviceUrls"] ?? {}) as Record<string, string>),
  );
  const built = ofType(evaluation, BUILT_IMAGE).flatMap((image) =>
    ((image.inputs["tags"] ?? []) as string[]).map((tag) => `${tag}@`),
  );
  return [
    ...ofType(evaluation, CLOUD_RUN).map((service) =>
      cloudRunWorkload(
        { ...service.inputs, uri: uris.get(String(service.inputs["name"])) },
        data,
        pushes,
      ),
    ),
    ...ofType(evaluation, DEPLOYMENT).map((deployment) =>
      deploymentWorkload(evaluation, deployment.inputs, data),
    ),
  ].map((workload) => ({
    ...workload,
    handlerImage: built.some((prefix) => workload.image.startsWith(prefix)),
  }));
}
