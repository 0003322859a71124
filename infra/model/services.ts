/**
 * The platform's own services, which every system has besides its consumers: the gateway,
 * where producers post events, and the tracker, which serves the funnel's open pixel and click
 * link to the recipients of an invitation. What they publish is fixed here, so the program
 * grants each exactly that and the runtime publishes nothing else.
 */
import type { ServiceName } from "./types";

export const SERVICE_NAMES: readonly ServiceName[] = ["gateway", "tracker"];

/** The event types the tracker publishes: its account may publish to their topics only. */
export const TRACKER_EVENT_TYPES = [
  "com.eventline.invitation.opened",
  "com.eventline.invitation.clicked",
] as const;

/** The event type the gateway makes from each recipient of a share request (`/v1/shares`). */
export const SHARE_REQUESTED = "com.eventline.share.requested";

/**
 * Types only the platform's services publish from outside: no producer may post them to
 * `/v1/events`, so a share passes the share request's checks and the funnel counts only what
 * the tracker saw.
 */
export const PLATFORM_PRODUCED_TYPES: readonly string[] = [SHARE_REQUESTED, ...TRACKER_EVENT_TYPES];

/** The CloudEvents source of the tracker's events. */
export const TRACKER_SOURCE = "//eventline/tracker";
