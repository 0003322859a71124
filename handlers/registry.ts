/**
 * The handler implementations the image ships, by contract name (infra/system.ts). A consumer
 * whose handler is not here refuses to start with "declared but has no implementation yet".
 * Besides the four systems' business handlers, the built-in archiver runs every topic's
 * `<topic>-archiver` consumer. Handlers that call outside services read their adapters'
 * settings from the environment when they first run (handlers/adapters/environment.ts).
 */
import { classifier } from "./documents/classifier";
import { responder } from "./documents/responder";
import { router } from "./documents/router";
import { attributionBuilder } from "./marketing/attribution-builder";
import { campaignAnalytics } from "./marketing/campaign-analytics";
import { campaignProcessor } from "./marketing/campaign-processor";
import { creativeAnalyzer } from "./marketing/creative-analyzer";
import { fatigueDetector } from "./marketing/fatigue-detector";
import { bookingOnPayment } from "./marketplace/booking-on-payment";
import { emailDispatcher } from "./marketplace/email-dispatcher";
import { notifyBookingCreated } from "./marketplace/notify-booking-created";
import { notifyPaymentCompleted } from "./marketplace/notify-payment-completed";
import { notifyProjectPublished } from "./marketplace/notify-project-published";
import { notifyUserCreated } from "./marketplace/notify-user-created";
import { paymentOnBooking } from "./marketplace/payment-on-booking";
import { projectAnalytics } from "./marketplace/project-analytics";
import { projectIndexer } from "./marketplace/project-indexer";
import { searchProjects } from "./marketplace/search-projects";
import { searchUsers } from "./marketplace/search-users";
import { processHookSettings } from "./adapters/environment";
import { hookHandler } from "./adapters/hook";
import { eventTypesFor, hookUrlFor } from "./declared";
import { system } from "../infra/system";
import { archiver } from "./runtime/event-store";
import type { EventType } from "./runtime/event-types";
import { registryOf, type HandlerRegistry } from "./runtime/handler";
import { processSettings } from "./runtime/settings";
import { emailSender } from "./viral/email-sender";
import { funnelProjector } from "./viral/funnel-projector";
import { smsSender } from "./viral/sms-sender";
import { whatsappSender } from "./viral/whatsapp-sender";

export const registry: HandlerRegistry = registryOf(
  archiver,
  // Viral sharing (docs/requirements.md, VS).
  emailSender,
  smsSender,
  whatsappSender,
  funnelProjector,
  // Marketing optimization (docs/requirements.md, MO).
  campaignProcessor,
  campaignAnalytics,
  creativeAnalyzer,
  fatigueDetector,
  attributionBuilder,
  // Marketplace events (docs/requirements.md, MP).
  notifyUserCreated,
  notifyProjectPublished,
  notifyBookingCreated,
  notifyPaymentCompleted,
  searchUsers,
  searchProjects,
  projectAnalytics,
  paymentOnBooking,
  bookingOnPayment,
  emailDispatcher,
  projectIndexer,
  // Document pipeline (docs/requirements.md, DP).
  classifier,
  router,
  responder,
  // Hooks: outside agents told of events over signed HTTP, each a consumer of its own name.
  ...Object.entries(system.hooks ?? {}).map(([name, hook]) =>
    hookHandler(name, hook.accepts as [EventType, ...EventType[]], {
      eventTypes: eventTypesFor(),
      url: () => {
        const base = processSettings().get("EVENTLINE_HOOK_BASE_URL");
        if (base !== undefined && base !== "") return `${base.replace(/\/+$/, "")}/${name}`;
        const stack = processSettings().get("STACK") ?? "local";
        const url = hookUrlFor(name, stack);
        if (url === undefined) throw new Error(`hook ${name} is not declared for stack ${stack}`);
        return url;
      },
      secret: () => processHookSettings().signingSecret,
    }),
  ),
);
