/**
 * The gateway: the handler image in gateway mode on Cloud Run, the one way events enter the
 * system from outside (HTTP → CloudEvent → topic). It may publish to every topic that has
 * outside producers and to nothing else. It is internal and invoked only by the configured
 * members unless the stack config makes it public (tracking pixels and links need that).
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { CloudRunPlacement } from "../model/types";
import { HandlerService } from "./handler-service";
import { accountId, type Platform } from "./platform";

/** IAM principals Cloud Run accepts as invokers. */
const memberPattern = /^(user|serviceAccount|group|domain|principal|principalSet):\S+$/;

/** The gateway's Cloud Run service name; no push consumer may take it. */
export const GATEWAY_SERVICE = "gateway";

/** The gateway's placement when the caller gives none. */
export const gatewayPlacementDefaults: Required<CloudRunPlacement> = { cpu: "1", memory: "512Mi", minInstances: 0, maxInstances: 10, concurrency: 80 };

export interface GatewayArgs {
  /** The handler image, by digest. */
  image: pulumi.Input<string>;
  /** Topics whose events have producers: declared name → Pub/Sub topic name. */
  publishesTo: Readonly<Record<string, pulumi.Input<string>>>;
  /**
   * Open to the internet: ingress ALL and `allUsers` may invoke. Default false: internal
   * ingress and only {@link GatewayArgs.invokers} may invoke.
   */
  public?: boolean;
  /** IAM members allowed to invoke the gateway, e.g. `group:frontend@example.com`. Default none. */
  invokers?: readonly string[];
  /** CPU, memory, instances, concurrency. Default {@link gatewayPlacementDefaults}. */
  placement?: Partial<CloudRunPlacement>;
  /** Project, region, stack, labels. */
  platform: Platform;
}

/** The `gateway` Cloud Run service (MODE=gateway) and its publish and invoke grants. */
export class Gateway extends pulumi.ComponentResource {
  /** The gateway's URL. */
  readonly url: pulumi.Output<string>;

  constructor(name: string, args: GatewayArgs, opts?: pulumi.ComponentResourceOptions) {
    super("eventline:gcp:Gateway", name, {}, opts);
    const invokers = args.invokers ?? [];
    const malformed = invokers.filter((member) => !memberPattern.test(member));
    if (malformed.length > 0) {
      throw new Error(`Gateway ${name}: invokers ${malformed.join(", ")} are not IAM members; write them as "user:ana@example.com", "group:…", "serviceAccount:…" or "domain:…"`);
    }
    if (invokers.includes("allUsers") || invokers.includes("allAuthenticatedUsers")) {
      throw new Error(`Gateway ${name}: invokers may not name allUsers or allAuthenticatedUsers; set public: true (eventline:gatewayPublic) to open the gateway`);
    }
    const { platform } = args;
    const isPublic = args.public ?? false;

    const handler = new HandlerService(
      name,
      {
        serviceName: GATEWAY_SERVICE,
        accountId: accountId("gw", GATEWAY_SERVICE),
        image: args.image,
        env: { MODE: "gateway", GOOGLE_CLOUD_PROJECT: platform.project, STACK: platform.stack },
        placement: { ...gatewayPlacementDefaults, ...args.placement },
        ingress: isPublic ? "all" : "internal",
        labels: { component: "gateway" },
        description: "Eventline gateway: turns HTTP requests into CloudEvents on their topics.",
        platform,
      },
      { parent: this },
    );
    this.url = handler.url;

    for (const [declared, topic] of Object.entries(args.publishesTo)) {
      new gcp.pubsub.TopicIAMMember(
        `${name}-publishes-${declared}`,
        { project: platform.project, topic, role: "roles/pubsub.publisher", member: handler.serviceAccount.member },
        { parent: this },
      );
    }
    // The tracking endpoints look the invitation up in the event store: read access only.
    new gcp.projects.IAMMember(
      `${name}-reads-event-store`,
      { project: platform.project, role: "roles/datastore.viewer", member: handler.serviceAccount.member },
      { parent: this },
    );
    // Named by member, not position, so reordering the config list changes no binding.
    for (const member of isPublic ? ["allUsers"] : invokers) {
      new gcp.cloudrunv2.ServiceIamMember(
        `${name}-invoker-${member.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`,
        { project: platform.project, location: platform.region, name: handler.service.name, role: "roles/run.invoker", member },
        { parent: this },
      );
    }

    this.registerOutputs({ url: this.url });
  }
}
