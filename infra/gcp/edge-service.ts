/**
 * A platform service on Cloud Run: the gateway (MODE=gateway), where producers post events,
 * or the tracker (MODE=tracker), the funnel's links. Each runs as its own account, which may
 * publish to the topics of what it publishes and to nothing else, and reads no database.
 *
 * A service is internal, invoked only by the members the stack config names, unless the
 * declaration makes it public with a reason (services.<name>.public in infra/system.ts): then
 * its ingress is all and anyone may invoke it. The policy pack accepts a public service only
 * where the declaration says so. A custom domain (the tracker's eventline:trackerDomain) is
 * mapped to the service and becomes its public URL.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { ResolvedService } from "../model/types";
import { HandlerService } from "./handler-service";
import { accountId, platformEnv, type Platform } from "./platform";
import { grantTraceWriting } from "./trace-access";

/** The audience producers' ID tokens carry for the gateway: known before the service exists (its URL is not). */
export function gatewayAudience(stack: string): string {
  return `eventline://${stack}/gateway`;
}

/** The annotation that carries a public service's reason into the console. */
export const PUBLIC_REASON_ANNOTATION = "eventline.dev/public-reason";

export interface EdgeServiceArgs {
  /** The resolved service (infra/system.ts `services`): its name, publicness, placement. */
  service: ResolvedService;
  /** The handler image, by digest. */
  image: pulumi.Input<string>;
  /** Environment besides MODE and platformEnv (the project, the stack, tracing). Default none. */
  env?: Readonly<Record<string, pulumi.Input<string>>>;
  /** Topics it publishes to: declared name → Pub/Sub topic name. */
  publishesTo: Readonly<Record<string, pulumi.Input<string>>>;
  /**
   * Who may invoke it while internal: IAM members (e.g. producers' service accounts) by a stable
   * name, which names each grant. Default none.
   */
  invokers?: Readonly<Record<string, pulumi.Input<string>>>;
  /** Token audiences Cloud Run accepts besides its URLs (see HandlerServiceArgs). Default none. */
  customAudiences?: readonly string[];
  /** A custom domain mapped to the service (verified in Search Console first). Default none. */
  domain?: string;
  /** What it does, shown in the console. */
  description: string;
  /** Project, region, stack, labels. */
  platform: Platform;
}

/** A platform service and its publish and invoke grants. */
export class EdgeService extends pulumi.ComponentResource {
  /** The service's run.app URL. */
  readonly url: pulumi.Output<string>;
  /** Where its users reach it: https://<domain> when one is mapped, else {@link url}. */
  readonly publicUrl: pulumi.Output<string>;

  constructor(name: string, args: EdgeServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("eventline:gcp:EdgeService", name, {}, opts);
    const { platform, service } = args;
    const isPublic = service.publicReason !== undefined;

    const handler = new HandlerService(
      name,
      {
        serviceName: service.name,
        accountId: accountId("svc", service.name),
        image: args.image,
        env: {
          MODE: service.name,
          ...platformEnv(platform),
          ...args.env,
        },
        placement: service.cloudRun,
        ingress: isPublic ? "all" : "internal",
        labels: { component: service.name, exposure: isPublic ? "public" : "internal" },
        ...(args.customAudiences !== undefined && { customAudiences: args.customAudiences }),
        ...(isPublic && { annotations: { [PUBLIC_REASON_ANNOTATION]: service.publicReason! } }),
        description: args.description,
        platform,
      },
      { parent: this },
    );
    this.url = handler.url;

    for (const [declared, topic] of Object.entries(args.publishesTo)) {
      new gcp.pubsub.TopicIAMMember(
        `${name}-publishes-${declared}`,
        {
          project: platform.project,
          topic,
          role: "roles/pubsub.publisher",
          member: handler.serviceAccount.member,
        },
        { parent: this },
      );
    }
    grantTraceWriting(`${name}-traces`, handler.serviceAccount.member, platform, { parent: this });
    // Named by who, not position, so reordering the invokers changes no binding. The service's
    // name is written out (not its output) so the policy pack sees whose grant it is.
    const invokers: [string, pulumi.Input<string>][] = isPublic
      ? [["allusers", "allUsers"]]
      : Object.entries(args.invokers ?? {});
    for (const [who, member] of invokers) {
      new gcp.cloudrunv2.ServiceIamMember(
        `${name}-invoker-${who}`,
        {
          project: platform.project,
          location: platform.region,
          name: service.name,
          role: "roles/run.invoker",
          member,
        },
        { parent: this, dependsOn: [handler.service] },
      );
    }

    if (args.domain !== undefined) {
      new gcp.cloudrun.DomainMapping(
        `${name}-domain`,
        {
          project: platform.project,
          location: platform.region,
          name: args.domain,
          metadata: { namespace: platform.project },
          spec: { routeName: service.name },
        },
        { parent: this, dependsOn: [handler.service] },
      );
      this.publicUrl = pulumi.output(`https://${args.domain}`);
    } else {
      this.publicUrl = this.url;
    }

    this.registerOutputs({ url: this.url, publicUrl: this.publicUrl });
  }
}
