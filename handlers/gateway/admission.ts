/**
 * Who may post what to the gateway, and which attributes are the platform's. Every request
 * carries a producer's ID token: a Google-signed token of the producer's service account in the
 * cloud, a token of the local issuer under `npm start` (`eventline token <producer>`). The
 * producer is the one the declaration names for that account (infra/system.ts `producers`), and
 * it may post only the event types it declares, with a `source` under one of its prefixes, and
 * share requests only if it declares `shares`. Anything else is 401 or 403 with the reason.
 *
 * The platform owns some attributes: the gateway stamps when it received the event and who
 * posted it, and refuses an event that sets either, or sets the markers only the platform sets
 * (causation, replay), or a routing attribute, which is copied from the payload. A producer's
 * `time` is kept, unless it is further in the future than clocks drift. Correlation ids stay the
 * producer's.
 *
 * Locally authentication can be turned off (EVENTLINE_GATEWAY_AUTH=off, `npm start --no-auth`);
 * the declaration still decides: an event is admitted only when some producer may post it.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { ResolvedProducer } from "../../infra/model/types";
import type { EventTypes } from "../runtime/event-types";
import { UnauthorizedError, type IdTokenVerifier } from "../runtime/oidc";
import { HttpError } from "./http";
import type { HttpEvent } from "./http-event";

/** The extension the gateway stamps with the time it received an event (RFC 3339). */
export const RECEIVED_TIME_EXTENSION = "receivedtime";
/** The extension the gateway stamps with the producer that posted an event. */
export const PRODUCER_EXTENSION = "producer";
/** Markers only the platform sets: the cause of a derived event, the original of a replayed one. */
const PLATFORM_MARKERS = [
  "causationid",
  "replayof",
  RECEIVED_TIME_EXTENSION,
  PRODUCER_EXTENSION,
] as const;
/** How far a producer's `time` may be ahead of the gateway's clock: more is a bad clock or a forgery. */
export const MAX_CLOCK_SKEW_SECONDS = 300;

/** Who a request is from: a declared producer, or anyone when authentication is off (local only). */
export type Caller = { producer: ResolvedProducer } | { unauthenticated: true };

export type Authenticate = (headers: IncomingHttpHeaders) => Promise<Caller>;

/**
 * Authenticates by ID token: the token's email must be the account of a declared producer.
 * @param accounts producer name → the email of its account.
 */
export function tokenAuthentication(
  producers: readonly ResolvedProducer[],
  accounts: Readonly<Record<string, string>>,
  verify: IdTokenVerifier,
  howToGetOne = "a Google-signed ID token of the producer's service account, for the gateway's audience",
): Authenticate {
  const byEmail = new Map(
    producers.flatMap((producer) => {
      const email = accounts[producer.name];
      return email === undefined ? [] : [[email.toLowerCase(), producer] as const];
    }),
  );
  return async (headers) => {
    let email: string | undefined;
    try {
      ({ email } = await verify(headers.authorization));
    } catch (err) {
      if (err instanceof UnauthorizedError)
        throw new HttpError(
          401,
          `${err.message}; send a producer's ID token as Authorization: Bearer <token> (${howToGetOne})`,
          { "www-authenticate": "Bearer" },
          "unauthenticated",
        );
      throw err;
    }
    const producer = email === undefined ? undefined : byEmail.get(email.toLowerCase());
    if (producer === undefined)
      throw new HttpError(
        403,
        `${email ?? "the token's account"} is not a declared producer (producers in infra/system.ts)`,
        {},
        "not-a-producer",
      );
    return { producer };
  };
}

/** Authentication off, for local work only: the declaration still decides what is admitted. */
export const noAuthentication: Authenticate = async () => ({ unauthenticated: true });

/**
 * Whether `source` is under one of the producer's prefixes: the prefix itself, or the prefix and
 * more after a `/` (`//user-service` covers `//user-service/eu`, not `//user-service-copy`).
 */
function fromOwnSource(producer: ResolvedProducer, source: string): boolean {
  return producer.sources.some(
    (prefix) =>
      source === prefix ||
      (source.startsWith(prefix) && (prefix.endsWith("/") || source[prefix.length] === "/")),
  );
}

function mayPost(producer: ResolvedProducer, type: string, source: string): boolean {
  return producer.publishes.includes(type) && fromOwnSource(producer, source);
}

/**
 * The producer an event is admitted as.
 * @throws HttpError 403 naming what the producer may not do.
 */
export function admitEvent(
  caller: Caller,
  producers: readonly ResolvedProducer[],
  event: Pick<HttpEvent, "type" | "source">,
): ResolvedProducer {
  if ("producer" in caller) {
    const { producer } = caller;
    if (!producer.publishes.includes(event.type)) {
      throw new HttpError(
        403,
        `producer ${producer.name} may not post ${event.type}; it posts ${producer.publishes.join(", ") || "no event types"}`,
        {},
        "type-not-allowed",
      );
    }
    if (!fromOwnSource(producer, event.source)) {
      throw new HttpError(
        403,
        `producer ${producer.name} may not post with source ${event.source}; its sources are under ${producer.sources.join(" or ")}`,
        {},
        "source-not-allowed",
      );
    }
    return producer;
  }
  const allowed = producers.find((producer) => mayPost(producer, event.type, event.source));
  if (allowed === undefined)
    throw new HttpError(
      403,
      `no declared producer posts ${event.type} with source ${event.source}`,
      {},
      "type-not-allowed",
    );
  return allowed;
}

/**
 * The producer a share request is admitted as.
 * @throws HttpError 403 when the caller may not post share requests.
 */
export function admitShare(
  caller: Caller,
  producers: readonly ResolvedProducer[],
): ResolvedProducer {
  const producer = "producer" in caller ? caller.producer : producers.find((p) => p.shares);
  if (producer === undefined || !producer.shares) {
    throw new HttpError(
      403,
      `${producer === undefined ? "no declared producer" : `producer ${producer.name}`} may post share requests (shares: true in infra/system.ts)`,
      {},
      "shares-not-allowed",
    );
  }
  return producer;
}

/**
 * The event with the platform's attributes: refused when the producer set one of them, or a
 * routing attribute, or a time too far ahead; stamped with when it was received and by whom.
 * @throws HttpError 400 naming the attribute.
 */
export function withPlatformAttributes(
  event: HttpEvent,
  producer: ResolvedProducer,
  eventTypes: EventTypes,
  now = new Date(),
): HttpEvent {
  const routing = Object.keys(eventTypes.find(event.type)?.routingAttributes ?? {});
  for (const name of [...PLATFORM_MARKERS, ...routing]) {
    const given = name === "causationid" ? event.causationId : event.extensions[name];
    if (given !== undefined) {
      const why = routing.includes(name) ? "is copied from the payload" : "is set by the platform";
      throw new HttpError(400, `ce-${name} ${why}; leave it out`, {}, "platform-attribute");
    }
  }
  if (event.time !== undefined) {
    const at = Date.parse(event.time);
    if (!Number.isNaN(at) && at - now.getTime() > MAX_CLOCK_SKEW_SECONDS * 1000) {
      throw new HttpError(
        400,
        `time ${event.time} is more than ${MAX_CLOCK_SKEW_SECONDS} s ahead of the gateway's clock`,
        {},
        "time-in-future",
      );
    }
  }
  return {
    ...event,
    extensions: {
      ...event.extensions,
      [RECEIVED_TIME_EXTENSION]: now.toISOString(),
      [PRODUCER_EXTENSION]: producer.name,
    },
  };
}
