/**
 * The handler image running as a Cloud Run v2 service under a service account of its own.
 * Push handlers and the gateway both build on it; each grants its account only the roles
 * it needs, so the account starts with none.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { CloudRunPlacement } from "../model/types";
import { parseQuantity } from "../model/quantity";
import { cloudRunLimits } from "../model/validate";
import type { Platform } from "./platform";
import type { SettingSecret } from "./setting-secret";

/** The port the handler runtime listens on, in every mode. */
export const HANDLER_PORT = 8080;

/** Who may reach the service over the network (IAM still decides who may invoke it). */
export type Ingress = "internal" | "all";

const ingressSetting: Record<Ingress, string> = {
  internal: "INGRESS_TRAFFIC_INTERNAL_ONLY",
  all: "INGRESS_TRAFFIC_ALL",
};

export interface HandlerServiceArgs {
  /** The Cloud Run service's name (≤ 49 characters); also shown in logs and metrics. */
  serviceName: string;
  /** The id of the service account the service runs as (see `accountId` in ./platform). */
  accountId: string;
  /** The handler image by digest, so a new revision rolls out exactly when the image changes. */
  image: pulumi.Input<string>;
  /** Environment variables of the container (HANDLER, MODE, ...). */
  env: Readonly<Record<string, pulumi.Input<string>>>;
  /**
   * Secret settings, each an environment variable of its setting's name read from its pinned
   * Secret Manager version; the service's account is granted access to each. Default none.
   */
  secrets?: readonly SettingSecret[];
  /** CPU, memory, instance bounds and concurrency. */
  placement: Required<CloudRunPlacement>;
  /**
   * Network ingress: `"internal"` (default) admits the project's VPC and Google services in the
   * project, Pub/Sub push included; `"all"` admits the internet.
   */
  ingress?: Ingress;
  /**
   * Token audiences Cloud Run accepts besides its own URLs. Push handlers use one so the
   * audience can be known before the service exists (the URL cannot: it is the service's
   * own output). Default none.
   */
  customAudiences?: readonly string[];
  /** Longest a request may run, in seconds, 1..3600. Default 300. */
  timeoutSeconds?: number;
  /** Extra labels beside the platform's (e.g. `consumer`). */
  labels?: Readonly<Record<string, string>>;
  /** Annotations of the service (e.g. a public service's reason). Default none. */
  annotations?: Readonly<Record<string, string>>;
  /** What the service does, shown in the console. */
  description: string;
  /** Project, region, stack, labels, delete protection. */
  platform: Platform;
}

function checkArgs(name: string, args: HandlerServiceArgs): void {
  const { placement, serviceName } = args;
  if (serviceName.length > 49)
    throw new Error(
      `HandlerService ${name}: serviceName "${serviceName}" is longer than Cloud Run's 49 characters; shorten the consumer's name`,
    );
  const { concurrency, minInstances, maxInstances, cpu } = placement;
  if (
    concurrency < cloudRunLimits.concurrency.min ||
    concurrency > cloudRunLimits.concurrency.max
  ) {
    throw new Error(
      `HandlerService ${name}: placement.concurrency ${concurrency} is outside ${cloudRunLimits.concurrency.min}..${cloudRunLimits.concurrency.max}; set cloudRun.concurrency in infra/system.ts`,
    );
  }
  if (minInstances < 0 || maxInstances < 1 || minInstances > maxInstances) {
    throw new Error(
      `HandlerService ${name}: placement.minInstances ${minInstances} and maxInstances ${maxInstances} need 0 ≤ min ≤ max and max ≥ 1; fix cloudRun.minInstances/maxInstances`,
    );
  }
  const cores = parseQuantity(cpu);
  if (cores === undefined)
    throw new Error(
      `HandlerService ${name}: placement.cpu "${cpu}" is not a CPU quantity; write e.g. "1", "2" or "500m"`,
    );
  if (cores < 1 && concurrency > 1) {
    throw new Error(
      `HandlerService ${name}: placement.cpu "${cpu}" is below one vCPU, which Cloud Run only allows with concurrency 1 (found ${concurrency}); raise cloudRun.cpu to "1" or set cloudRun.concurrency to 1`,
    );
  }
  const timeout = args.timeoutSeconds ?? 300;
  if (timeout < 1 || timeout > 3600)
    throw new Error(
      `HandlerService ${name}: timeoutSeconds ${timeout} is outside Cloud Run's 1..3600; set timeoutSeconds within it`,
    );
}

/** A Cloud Run service running the handler image as its own service account. */
export class HandlerService extends pulumi.ComponentResource {
  /** The identity the service runs as; holds no roles until the owner grants them. */
  readonly serviceAccount: gcp.serviceaccount.Account;
  /** The Cloud Run service. */
  readonly service: gcp.cloudrunv2.Service;
  /** The service's `https://….run.app` URL. */
  readonly url: pulumi.Output<string>;

  constructor(name: string, args: HandlerServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("eventline:gcp:HandlerService", name, {}, opts);
    checkArgs(name, args);
    const { platform, placement } = args;

    this.serviceAccount = new gcp.serviceaccount.Account(
      `${name}-sa`,
      {
        accountId: args.accountId,
        project: platform.project,
        displayName: `Eventline ${args.serviceName} (${platform.stack})`,
      },
      { parent: this },
    );

    // Cloud Run reads each secret as the service's account when a revision starts: grant first.
    const secretGrants = (args.secrets ?? []).map((secret) =>
      secret.grantAccess(name, this.serviceAccount.member, { parent: this }),
    );

    this.service = new gcp.cloudrunv2.Service(
      name,
      {
        name: args.serviceName,
        project: platform.project,
        location: platform.region,
        description: args.description,
        ingress: ingressSetting[args.ingress ?? "internal"],
        ...(args.customAudiences !== undefined && { customAudiences: [...args.customAudiences] }),
        deletionProtection: platform.deleteProtection,
        labels: { ...platform.labels, ...args.labels },
        ...(args.annotations !== undefined && { annotations: { ...args.annotations } }),
        template: {
          serviceAccount: this.serviceAccount.email,
          timeout: `${args.timeoutSeconds ?? 300}s`,
          maxInstanceRequestConcurrency: placement.concurrency,
          scaling: {
            minInstanceCount: placement.minInstances,
            maxInstanceCount: placement.maxInstances,
          },
          labels: { ...platform.labels, ...args.labels },
          containers: [
            {
              name: "handler",
              image: args.image,
              ports: { containerPort: HANDLER_PORT },
              envs: [
                ...Object.entries(args.env).map(([envName, value]) => ({ name: envName, value })),
                ...(args.secrets ?? []).map((secret) => ({
                  name: secret.setting,
                  valueSource: {
                    secretKeyRef: {
                      secret: secret.secret.secretId,
                      version: secret.version.version,
                    },
                  },
                })),
              ],
              resources: { limits: { cpu: placement.cpu, memory: placement.memory } },
              startupProbe: {
                httpGet: { path: "/readyz", port: HANDLER_PORT },
                periodSeconds: 2,
                failureThreshold: 30,
              },
              livenessProbe: {
                httpGet: { path: "/healthz", port: HANDLER_PORT },
                periodSeconds: 10,
              },
            },
          ],
        },
      },
      { parent: this, dependsOn: secretGrants },
    );
    this.url = this.service.uri;

    this.registerOutputs({ url: this.url, serviceAccount: this.serviceAccount.email });
  }
}
