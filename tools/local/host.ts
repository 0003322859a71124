/**
 * Every consumer in one process, each in the mode it has in the cloud: pull consumers by the
 * runtime's PullHost (unary pulls against the emulator, see pull-host.ts), push consumers behind `/push/<consumer>` on the
 * local server, to which the emulator's push subscriptions deliver (the runtime's PushHost).
 * Each consumer gets the runtime's own delivery pipeline, so filters, dead-lettering and
 * idempotency behave as in production; they share one PubSub client, one Firestore client,
 * one publisher, one event store and one metrics registry (labelled by consumer). Locally the
 * event store and the consumers' state share the emulator's `(default)` database; in the cloud
 * each is a database of its own (infra/model/databases.ts), which `eventline verify` exercises
 * on the emulator.
 *
 * A consumer whose handler has no implementation in the registry is provisioned (its
 * subscription gathers messages, as an undeployed service's would) but not hosted.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Firestore } from "@google-cloud/firestore";
import type { PubSub } from "@google-cloud/pubsub";
import type { Logger } from "pino";
import type { ResolvedConsumer } from "../../infra/model/types";
import type { EventTypes } from "../../handlers/runtime/event-types";
import { DeliveryProcessor } from "../../handlers/runtime/delivery";
import { EventStore } from "../../handlers/runtime/event-store";
import type { HandlerRegistry } from "../../handlers/runtime/handler";
import type { RuntimeMetrics } from "../../handlers/runtime/metrics";
import type { OutboxRelay } from "../../handlers/runtime/outbox-relay";
import type { MessagePublisher } from "../../handlers/runtime/publisher";
import { PullHost } from "../../handlers/runtime/pull-host";
import { PushHost } from "../../handlers/runtime/push-host";
import { OutsideCalls } from "../../handlers/runtime/resilience";

/** Where the emulator pushes a push consumer's messages, under the local server. */
export const PUSH_PATH_PREFIX = "/push/";

export interface LocalHostOptions {
  eventTypes: EventTypes;
  registry: HandlerRegistry;
  pubsub: PubSub;
  firestore: Firestore;
  publisher: MessagePublisher;
  metrics: RuntimeMetrics;
  logger: Logger;
  projectId: string;
  /**
   * How long stop() waits for in-flight messages, in milliseconds. Default 5 000: locally,
   * anything unfinished is simply redelivered on the next start.
   */
  drainTimeoutMs?: number;
  /** See DeliveryProcessorOptions.handlerLogLevel. Default: the logger's level. */
  handlerLogLevel?: string;
  /**
   * Redeliver nacked messages at once, as the emulator does, instead of after the declared
   * backoff as Pub/Sub does (`npm start -- --fast-retries`). Default false.
   */
  fastRetries?: boolean;
}

/** The push endpoint of a push consumer on the local server at `baseUrl`. */
export function pushEndpoint(baseUrl: string, consumer: string): string {
  return `${baseUrl}${PUSH_PATH_PREFIX}${encodeURIComponent(consumer)}`;
}

export class LocalHost {
  /** Consumers with an implementation, hosted here. */
  readonly hosted: readonly ResolvedConsumer[];
  /** Consumers declared without an implementation yet: provisioned, not hosted. */
  readonly unimplemented: readonly ResolvedConsumer[];
  private readonly pullHosts: PullHost[] = [];
  private readonly pushHosts = new Map<string, PushHost>();
  private readonly outboxRelays: OutboxRelay[] = [];
  private readonly eventStore: EventStore;

  constructor(private readonly options: LocalHostOptions) {
    const consumers = options.eventTypes.system.consumers;
    this.hosted = consumers.filter((consumer) => options.registry[consumer.handler] !== undefined);
    this.unimplemented = consumers.filter(
      (consumer) => options.registry[consumer.handler] === undefined,
    );
    // The emulator needs no ramp-up, and BulkWriter's throttle would cap the archivers at 500 writes/s.
    this.eventStore = new EventStore(options.firestore, options.eventTypes, { throttling: false });
    const outsideCalls = new OutsideCalls(options.logger);
    const drainTimeoutMs = options.drainTimeoutMs ?? 5_000;
    for (const consumer of this.hosted) {
      const logger = options.logger.child({ consumer: consumer.name });
      const processor = new DeliveryProcessor({
        consumer,
        handler: options.registry[consumer.handler]!,
        eventTypes: options.eventTypes,
        firestore: options.firestore,
        publisher: options.publisher,
        metrics: options.metrics,
        logger,
        outsideCalls,
        eventStore: this.eventStore,
        projectId: options.projectId,
        relayOutboxes: true,
        ...(options.handlerLogLevel !== undefined && { handlerLogLevel: options.handlerLogLevel }),
      });
      if (processor.outboxRelay !== undefined) this.outboxRelays.push(processor.outboxRelay);
      const waitOutBackoff = options.fastRetries !== true;
      if (consumer.delivery === "push")
        this.pushHosts.set(
          consumer.name,
          new PushHost({ processor, logger, verify: false, drainTimeoutMs, waitOutBackoff }),
        );
      else
        this.pullHosts.push(
          new PullHost({
            processor,
            pubsub: options.pubsub,
            logger,
            drainTimeoutMs,
            waitOutBackoff,
          }),
        );
    }
  }

  /** Push endpoints of the hosted push consumers, for provisioning. */
  pushEndpoints(baseUrl: string): Record<string, string> {
    return Object.fromEntries(
      [...this.pushHosts.keys()].map((name) => [name, pushEndpoint(baseUrl, name)]),
    );
  }

  /** Starts every pull consumer's pulling. Push consumers take requests as soon as the server runs. */
  start(): void {
    for (const host of this.pullHosts) host.start();
  }

  /** Serves a push delivery; false when the path is not a push endpoint. */
  handlePush(request: IncomingMessage, response: ServerResponse, url: URL): boolean {
    if (!url.pathname.startsWith(PUSH_PATH_PREFIX)) return false;
    const host = this.pushHosts.get(
      decodeURIComponent(url.pathname.slice(PUSH_PATH_PREFIX.length)),
    );
    if (host === undefined) return false;
    host.handle(request, response);
    return true;
  }

  /** Drains every host, then writes what the event store holds. */
  async stop(): Promise<void> {
    await Promise.all([...this.pullHosts, ...this.pushHosts.values()].map((host) => host.stop()));
    await Promise.all(this.outboxRelays.map((relay) => relay.stop()));
    await this.eventStore.close();
  }
}
