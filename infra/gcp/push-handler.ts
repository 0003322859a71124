/**
 * A push consumer: its handler on Cloud Run, and the subscription that pushes to it. Only a
 * dedicated push identity may invoke the service; Pub/Sub signs each push as that identity
 * with an OIDC token. The token's audience is the service's custom audience
 * (`pushAudience`) rather than its URL: the runtime must be told the audience it checks
 * (PUSH_AUDIENCE) in the service's own definition, where its URL is not known yet. Cloud Run
 * checks the same audience before the request reaches the container. The service is never public.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { ResolvedPushConsumer } from "../model/types";
import { ConsumerSubscription } from "./consumer-subscription";
import { consumerDatabase } from "./firestore-access";
import { HandlerPermissions } from "./handler-permissions";
import type { WorkloadSettings } from "../workload-settings";
import { HandlerService } from "./handler-service";
import { accountId, type Platform, platformEnv, pubsubServiceAgent } from "./platform";

/** The OIDC audience of a push consumer's tokens: unique per stack and consumer. */
export function pushAudience(stack: string, consumer: string): string {
  return `eventline://${stack}/push/${consumer}`;
}

export interface PushHandlerArgs {
  /** The resolved push consumer (infra/system.ts). */
  consumer: ResolvedPushConsumer;
  /** The topic it subscribes to (the topic resource's name output). */
  topic: pulumi.Input<string>;
  /** Topics of the events its contract emits: declared name → Pub/Sub topic name. */
  emitsTo: Readonly<Record<string, pulumi.Input<string>>>;
  /** The handler image, by digest. */
  image: pulumi.Input<string>;
  /** The settings of the capabilities its handler uses (infra/workload-settings.ts). Default none. */
  settings?: WorkloadSettings;
  /** Project, region, stack, labels. */
  platform: Platform;
}

/** `consumer.name` as a Cloud Run service (MODE=push) behind an authenticated push subscription. */
export class PushHandler extends pulumi.ComponentResource {
  /** The Cloud Run service's URL, also the push endpoint. */
  readonly url: pulumi.Output<string>;
  /** The consumer's subscription, dead-letter topic and parking subscription. */
  readonly subscription: ConsumerSubscription;

  constructor(name: string, args: PushHandlerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("eventline:gcp:PushHandler", name, {}, opts);
    const { consumer, platform } = args;
    if (consumer.delivery !== "push") {
      throw new Error(
        `PushHandler ${name}: consumer.delivery is "${String(consumer.delivery)}"; pull consumers run as a PullWorker on GKE`,
      );
    }

    const pusher = new gcp.serviceaccount.Account(
      `${name}-push-sa`,
      {
        accountId: accountId("push", consumer.name),
        project: platform.project,
        displayName: `Pub/Sub push to ${consumer.name} (${platform.stack})`,
      },
      { parent: this },
    );
    const audience = pushAudience(platform.stack, consumer.name);
    const firestore = consumerDatabase(consumer, platform);

    const handler = new HandlerService(
      name,
      {
        serviceName: consumer.name,
        accountId: accountId("run", consumer.name),
        image: args.image,
        env: {
          HANDLER: consumer.name,
          MODE: "push",
          ...platformEnv(platform),
          [firestore.setting]: firestore.database,
          PUSH_AUDIENCE: audience,
          PUSH_SERVICE_ACCOUNT: pusher.email,
          ...args.settings?.values,
        },
        secrets: args.settings?.secrets ?? [],
        customAudiences: [audience],
        placement: consumer.cloudRun,
        ingress: "internal",
        // A response after the ack deadline is wasted: Pub/Sub has already redelivered.
        timeoutSeconds: consumer.ackDeadlineSeconds,
        labels: { consumer: consumer.name },
        description:
          consumer.description ??
          consumer.contract.description ??
          `Eventline push consumer ${consumer.name}`,
        platform,
      },
      { parent: this },
    );
    this.url = handler.url;
    new gcp.cloudrunv2.ServiceIamMember(
      `${name}-invoker`,
      {
        project: platform.project,
        location: platform.region,
        name: handler.service.name,
        role: "roles/run.invoker",
        member: pusher.member,
      },
      { parent: this },
    );
    // Pub/Sub mints the push token as `pusher`; projects created before April 2021 need this grant.
    new gcp.serviceaccount.IAMMember(
      `${name}-push-token`,
      {
        serviceAccountId: pusher.name,
        role: "roles/iam.serviceAccountTokenCreator",
        member: pubsubServiceAgent(platform),
      },
      { parent: this },
    );

    this.subscription = new ConsumerSubscription(
      name,
      {
        consumer,
        topic: args.topic,
        platform,
        push: { endpoint: this.url, serviceAccountEmail: pusher.email, audience },
      },
      { parent: this },
    );

    // Both subscriptions push to the service while the old one drains.
    this.subscription.retireAfter([handler.service, this.subscription.subscription]);

    new HandlerPermissions(
      name,
      {
        member: handler.serviceAccount.member,
        emitsTo: args.emitsTo,
        deadLetterTopic: this.subscription.deadLetterTopic.name,
        database: firestore.database,
        platform,
      },
      { parent: this },
    );

    this.registerOutputs({ url: this.url, subscription: this.subscription.subscription.name });
  }
}
