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
import { archiver } from "./runtime/event-store";
import { registryOf, type HandlerRegistry } from "./runtime/handler";
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
);
