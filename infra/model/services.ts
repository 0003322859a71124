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

/** The CloudEvents source of the tracker's events. */
export const TRACKER_SOURCE = "//eventline/tracker";
