import { describe, expect, it } from "vitest";
import { marketplace, viral } from "../../proto/gen";
import { DeclarationError } from "../../infra/model/validate";
import { resolveSystem } from "../../infra/model/resolve";
import type { ConsumerSpec, ResolvedConsumer, SystemSpec } from "../../infra/model/types";
import { system } from "../../infra/system";

const consumer = (stack: string, name: string): ResolvedConsumer => {
  const found = resolveSystem(system, stack).consumers.find((c) => c.name === name);
  if (found === undefined) throw new Error(`no consumer ${name}`);
  return found;
};

describe("the declaration of the four systems", () => {
  it.each(["dev", "prod", "local"])("loads for the %s stack", (stack) => {
    const resolved = resolveSystem(system, stack);
    // Every declared topic and consumer, and an archiver per topic.
    expect(resolved.topics.map((t) => t.name)).toEqual(Object.keys(system.topics));
    expect(
      resolved.consumers.filter((c) => !c.builtIn && c.hook === undefined).map((c) => c.name),
    ).toEqual(Object.keys(system.consumers));
    expect(resolved.consumers.filter((c) => c.hook !== undefined).map((c) => c.name)).toEqual(
      Object.keys(system.hooks ?? {}),
    );
    expect(resolved.consumers.filter((c) => c.builtIn).map((c) => c.topic)).toEqual(
      Object.keys(system.topics),
    );
  });

  it("sizes the email worker for slow SMTP (VS-5): GKE, ack 600 s, 256Mi/200m to 512Mi/500m, 1–50 replicas, backlog 1000", () => {
    const email = consumer("prod", "email-worker");
    expect(email).toMatchObject({
      delivery: "pull",
      topic: "viral-shares",
      ackDeadlineSeconds: 600,
      filter: 'attributes.ce-channel = "email"',
    });
    if (email.delivery !== "pull") throw new Error("email-worker must pull");
    expect(email.gke).toEqual({
      resources: {
        requests: { cpu: "200m", memory: "256Mi" },
        limits: { cpu: "500m", memory: "512Mi" },
      },
      replicas: { min: 1, max: 50 },
      backlogTarget: 1000,
      maxMessages: 10,
    });
  });

  it("applies per-stack overrides: dev caps the email worker at 5 replicas and keeps the rest", () => {
    const email = consumer("dev", "email-worker");
    if (email.delivery !== "pull") throw new Error("email-worker must pull");
    expect(email.gke.replicas).toEqual({ min: 1, max: 5 });
    expect(email.gke.resources.limits).toEqual({ cpu: "500m", memory: "512Mi" });
    expect(
      resolveSystem(system, "dev").topics.find((t) => t.name === "viral-shares")?.retentionSeconds,
    ).toBe(86_400);
  });

  it("declares the five marketing push consumers with ack 60 s, backoff 10 s–600 s and two type filters (MO-2)", () => {
    const names = [
      "campaign-processor",
      "campaign-analytics",
      "creative-analyzer",
      "fatigue-detector",
      "attribution-builder",
    ];
    for (const name of names) {
      expect(consumer("prod", name)).toMatchObject({
        delivery: "push",
        ackDeadlineSeconds: 60,
        retry: { minBackoffSeconds: 10, maxBackoffSeconds: 600 },
      });
    }
    expect(consumer("prod", "campaign-analytics")).toMatchObject({
      filterOrigin: "declared",
      filter: 'attributes.ce-type = "com.eventline.campaign.performance_reported"',
    });
    expect(consumer("prod", "fatigue-detector")).toMatchObject({
      filterOrigin: "declared",
      filter: 'attributes.ce-type = "com.eventline.creative.analyzed"',
    });
  });

  it("keeps acknowledged messages a week on the marketing consumers, so a window can be replayed by seek", () => {
    expect(consumer("prod", "campaign-processor")).toMatchObject({
      retainAckedMessages: true,
      messageRetentionSeconds: 604_800,
    });
    expect(consumer("prod", "email-worker")).toMatchObject({
      retainAckedMessages: false,
      messageRetentionSeconds: 604_800,
    });
  });

  it("derives a type filter where a handler accepts only part of its topic, so it never receives its own output", () => {
    expect(consumer("prod", "campaign-processor")).toMatchObject({
      filterOrigin: "derived",
      filter:
        'attributes.ce-type = "com.eventline.campaign.created" OR attributes.ce-type = "com.eventline.campaign.performance_reported"',
    });
    expect(consumer("prod", "funnel-projector")).toMatchObject({ filterOrigin: "none" });
  });

  it("sends each marketplace event to the services that need it, and each command to one consumer (MP-2, MP-4)", () => {
    const resolved = resolveSystem(system, "prod");
    // At least the services each event is for; a consumer added later joins them.
    const consumersOf = (type: string): string[] =>
      resolved.consumers
        .filter((c) => !c.builtIn && c.contract.accepts.includes(type))
        .map((c) => c.name)
        .sort();
    expect(consumersOf("com.skillancer.user.created")).toEqual(
      expect.arrayContaining(["notify-user-created", "search-users"]),
    );
    expect(consumersOf("com.skillancer.user.updated")).toEqual(
      expect.arrayContaining(["search-users"]),
    );
    expect(consumersOf("com.skillancer.project.created")).toEqual(
      expect.arrayContaining(["project-analytics", "search-projects"]),
    );
    expect(consumersOf("com.skillancer.project.published")).toEqual(
      expect.arrayContaining(["notify-project-published", "search-projects"]),
    );
    expect(consumersOf("com.skillancer.booking.created")).toEqual(
      expect.arrayContaining(["notify-booking-created", "payment-on-booking"]),
    );
    expect(consumersOf("com.skillancer.payment.completed")).toEqual(
      expect.arrayContaining(["booking-on-payment", "notify-payment-completed"]),
    );
    for (const command of ["send-email", "index-project"]) {
      expect(resolved.topics.find((t) => t.name === command)?.command).toBe(true);
      expect(resolved.consumers.filter((c) => !c.builtIn && c.topic === command)).toHaveLength(1);
    }
  });

  it("chains the document pipeline: ingested → classified → routed → answered, on JSON topics", () => {
    const resolved = resolveSystem(system, "prod");
    const emitted = (handler: string): readonly string[] => resolved.handlers[handler]?.emits ?? [];
    expect(emitted("classifier")).toEqual(["com.dip.document.classified"]);
    expect(emitted("router")).toEqual(["com.dip.routing.decided"]);
    expect(emitted("responder")).toEqual(["com.dip.response.generated"]);
    expect(
      resolved.topics
        .filter((t) => t.events.some((e) => e.type.startsWith("com.dip.")))
        .map((t) => t.encoding),
    ).toEqual(["json", "json", "json"]);
  });

  it("gives every topic a built-in archiver that accepts all of its events, and every consumer its own dead-letter topic", () => {
    const resolved = resolveSystem(system, "prod");
    for (const topic of resolved.topics) {
      const archiver = resolved.consumers.find((c) => c.name === `${topic.name}-archiver`);
      expect(archiver).toMatchObject({
        builtIn: true,
        delivery: "pull",
        handler: "archiver",
        filterOrigin: "none",
      });
      expect(archiver?.contract.accepts).toEqual(topic.events.map((e) => e.type));
    }
    for (const c of resolved.consumers)
      expect([c.deadLetterTopic, c.parkingSubscription]).toEqual([
        `${c.name}-dlq`,
        `${c.name}-dlq-parking`,
      ]);
  });
});

/** A small valid declaration to break one way at a time. */
function validSpec(): SystemSpec & {
  topics: Record<string, SystemSpec["topics"][string]>;
  consumers: Record<string, ConsumerSpec>;
} {
  return {
    topics: {
      shares: {
        schema: viral.v1.ViralSharesTopic,
        events: { "com.test.share.requested": { message: viral.v1.ViralShareRequested } },
      },
      funnel: {
        schema: viral.v1.ViralFunnelTopic,
        events: {
          "com.test.share.completed": { message: viral.v1.ViralShareCompleted },
          "com.test.share.failed": { message: viral.v1.ViralShareFailed },
          "com.test.invitation.opened": { message: viral.v1.InvitationOpened },
          "com.test.invitation.clicked": { message: viral.v1.InvitationClicked },
          "com.test.invitation.converted": { message: viral.v1.InvitationConverted },
        },
      },
    },
    handlers: {
      sender: { accepts: ["com.test.share.requested"], emits: ["com.test.share.completed"] },
      funnel: { accepts: ["com.test.share.completed", "com.test.invitation.opened"] },
    },
    consumers: {
      "send-worker": { handler: "sender", topic: "shares", delivery: "pull" },
      "funnel-push": { handler: "funnel", topic: "funnel", delivery: "push" },
    },
  };
}

type Breakage = (spec: ReturnType<typeof validSpec>) => void;
const push = (spec: ReturnType<typeof validSpec>): ConsumerSpec => spec.consumers["funnel-push"]!;
const pull = (spec: ReturnType<typeof validSpec>): ConsumerSpec => spec.consumers["send-worker"]!;

const invalid: Array<[string, Breakage, string, RegExp]> = [
  [
    "a handler accepting an unknown event type",
    (s) =>
      void ((s.handlers as Record<string, { accepts: string[] }>)["sender"] = {
        accepts: ["com.test.share.teleported"],
      }),
    "handlers.sender.accepts",
    /unknown event type com\.test\.share\.teleported/,
  ],
  [
    "a handler emitting an unknown event type",
    (s) =>
      void ((s.handlers as Record<string, object>)["sender"] = {
        accepts: ["com.test.share.requested"],
        emits: ["com.test.nope.done"],
      }),
    "handlers.sender.emits",
    /unknown event type com\.test\.nope\.done/,
  ],
  [
    "a consumer whose topic cannot carry what its handler accepts",
    (s) => void (push(s).topic = "shares"),
    "consumers.funnel-push.topic",
    /topic shares cannot carry com\.test\.share\.completed, com\.test\.invitation\.opened/,
  ],
  [
    "an unknown handler",
    (s) => void (push(s).handler = "ghost"),
    "consumers.funnel-push.handler",
    /no handler named "ghost"/,
  ],
  [
    "an unknown topic",
    (s) => void (push(s).topic = "nowhere"),
    "consumers.funnel-push.topic",
    /no topic named "nowhere"/,
  ],
  [
    "an ack deadline under 10 s",
    (s) => void (push(s).ackDeadline = "5s"),
    "consumers.funnel-push.ackDeadline",
    /5s is outside 10s\.\.600s/,
  ],
  [
    "an ack deadline over 600 s",
    (s) => void (push(s).ackDeadline = "11m"),
    "consumers.funnel-push.ackDeadline",
    /660s is outside 10s\.\.600s/,
  ],
  [
    "a maximum backoff over 600 s",
    (s) => void (push(s).retry = { maxBackoff: "601s" }),
    "consumers.funnel-push.retry.maxBackoff",
    /601s is outside 0s\.\.600s/,
  ],
  [
    "a minimum backoff above the maximum",
    (s) => void (push(s).retry = { minBackoff: "60s", maxBackoff: "30s" }),
    "consumers.funnel-push.retry",
    /minBackoff 60s is greater than maxBackoff 30s/,
  ],
  [
    "a duration that is not a typed duration",
    (s) => void (push(s).ackDeadline = "10 seconds" as never),
    "consumers.funnel-push.ackDeadline",
    /"10 seconds" is not a duration/,
  ],
  [
    "max delivery attempts under 5",
    (s) => void (push(s).maxDeliveryAttempts = 4),
    "consumers.funnel-push.maxDeliveryAttempts",
    /4 is outside 5\.\.100/,
  ],
  [
    "max delivery attempts over 100",
    (s) => void (push(s).maxDeliveryAttempts = 101),
    "consumers.funnel-push.maxDeliveryAttempts",
    /101 is outside 5\.\.100/,
  ],
  [
    "exactly-once on a push consumer",
    (s) => void ((push(s) as { exactlyOnce?: boolean }).exactlyOnce = true),
    "consumers.funnel-push.exactlyOnce",
    /exactly-once delivery is not available to push subscriptions/,
  ],
  [
    "a filter that does not parse",
    (s) => void (push(s).filter = "attributes.ce-type = com"),
    "consumers.funnel-push.filter",
    /expected a string literal/,
  ],
  [
    "a filter over 256 bytes",
    (s) => void (push(s).filter = `attributes.x = "${"y".repeat(260)}"`),
    "consumers.funnel-push.filter",
    /256-byte limit/,
  ],
  [
    "a consumer name Cloud Run and Kubernetes refuse",
    (s) => void (s.consumers["Funnel_Push"] = push(s)),
    "consumers.Funnel_Push",
    /"Funnel_Push" is not a valid consumer name/,
  ],
  [
    "a topic name Pub/Sub refuses",
    (s) => void (s.topics["goog topic"] = s.topics["shares"]!),
    "topics.goog topic",
    /not a valid topic name/,
  ],
  [
    "an event type not named com.<org>.<domain>.<action>",
    (s) =>
      void (s.topics["shares"] = {
        schema: viral.v1.ViralSharesTopic,
        events: { ViralShareRequested: { message: viral.v1.ViralShareRequested } },
      }),
    "topics.shares.events.ViralShareRequested",
    /does not follow com\.<org>\.<domain>\.<action>/,
  ],
  [
    "an event type declared on two topics",
    (s) =>
      void (s.topics["funnel"] = {
        ...s.topics["funnel"]!,
        events: {
          ...s.topics["funnel"]!.events,
          "com.test.share.requested": { message: viral.v1.ViralShareRequested },
        },
      }),
    "topics.funnel.events.com.test.share.requested",
    /also declared on topic shares/,
  ],
  [
    "a message that is not a member of the topic's oneof",
    (s) =>
      void (s.topics["shares"] = {
        schema: viral.v1.ViralSharesTopic,
        events: {
          "com.test.share.requested": { message: viral.v1.ViralShareRequested },
          "com.test.share.failed": { message: viral.v1.ViralShareFailed },
        },
      }),
    "topics.shares.events.com.test.share.failed.message",
    /not a member of viral\.v1\.ViralSharesTopic's oneof/,
  ],
  [
    "a oneof member with no event type",
    (s) =>
      void delete (s.topics["funnel"]!.events as Record<string, unknown>)[
        "com.test.invitation.clicked"
      ],
    "topics.funnel.schema",
    /invitationClicked \(viral\.v1\.InvitationClicked\) has no event type/,
  ],
  [
    "a schema without a oneof",
    (s) =>
      void (s.topics["shares"] = {
        schema: viral.v1.ViralShareRequested,
        events: { "com.test.share.requested": { message: viral.v1.ViralShareRequested } },
      }),
    "topics.shares.schema",
    /has no single oneof/,
  ],
  [
    "a routing attribute naming a field the message lacks",
    (s) =>
      void (s.topics["shares"] = {
        schema: viral.v1.ViralSharesTopic,
        events: {
          "com.test.share.requested": {
            message: viral.v1.ViralShareRequested,
            routingAttributes: { channel: "medium" },
          },
        },
      }),
    "topics.shares.events.com.test.share.requested.routingAttributes.channel",
    /has no field "medium"/,
  ],
  [
    "a body limit over Pub/Sub's 10 MB message",
    (s) =>
      void (s.topics["shares"] = {
        schema: viral.v1.ViralSharesTopic,
        events: {
          ...s.topics["shares"]!.events,
          "com.test.share.requested": {
            message: viral.v1.ViralShareRequested,
            maxBodyBytes: 10_000_001,
          },
        },
      }),
    "topics.shares.events.com.test.share.requested.maxBodyBytes",
    /10000001 is not a whole number of bytes in 1\.\.10000000/,
  ],
  [
    "a body limit that is not a whole number of bytes",
    (s) =>
      void (s.topics["shares"] = {
        schema: viral.v1.ViralSharesTopic,
        events: {
          ...s.topics["shares"]!.events,
          "com.test.share.requested": { message: viral.v1.ViralShareRequested, maxBodyBytes: 0.5 },
        },
      }),
    "topics.shares.events.com.test.share.requested.maxBodyBytes",
    /0\.5 is not a whole number of bytes/,
  ],
  [
    "ordering on a topic without an ordering key",
    (s) => void (push(s).ordering = true),
    "consumers.funnel-push.ordering",
    /declares no orderingKey/,
  ],
  [
    "a dead-letter topic name that collides with a declared topic",
    (s) => void (s.topics["send-worker-dlq"] = s.topics["shares"]!),
    "consumers.send-worker (its dead-letter topic)",
    /"send-worker-dlq" is also used by topics\.send-worker-dlq/,
  ],
  [
    "a consumer named like a topic's built-in archiver",
    (s) => void (s.consumers["shares-archiver"] = pull(s)),
    "consumers.shares-archiver",
    /built-in archiver/,
  ],
  [
    "GKE replica bounds with min above max",
    (s) =>
      void (s.consumers["send-worker"] = {
        handler: "sender",
        topic: "shares",
        delivery: "pull",
        gke: { replicas: { min: 5, max: 2 } },
      }),
    "consumers.send-worker.gke.replicas",
    /replicas 5\.\.2 are not a valid range/,
  ],
  [
    "a container request above its limit",
    (s) =>
      void (s.consumers["send-worker"] = {
        handler: "sender",
        topic: "shares",
        delivery: "pull",
        gke: {
          resources: {
            requests: { cpu: "1", memory: "1Gi" },
            limits: { cpu: "500m", memory: "512Mi" },
          },
        },
      }),
    "consumers.send-worker.gke.resources",
    /cpu request 1 exceeds its limit 500m/,
  ],
  [
    "Cloud Run instance bounds with min above max",
    (s) =>
      void (s.consumers["funnel-push"] = {
        handler: "funnel",
        topic: "funnel",
        delivery: "push",
        cloudRun: { minInstances: 3, maxInstances: 1 },
      }),
    "consumers.funnel-push.cloudRun",
    /instances 3\.\.1/,
  ],
  [
    "a command topic with two consumers",
    (s) =>
      void (
        ((s.topics["shares"] as { command?: boolean }).command = true),
        (s.consumers["send-worker-2"] = pull(s))
      ),
    "topics.shares.command",
    /exactly one consumer, found 2 \(send-worker, send-worker-2\)/,
  ],
  [
    "a subscription retention over 7 days",
    (s) => void (push(s).retention = "8d"),
    "consumers.funnel-push.retention",
    /691200s is outside 600s\.\.604800s/,
  ],
  [
    "a topic retention under 10 minutes",
    (s) => void (s.topics["shares"] = { ...s.topics["shares"]!, retention: "5m" }),
    "topics.shares.retention",
    /300s is outside 600s\.\.2678400s/,
  ],
  [
    "a topic volume with negative events per second",
    (s) =>
      void (s.topics["shares"] = {
        ...s.topics["shares"]!,
        volume: { eventsPerSecond: -1, averageBytes: 500, handlerMs: 10 },
      }),
    "topics.shares.volume.eventsPerSecond",
    /-1 is not a number in 0\.\.10000000/,
  ],
  [
    "a volume's type share for a type the topic does not carry",
    (s) =>
      void (s.topics["funnel"] = {
        ...s.topics["funnel"]!,
        volume: {
          eventsPerSecond: 1,
          averageBytes: 500,
          handlerMs: 10,
          typeShares: { "com.test.share.requested": 0.5 },
        },
      }),
    "topics.funnel.volume.typeShares.com.test.share.requested",
    /the topic carries no type com\.test\.share\.requested/,
  ],
  [
    "type shares adding up to more than 1",
    (s) =>
      void (s.topics["funnel"] = {
        ...s.topics["funnel"]!,
        volume: {
          eventsPerSecond: 1,
          averageBytes: 500,
          handlerMs: 10,
          typeShares: { "com.test.share.completed": 0.7, "com.test.share.failed": 0.6 },
        },
      }),
    "topics.funnel.volume.typeShares",
    /the shares add up to 1\.3/,
  ],
  [
    "a consumer's volume share over 1",
    (s) => void (push(s).volume = { share: 1.5 }),
    "consumers.funnel-push.volume.share",
    /1\.5 is not a number in 0\.\.1/,
  ],
  [
    "a handler's Firestore work per event that is negative",
    (s) =>
      void ((s.handlers as Record<string, object>)["funnel"] = {
        accepts: ["com.test.share.completed"],
        firestorePerEvent: { writes: -2 },
      }),
    "handlers.funnel.firestorePerEvent.writes",
    /-2 is not a number in 0\.\.500/,
  ],
  [
    "a hook sent over plain http to another machine",
    (s) =>
      void (s.hooks = {
        agent: {
          topic: "shares",
          accepts: ["com.test.share.requested"],
          url: "http://agents.example/h",
        },
      }),
    "hooks.agent.url",
    /is neither https nor http to this machine/,
  ],
  [
    "a hook taking a type its topic does not carry",
    (s) =>
      void (s.hooks = {
        agent: {
          topic: "shares",
          accepts: ["com.test.share.completed"],
          url: "https://a.example/h",
        },
      }),
    "hooks.agent.accepts",
    /topic shares does not carry com\.test\.share\.completed/,
  ],
  [
    "a hook answering with an undeclared type",
    (s) =>
      void (s.hooks = {
        agent: {
          topic: "shares",
          accepts: ["com.test.share.requested"],
          emits: ["com.test.share.vanished"],
          url: "https://a.example/h",
        },
      }),
    "hooks.agent.emits",
    /unknown event type com\.test\.share\.vanished/,
  ],
  [
    "a hook named like a consumer",
    (s) =>
      void (s.hooks = {
        "send-worker": {
          topic: "shares",
          accepts: ["com.test.share.requested"],
          url: "https://a.example/h",
        },
      }),
    "hooks.send-worker",
    /is also the name of a consumer/,
  ],
  [
    "a stack override of an unknown hook",
    (s) => void (s.stacks = { dev: { hooks: { ghost: { url: "http://127.0.0.1:8787/" } } } }),
    "stacks.dev.hooks.ghost",
    /no hook named "ghost"/,
  ],
  [
    "a stack override of an unknown consumer",
    (s) => void (s.stacks = { dev: { consumers: { ghost: { ackDeadline: "20s" } } } }),
    "stacks.dev.consumers.ghost",
    /no consumer named "ghost"/,
  ],
];

describe("hooks", () => {
  it("become push consumers of their own name, with a contract that signs, and the stack's address", () => {
    const spec = validSpec();
    spec.hooks = {
      agent: {
        topic: "funnel",
        accepts: ["com.test.invitation.opened"],
        emits: ["com.test.share.requested"],
        url: "https://agents.example/hook",
      },
    };
    spec.stacks = { local: { hooks: { agent: { url: "http://127.0.0.1:8787/agent" } } } };
    const dev = resolveSystem(spec, "dev");
    const hook = dev.consumers.find((c) => c.name === "agent")!;
    expect(hook).toMatchObject({
      delivery: "push",
      handler: "agent",
      topic: "funnel",
      hook: { url: "https://agents.example/hook" },
      deadLetterTopic: "agent-dlq",
      filter: 'attributes.ce-type = "com.test.invitation.opened"',
    });
    expect(dev.handlers["agent"]).toMatchObject({
      accepts: ["com.test.invitation.opened"],
      emits: ["com.test.share.requested"],
      uses: ["hooks"],
    });
    expect(resolveSystem(spec, "local").consumers.find((c) => c.name === "agent")?.hook).toEqual({
      url: "http://127.0.0.1:8787/agent",
    });
  });
});

describe("an invalid declaration is rejected with the field and the fix", () => {
  it("accepts the unbroken test declaration", () => {
    expect(() => resolveSystem(validSpec(), "dev")).not.toThrow();
  });

  it("gives every event type a 1 MB body limit unless it declares its own", () => {
    const spec = validSpec();
    const shares = spec.topics["shares"]!;
    spec.topics["shares"] = {
      ...shares,
      events: {
        ...shares.events,
        "com.test.share.requested": {
          ...shares.events["com.test.share.requested"]!,
          maxBodyBytes: 5_000_000,
        },
      },
    };
    const events = resolveSystem(spec, "dev").topics.flatMap((topic) => topic.events);
    expect(events.find((e) => e.type === "com.test.share.requested")!.maxBodyBytes).toBe(5_000_000);
    expect(
      events.filter((e) => e.type !== "com.test.share.requested").map((e) => e.maxBodyBytes),
    ).toEqual(expect.arrayContaining([1_000_000]));
    expect(
      new Set(
        events.filter((e) => e.type !== "com.test.share.requested").map((e) => e.maxBodyBytes),
      ),
    ).toEqual(new Set([1_000_000]));
  });

  it.each(invalid)("rejects %s", (_name, breakIt, path, problem) => {
    const spec = validSpec();
    breakIt(spec);
    let caught: unknown;
    try {
      resolveSystem(spec, "dev");
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DeclarationError);
    const issues = (caught as DeclarationError).issues;
    const issue = issues.find((i) => i.path === path);
    expect(issue, `no issue at ${path}; got ${JSON.stringify(issues)}`).toBeDefined();
    expect(issue!.problem).toMatch(problem);
    expect(issue!.fix.length).toBeGreaterThan(10);
    expect((caught as Error).message).toContain(`${path}: `);
  });

  it("reports every problem at once, not the first one only", () => {
    const spec = validSpec();
    push(spec).ackDeadline = "5s";
    pull(spec).maxDeliveryAttempts = 200;
    const error = (() => {
      try {
        resolveSystem(spec, "dev");
      } catch (err) {
        return err as DeclarationError;
      }
      throw new Error("expected a DeclarationError");
    })();
    expect(error.issues.map((i) => i.path).sort()).toEqual([
      "consumers.funnel-push.ackDeadline",
      "consumers.send-worker.maxDeliveryAttempts",
    ]);
    expect(error.message).toMatch(/^The system declaration has 2 problems:/);
  });

  it("derives a filter that fits, and refuses one that would not", () => {
    const spec = validSpec();
    const longTypes = Array.from({ length: 5 }, (_, i) => `com.test.share.${"x".repeat(40)}${i}`);
    spec.topics["users"] = {
      schema: marketplace.v1.UsersTopic,
      events: {
        [longTypes[0]!]: { message: marketplace.v1.UserCreated },
        [longTypes[1]!]: { message: marketplace.v1.UserUpdated },
      },
    };
    (spec.handlers as Record<string, object>)["user-watcher"] = { accepts: [longTypes[0]!] };
    spec.consumers["user-watcher"] = { handler: "user-watcher", topic: "users", delivery: "push" };
    expect(
      resolveSystem(spec, "dev").consumers.find((c) => c.name === "user-watcher")?.filter,
    ).toBe(`attributes.ce-type = "${longTypes[0]}"`);

    // Four of the funnel's five types, each ~60 characters: the derived OR-filter is over 256 bytes.
    const funnelTypes = ["completed", "failed", "opened", "clicked", "converted"].map(
      (action) => `com.test.funnel.${action}_${"z".repeat(40)}`,
    );
    const messages = [
      viral.v1.ViralShareCompleted,
      viral.v1.ViralShareFailed,
      viral.v1.InvitationOpened,
      viral.v1.InvitationClicked,
      viral.v1.InvitationConverted,
    ];
    spec.topics["funnel"] = {
      schema: viral.v1.ViralFunnelTopic,
      events: Object.fromEntries(funnelTypes.map((type, i) => [type, { message: messages[i]! }])),
    };
    (spec.handlers as Record<string, object>)["funnel"] = { accepts: funnelTypes.slice(0, 4) };
    expect(() => resolveSystem(spec, "dev")).toThrow(
      /consumers\.funnel-push\.filter: the filter derived from handler funnel's accepts is too long/,
    );
  });
});
