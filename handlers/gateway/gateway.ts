/**
 * What the gateway does, apart from HTTP: checks an event against the catalog and its
 * schema, encodes it as the CloudEvents Pub/Sub binding says, and publishes it. Only types
 * with declared producers come in from outside (the same topics the cloud gateway may
 * publish to, infra/gcp/edge-service.ts); events the system derives (share.completed, …) do not.
 * An event that fails any check is refused with the reason and never published.
 */
import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { EventType, EventTypeEntry } from "../runtime/event-types";
import type { EventCodec, EventOptions } from "../runtime/codec";
import { EncodeError } from "../runtime/errors";
import type { MessagePublisher } from "../runtime/publisher";
import { HttpError } from "./http";
import { bodyLimitFor, type HttpEvent } from "./http-event";

/** The CloudEvents source of events the gateway itself makes (shares, tracking hits). */
export const GATEWAY_SOURCE = "//eventline/gateway";

/** What a caller gets back for an accepted event. */
export interface Accepted {
  id: string;
  correlationId: string;
}

/** Details a publishing route may add to the event (the tracking endpoints' user agent, …). */
export type GatewayPayload = Record<string, unknown>;

export class EventGateway {
  constructor(
    readonly codec: EventCodec,
    private readonly publisher: MessagePublisher,
  ) {}

  /**
   * The declared type of an event from outside.
   * @throws HttpError 400 when the type is not declared, or only derived inside the system.
   */
  typeFromOutside(event: Pick<HttpEvent, "type">): EventTypeEntry {
    const entry = this.codec.eventTypes.find(event.type);
    if (entry === undefined)
      throw new HttpError(400, this.codec.eventTypes.undeclared(event.type), {}, "unknown-type");
    if (entry.producers.length === 0) {
      throw new HttpError(
        400,
        `event type ${event.type} is derived inside the system, not accepted from outside (only types with declared producers are)`,
        {},
        "derived-type",
      );
    }
    return entry;
  }

  /**
   * Validates and publishes an event from outside.
   * @throws HttpError 400 naming what is wrong; 503 when Pub/Sub did not take it.
   */
  async accept(event: HttpEvent): Promise<Accepted> {
    const entry = this.typeFromOutside(event);
    if (event.bodyBytes > entry.maxBodyBytes)
      throw new HttpError(
        413,
        `the body is ${event.bodyBytes} bytes, over the ${entry.maxBodyBytes}-byte limit of ${event.type}`,
        {},
        "oversize",
      );
    const data = this.refuseBad(() =>
      this.codec.payloadFromJson(event.type as EventType, event.data),
    );
    const options: EventOptions = {
      source: event.source,
      extensions: event.extensions,
      id: event.id,
      ...(event.time !== undefined && { time: event.time }),
      ...(event.subject !== undefined && { subject: event.subject }),
      ...(event.correlationId !== undefined && { correlationId: event.correlationId }),
      ...(event.causationId !== undefined && { causationId: event.causationId }),
      ...(event.traceparent !== undefined && { traceparent: event.traceparent }),
    };
    return this.publish(event.type as EventType, data, options);
  }

  /**
   * Publishes an event the gateway makes itself from a request it checked (a share, a tracking hit).
   * @throws HttpError 400 when the payload does not fit the message; 503 when Pub/Sub did not take it.
   */
  async emit(
    type: EventType,
    payload: GatewayPayload,
    options: Partial<EventOptions> = {},
  ): Promise<Accepted> {
    return this.publish(type, payload, { source: GATEWAY_SOURCE, ...options });
  }

  /**
   * Publishes several events as one request: all are encoded (and so checked) before any is
   * published, so a bad one refuses the whole request rather than half of it.
   */
  async emitAll(
    events: readonly {
      type: EventType;
      payload: GatewayPayload;
      options?: Partial<EventOptions>;
    }[],
  ): Promise<Accepted[]> {
    const messages = events.map(({ type, payload, options }) =>
      this.refuseBad(() =>
        this.codec.encode(type, payload, { source: GATEWAY_SOURCE, id: randomUUID(), ...options }),
      ),
    );
    await this.send(messages);
    return messages.map((message) => ({
      id: message.attributes["ce-id"]!,
      correlationId: message.attributes["ce-correlationid"]!,
    }));
  }

  private async publish(
    type: EventType,
    payload: object,
    options: EventOptions,
  ): Promise<Accepted> {
    const message = this.refuseBad(() => this.codec.encode(type, payload, options));
    await this.send([message]);
    return {
      id: message.attributes["ce-id"]!,
      correlationId: message.attributes["ce-correlationid"]!,
    };
  }

  private async send(messages: Parameters<MessagePublisher["publish"]>[0]): Promise<void> {
    try {
      await this.publisher.publish(messages);
    } catch (err) {
      throw new HttpError(
        503,
        `Pub/Sub did not accept the event: ${(err as Error).message.split("\n")[0]}`,
        {},
        "unavailable",
      );
    }
  }

  /** The body limit to read a request with (http-event.ts, bodyLimitFor). */
  bodyLimit(headers: IncomingHttpHeaders): number {
    return bodyLimitFor(headers, this.codec.eventTypes);
  }

  /** Runs an encode step, turning the codec's refusal into a 400 with its reason code. */
  private refuseBad<T>(step: () => T): T {
    try {
      return step();
    } catch (err) {
      if (err instanceof EncodeError) throw new HttpError(400, err.message, {}, err.reason);
      throw err;
    }
  }
}
