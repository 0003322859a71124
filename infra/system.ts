/**
 * THE declaration of the event system: topics and the events they carry, what each
 * handler accepts and emits, and the consumers that bind handlers to topics with their
 * delivery, placement and scaling. The Pulumi program, the local runtime, the catalog
 * and the policy pack all read this file; nothing here is declared anywhere else.
 *
 * Event types follow com.<org>.<domain>.<action> (docs/requirements.md, DP-1). Each is
 * bound to one protobuf message (proto/) and one topic. The built-in archiver consumer that
 * appends every event to the event store is added to every topic by resolveSystem. The
 * comments name the requirement each part meets (docs/requirements.md).
 */
import { documents, marketing, marketplace, viral } from "../proto/gen";
import { defineSystem } from "./model/define";

/**
 * Shared by the five marketing push consumers: ack deadline 60 s, backoff 10 s to 600 s
 * (docs/requirements.md, MO-2). They keep acknowledged messages for a week so
 * `eventline seek` can replay a window into them (MO-13).
 */
const marketingDelivery = {
  delivery: "push",
  ackDeadline: "60s",
  retry: { minBackoff: "10s", maxBackoff: "600s" },
  retainAckedMessages: true,
  retention: "7d",
} as const;

export const system = defineSystem({
  topics: {
    // ---- Viral sharing (VS) ----
    "viral-shares": {
      description: "One invitation to send, per recipient and channel.",
      schema: viral.v1.ViralSharesTopic,
      events: {
        "com.eventline.share.requested": {
          message: viral.v1.ViralShareRequested,
          description: "A user shared a card with one recipient over one channel.",
          routingAttributes: { channel: "channel" },
          subject: "invitationId",
        },
      },
      // What `eventline cost` prices (README, "What a stack costs"): 10 million invitations a
      // month on average (3.8/s; VS-3's 1 000 a minute is a peak), each sent by a call to an
      // outside provider that takes most of a second.
      volume: { eventsPerSecond: 3.8, averageBytes: 700, handlerMs: 800 },
    },
    "viral-funnel": {
      description: "What became of each invitation: sent (or failed), opened, clicked, converted.",
      schema: viral.v1.ViralFunnelTopic,
      orderingKey: "invitationId",
      events: {
        "com.eventline.share.completed": {
          message: viral.v1.ViralShareCompleted,
          subject: "invitationId",
          description: "The channel accepted the invitation (funnel: sent).",
        },
        "com.eventline.share.failed": {
          message: viral.v1.ViralShareFailed,
          subject: "invitationId",
          description: "The invitation could not be sent and will not be retried.",
        },
        "com.eventline.invitation.opened": {
          message: viral.v1.InvitationOpened,
          subject: "invitationId",
        },
        "com.eventline.invitation.clicked": {
          message: viral.v1.InvitationClicked,
          subject: "invitationId",
        },
        "com.eventline.invitation.converted": {
          message: viral.v1.InvitationConverted,
          subject: "invitationId",
        },
      },
      // Every invitation's outcome, then the opens, clicks and conversions some of them bring:
      // assumed 40 % opened, 10 % clicked, 2 % converted.
      volume: {
        eventsPerSecond: 5.8,
        averageBytes: 400,
        handlerMs: 30,
        typeShares: {
          "com.eventline.share.completed": 0.65,
          "com.eventline.share.failed": 0.01,
          "com.eventline.invitation.opened": 0.26,
          "com.eventline.invitation.clicked": 0.07,
          "com.eventline.invitation.converted": 0.01,
        },
      },
    },

    // ---- Marketing optimization (MO) ----
    campaigns: {
      description: "Campaign lifecycle, performance and optimization events.",
      schema: marketing.v1.CampaignsTopic,
      orderingKey: "campaignId",
      events: {
        "com.eventline.campaign.created": {
          message: marketing.v1.CampaignCreated,
          subject: "campaignId",
        },
        "com.eventline.campaign.performance_reported": {
          message: marketing.v1.CampaignPerformance,
          subject: "campaignId",
        },
        "com.eventline.campaign.optimized": {
          message: marketing.v1.CampaignOptimized,
          subject: "campaignId",
        },
        "com.eventline.campaign.optimization_required": {
          message: marketing.v1.OptimizationRequired,
          subject: "campaignId",
        },
      },
    },
    creatives: {
      description: "Creative submissions, analyses, fatigue and mutations.",
      schema: marketing.v1.CreativesTopic,
      events: {
        "com.eventline.creative.submitted": {
          message: marketing.v1.CreativeSubmitted,
          subject: "creativeId",
        },
        "com.eventline.creative.analyzed": {
          message: marketing.v1.CreativeAnalyzed,
          subject: "creativeId",
        },
        "com.eventline.creative.fatigue_detected": {
          message: marketing.v1.CreativeFatigueDetected,
          subject: "creativeId",
        },
        "com.eventline.creative.mutated": {
          message: marketing.v1.CreativeMutated,
          subject: "childId",
        },
      },
    },
    attribution: {
      description: "Touchpoints and conversions, and the credit each channel gets.",
      schema: marketing.v1.AttributionTopic,
      events: {
        "com.eventline.attribution.touchpoint_recorded": {
          message: marketing.v1.TouchpointRecorded,
          subject: "userId",
        },
        "com.eventline.attribution.conversion_recorded": {
          message: marketing.v1.ConversionRecorded,
          subject: "userId",
        },
        "com.eventline.attribution.conversion_attributed": {
          message: marketing.v1.ConversionAttributed,
          subject: "userId",
        },
      },
    },

    // ---- Marketplace domain events and commands (MP) ----
    users: {
      schema: marketplace.v1.UsersTopic,
      events: {
        "com.skillancer.user.created": {
          message: marketplace.v1.UserCreated,
          subject: "userId",
        },
        "com.skillancer.user.updated": {
          message: marketplace.v1.UserUpdated,
          subject: "userId",
        },
      },
    },
    projects: {
      schema: marketplace.v1.ProjectsTopic,
      events: {
        "com.skillancer.project.created": {
          message: marketplace.v1.ProjectCreated,
          subject: "projectId",
        },
        "com.skillancer.project.published": {
          message: marketplace.v1.ProjectPublished,
          subject: "projectId",
        },
      },
    },
    bookings: {
      schema: marketplace.v1.BookingsTopic,
      events: {
        "com.skillancer.booking.created": {
          message: marketplace.v1.BookingCreated,
          subject: "bookingId",
        },
      },
    },
    payments: {
      schema: marketplace.v1.PaymentsTopic,
      events: {
        "com.skillancer.payment.completed": {
          message: marketplace.v1.PaymentCompleted,
          subject: "bookingId",
        },
      },
    },
    "send-email": {
      description: "Command: send one email.",
      command: true,
      schema: marketplace.v1.SendEmailTopic,
      events: { "com.skillancer.email.send": { message: marketplace.v1.SendEmail, subject: "to" } },
    },
    "index-project": {
      description: "Command: (re)index one project in search.",
      command: true,
      schema: marketplace.v1.IndexProjectTopic,
      events: {
        "com.skillancer.search.index_project": {
          message: marketplace.v1.IndexProject,
          subject: "projectId",
        },
      },
    },

    // ---- Document pipeline: CloudEvents with JSON bodies (DP) ----
    documents: {
      description: "Documents as they are ingested and classified.",
      schema: documents.v1.DocumentsTopic,
      encoding: "json",
      events: {
        "com.dip.document.ingested": {
          message: documents.v1.DocumentIngested,
          subject: "documentId",
        },
        "com.dip.document.classified": {
          message: documents.v1.DocumentClassified,
          subject: "documentId",
        },
      },
    },
    routing: {
      schema: documents.v1.RoutingTopic,
      encoding: "json",
      events: {
        "com.dip.routing.decided": { message: documents.v1.RoutingDecided, subject: "documentId" },
      },
    },
    responses: {
      schema: documents.v1.ResponsesTopic,
      encoding: "json",
      events: {
        "com.dip.response.generated": {
          message: documents.v1.ResponseGenerated,
          subject: "documentId",
        },
      },
    },
  },

  handlers: {
    // Viral sharing
    "email-sender": {
      accepts: ["com.eventline.share.requested"],
      emits: ["com.eventline.share.completed", "com.eventline.share.failed"],
      uses: ["smtp", "tracking-links"],
      description: "Sends the invitation email over SMTP, with tracking pixel and click link.",
    },
    "sms-sender": {
      accepts: ["com.eventline.share.requested"],
      emits: ["com.eventline.share.completed", "com.eventline.share.failed"],
      uses: ["messaging", "tracking-links"],
      description: "Sends the invitation by SMS through the provider adapter.",
    },
    "whatsapp-sender": {
      accepts: ["com.eventline.share.requested"],
      emits: ["com.eventline.share.completed", "com.eventline.share.failed"],
      uses: ["messaging", "tracking-links"],
      description: "Sends the invitation by WhatsApp through the provider adapter.",
    },
    "funnel-projector": {
      accepts: [
        "com.eventline.share.completed",
        "com.eventline.share.failed",
        "com.eventline.invitation.opened",
        "com.eventline.invitation.clicked",
        "com.eventline.invitation.converted",
      ],
      // Reads the invitation; writes it and the card's and sender's counts; a new invitation adds its record.
      firestorePerEvent: { reads: 1, writes: 3, storedBytes: 200 },
      description: "Keeps the sent → opened → clicked → converted funnel per card and per sender.",
    },
    // Marketing optimization
    "campaign-processor": {
      accepts: ["com.eventline.campaign.created", "com.eventline.campaign.performance_reported"],
      emits: ["com.eventline.campaign.optimization_required"],
      description:
        "Stores performance, computes CTR, CPA and pacing; asks for optimization when off target.",
    },
    "campaign-analytics": {
      accepts: ["com.eventline.campaign.performance_reported"],
      description: "Hourly and daily rollups of campaign performance.",
    },
    "creative-analyzer": {
      accepts: ["com.eventline.creative.submitted"],
      emits: ["com.eventline.creative.analyzed"],
      description: "Feature embedding and attention scores from a creative's genome.",
    },
    "fatigue-detector": {
      accepts: ["com.eventline.creative.analyzed"],
      emits: ["com.eventline.creative.fatigue_detected"],
      description: "Fits an exponential decay to a creative's CTR series.",
    },
    "attribution-builder": {
      accepts: [
        "com.eventline.attribution.touchpoint_recorded",
        "com.eventline.attribution.conversion_recorded",
      ],
      emits: ["com.eventline.attribution.conversion_attributed"],
      description: "Credits conversions to channels: last click, linear, Shapley.",
    },
    // Marketplace
    "notify-user-created": {
      accepts: ["com.skillancer.user.created"],
      emits: ["com.skillancer.email.send"],
      description: "Notification: the welcome email.",
    },
    "notify-project-published": {
      accepts: ["com.skillancer.project.published"],
      emits: ["com.skillancer.email.send"],
      description: "Notification: tells the client the project is live.",
    },
    "notify-booking-created": {
      accepts: ["com.skillancer.booking.created"],
      emits: ["com.skillancer.email.send"],
      description: "Notification: tells both parties of the booking.",
    },
    "notify-payment-completed": {
      accepts: ["com.skillancer.payment.completed"],
      emits: ["com.skillancer.email.send"],
      description: "Notification: the receipt.",
    },
    "search-users": {
      accepts: ["com.skillancer.user.created", "com.skillancer.user.updated"],
      description: "Search: keeps the user search documents, newest revision wins.",
    },
    "search-projects": {
      accepts: ["com.skillancer.project.created", "com.skillancer.project.published"],
      emits: ["com.skillancer.search.index_project"],
      description: "Search: keeps the project search documents and asks for reindexing.",
    },
    "project-analytics": {
      accepts: ["com.skillancer.project.created"],
      description: "Analytics: counts projects by skill and budget band.",
    },
    "payment-on-booking": {
      accepts: ["com.skillancer.booking.created"],
      description: "Payment: opens a pending payment for the booking.",
    },
    "booking-on-payment": {
      accepts: ["com.skillancer.payment.completed"],
      description: "Booking: marks the booking paid.",
    },
    "email-dispatcher": {
      accepts: ["com.skillancer.email.send"],
      uses: ["smtp"],
      description: "Sends the email the command describes, at most once per idempotency key.",
    },
    "project-indexer": {
      accepts: ["com.skillancer.search.index_project"],
      description: "Rebuilds one project's search document.",
    },
    // Document pipeline
    classifier: {
      accepts: ["com.dip.document.ingested"],
      emits: ["com.dip.document.classified"],
      description: "Multinomial naive Bayes over the document's text.",
    },
    router: {
      accepts: ["com.dip.document.classified"],
      emits: ["com.dip.routing.decided"],
      description: "Routes a classified document to a queue.",
    },
    responder: {
      accepts: ["com.dip.routing.decided"],
      emits: ["com.dip.response.generated"],
      description: "Generates the response for a routed document.",
    },
  },

  consumers: {
    // The email worker, sized for slow SMTP (VS-5); one worker pool per channel (VS-4, VS-6).
    "email-worker": {
      handler: "email-sender",
      topic: "viral-shares",
      filter: 'attributes.ce-channel = "email"',
      delivery: "pull",
      ackDeadline: "600s",
      gke: {
        resources: {
          requests: { cpu: "200m", memory: "256Mi" },
          limits: { cpu: "500m", memory: "512Mi" },
        },
        replicas: { min: 1, max: 50 },
        backlogTarget: 1000,
        maxMessages: 10,
      },
      // Assumed channel mix: 70 % email, 20 % SMS, 10 % WhatsApp; SMTP is the slow one.
      volume: { share: 0.7, handlerMs: 1500 },
    },
    "sms-worker": {
      handler: "sms-sender",
      topic: "viral-shares",
      filter: 'attributes.ce-channel = "sms"',
      delivery: "push",
      cloudRun: { maxInstances: 20 },
      volume: { share: 0.2, handlerMs: 400 },
    },
    "whatsapp-worker": {
      handler: "whatsapp-sender",
      topic: "viral-shares",
      filter: 'attributes.ce-channel = "whatsapp"',
      delivery: "push",
      cloudRun: { maxInstances: 20 },
      volume: { share: 0.1, handlerMs: 400 },
    },
    "funnel-projector": {
      handler: "funnel-projector",
      topic: "viral-funnel",
      delivery: "pull",
      ordering: true,
      gke: { replicas: { min: 1, max: 10 } },
    },

    // Five push consumers; campaign-analytics and fatigue-detector take one type each (MO-2).
    "campaign-processor": {
      ...marketingDelivery,
      handler: "campaign-processor",
      topic: "campaigns",
      ordering: true,
    },
    "campaign-analytics": {
      ...marketingDelivery,
      handler: "campaign-analytics",
      topic: "campaigns",
      filter: 'attributes.ce-type = "com.eventline.campaign.performance_reported"',
    },
    "creative-analyzer": { ...marketingDelivery, handler: "creative-analyzer", topic: "creatives" },
    "fatigue-detector": {
      ...marketingDelivery,
      handler: "fatigue-detector",
      topic: "creatives",
      filter: 'attributes.ce-type = "com.eventline.creative.analyzed"',
    },
    "attribution-builder": {
      ...marketingDelivery,
      handler: "attribution-builder",
      topic: "attribution",
    },

    // The services each event reaches, one subscription per service and topic (MP-4).
    "notify-user-created": { handler: "notify-user-created", topic: "users", delivery: "push" },
    "notify-project-published": {
      handler: "notify-project-published",
      topic: "projects",
      delivery: "push",
    },
    "notify-booking-created": {
      handler: "notify-booking-created",
      topic: "bookings",
      delivery: "push",
    },
    "notify-payment-completed": {
      handler: "notify-payment-completed",
      topic: "payments",
      delivery: "push",
    },
    "search-users": { handler: "search-users", topic: "users", delivery: "push" },
    "search-projects": { handler: "search-projects", topic: "projects", delivery: "push" },
    "project-analytics": { handler: "project-analytics", topic: "projects", delivery: "push" },
    "payment-on-booking": { handler: "payment-on-booking", topic: "bookings", delivery: "push" },
    "booking-on-payment": { handler: "booking-on-payment", topic: "payments", delivery: "push" },
    "email-dispatcher": {
      handler: "email-dispatcher",
      topic: "send-email",
      delivery: "pull",
      exactlyOnce: true,
    },
    "project-indexer": { handler: "project-indexer", topic: "index-project", delivery: "push" },

    // Ingestion (gateway) → classification → routing → response (DP-2 to DP-5).
    classifier: {
      handler: "classifier",
      topic: "documents",
      delivery: "pull",
      gke: {
        resources: {
          requests: { cpu: "250m", memory: "256Mi" },
          limits: { cpu: "1", memory: "512Mi" },
        },
        replicas: { min: 1, max: 10 },
        backlogTarget: 200,
      },
    },
    router: { handler: "router", topic: "documents", delivery: "push" },
    responder: { handler: "responder", topic: "routing", delivery: "push" },
  },

  // Who may post events to the gateway, each a service account in the cloud and a named local
  // identity under npm start (eventline token <producer>): the types it may post and the ce-source
  // prefixes its events must carry. The gateway refuses anything else with 403 and the reason.
  producers: {
    "cards-app": {
      description: "The app where users share cards and sign up from an invitation.",
      shares: true,
      publishes: ["com.eventline.invitation.converted"],
      sources: ["//cards-app"],
    },
    "campaign-manager": {
      description: "Where marketers create campaigns and submit creatives.",
      publishes: ["com.eventline.campaign.created", "com.eventline.creative.submitted"],
      sources: ["//campaign-manager"],
    },
    "ad-platform-sync": {
      description: "Reports each campaign's performance from the ad platforms.",
      publishes: ["com.eventline.campaign.performance_reported"],
      sources: ["//ad-platforms/"],
    },
    "optimization-agents": {
      description: "The agents that act on optimization_required and mutate creatives.",
      publishes: ["com.eventline.campaign.optimized", "com.eventline.creative.mutated"],
      sources: ["//agents/"],
    },
    analytics: {
      description: "Web and app analytics: touchpoints and conversions.",
      publishes: [
        "com.eventline.attribution.touchpoint_recorded",
        "com.eventline.attribution.conversion_recorded",
      ],
      sources: ["//analytics"],
    },
    "user-service": {
      publishes: ["com.skillancer.user.created", "com.skillancer.user.updated"],
      sources: ["//user-service"],
    },
    "project-service": {
      publishes: ["com.skillancer.project.created", "com.skillancer.project.published"],
      sources: ["//project-service"],
    },
    "booking-service": {
      publishes: ["com.skillancer.booking.created"],
      sources: ["//booking-service"],
    },
    "payment-service": {
      publishes: ["com.skillancer.payment.completed"],
      sources: ["//payment-service"],
    },
    "ingestion-service": {
      publishes: ["com.dip.document.ingested"],
      sources: ["/services/ingestion"],
    },
  },

  services: {
    // Producers post events to the gateway from inside the project; it stays internal.
    gateway: {},
    tracker: {
      public: {
        reason:
          "Recipients of an invitation load its open pixel and follow its click link from their own mail client, anywhere on the internet.",
      },
      rateLimit: { requests: 120, per: "1m" },
    },
  },

  // Outside agents told of events over signed HTTP, each a consumer of its own (MO: the agents that
  // act on optimization_required). The optimization agents answer with campaign.optimized,
  // which is published as the hook's own event.
  hooks: {
    "optimization-agents": {
      description:
        "The optimization agents: told of each optimization_required, they answer with the campaign.optimized they decided.",
      topic: "campaigns",
      accepts: ["com.eventline.campaign.optimization_required"],
      emits: ["com.eventline.campaign.optimized"],
      url: "https://agents.eventline.example/hooks/optimization",
    },
  },

  stacks: {
    // npm start sends the hooks to `eventline hooks listen` on this machine.
    local: {
      hooks: { "optimization-agents": { url: "http://127.0.0.1:8787/optimization-agents" } },
    },
    // dev runs small and cheap; prod takes the declared bounds above.
    dev: {
      consumers: {
        "email-worker": { gke: { replicas: { max: 5 } } },
        "sms-worker": { cloudRun: { maxInstances: 3 } },
        "whatsapp-worker": { cloudRun: { maxInstances: 3 } },
      },
      topics: { "viral-shares": { retention: "1d" }, "viral-funnel": { retention: "1d" } },
    },
    prod: {
      consumers: {
        "campaign-processor": { cloudRun: { minInstances: 1 } },
        "attribution-builder": { cloudRun: { minInstances: 1 } },
      },
    },
  },
});

/** The declared system's type: handlers and interpreters derive payload types from it. */
export type DeclaredSystem = typeof system;
