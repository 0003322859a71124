/**
 * A declared topic in the cloud: the Pub/Sub topic and the schema it enforces, so a
 * publisher that sends anything but the topic's wrapper message is refused at publish time.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { toProtoDuration } from "../model/duration";
import { reflectedType } from "../model/proto";
import type { ResolvedTopic } from "../model/types";
import { pubsubLimits } from "../model/validate";
import type { Platform } from "./platform";
import { renderPubsubSchema } from "./pubsub-schema";

/** How Pub/Sub validates bodies against the schema, by the declaration's encoding. */
const schemaEncoding = { protobuf: "BINARY", json: "JSON" } as const;

export interface EventTopicArgs {
  /** The resolved topic (infra/system.ts): its name names the Pub/Sub topic and schema. */
  topic: ResolvedTopic;
  /** Project, stack and labels. */
  platform: Platform;
}

/**
 * `topic.name` as a Pub/Sub topic with a PROTOCOL_BUFFER schema rendered from the topic's
 * wrapper message, its message retention, and the platform labels.
 */
export class EventTopic extends pulumi.ComponentResource {
  /** The Pub/Sub topic; its `name` is the declared topic name. */
  readonly topic: gcp.pubsub.Topic;
  /** The schema the topic validates every published message against. */
  readonly schema: gcp.pubsub.Schema;

  constructor(name: string, args: EventTopicArgs, opts?: pulumi.ComponentResourceOptions) {
    super("eventline:gcp:EventTopic", name, {}, opts);
    const { topic, platform } = args;
    const retention = pubsubLimits.retentionSeconds;
    if (topic.retentionSeconds < retention.min || topic.retentionSeconds > retention.max) {
      throw new Error(
        `EventTopic ${name}: topic.retentionSeconds ${topic.retentionSeconds} is outside ${retention.min}..${retention.max}; set the topic's retention in infra/system.ts between "10m" and "31d"`,
      );
    }

    // A changed definition is committed as a new revision of this schema, in place: in
    // @pulumi/gcp 9.37 (terraform-provider-google's Schema resource) `definition` does not force a
    // replacement, and its update calls Pub/Sub's schemas/<name>:commit. The topic names no first
    // or last revision, so it accepts every revision, and it stays. The mocks cannot show a diff,
    // so no test here can tell an update from a replace: this rests on the provider's behaviour.
    // eventline plan refuses an incompatible definition (buf breaking) before it gets here.
    this.schema = new gcp.pubsub.Schema(
      `${name}-schema`,
      {
        name: topic.name,
        project: platform.project,
        type: "PROTOCOL_BUFFER",
        definition: renderPubsubSchema(reflectedType(topic.schema), topic.encoding),
      },
      { parent: this },
    );

    this.topic = new gcp.pubsub.Topic(
      name,
      {
        name: topic.name,
        project: platform.project,
        labels: { ...platform.labels },
        messageRetentionDuration: toProtoDuration(topic.retentionSeconds),
        schemaSettings: { schema: this.schema.id, encoding: schemaEncoding[topic.encoding] },
      },
      { parent: this },
    );

    this.registerOutputs({ topic: this.topic.name, schema: this.schema.id });
  }
}
