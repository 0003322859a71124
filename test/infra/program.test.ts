import * as protobuf from "protobufjs";
import { beforeAll, describe, expect, it } from "vitest";
import { type Evaluation, evaluateProgram, MOCK_PROJECT_NUMBER } from "../../infra/evaluate";
import { REQUIRED_APIS } from "../../infra/gcp/project-apis";
import { TRACKER_EVENT_TYPES } from "../../infra/model/services";
import { eventIndexes } from "../../infra/gcp/event-store";
import { accountId } from "../../infra/gcp/platform";
import { pushVerification, readConfig } from "../../handlers/runtime/config";
import { Settings } from "../../handlers/runtime/settings";
import { DRAIN_TIMEOUT_SECONDS } from "../../infra/model/defaults";
import { pushAudience } from "../../infra/gcp/push-handler";
import { heapCapMb } from "../../infra/model/node-heap";
import { resolveSystem } from "../../infra/model/resolve";
import { declarationOf } from "../../infra/declaration";
import { parseDeclarationRecord } from "../../infra/model/declaration-record";
import type { ResolvedSystem } from "../../infra/model/types";
import { system } from "../../infra/system";
import { validateKubernetesObject } from "./kubernetes-models";
import {
  all,
  envOf,
  grants,
  type Inputs,
  k8sObject,
  one,
  ofType,
  PUBSUB_AGENT,
  secretEnvOf,
  types,
} from "./resources";

const stacks = [
  { stack: "dev", project: "eventline-dev", deleteProtection: false, oldestUnackedSeconds: 1800 },
  { stack: "prod", project: "eventline-prod", deleteProtection: true, oldestUnackedSeconds: 600 },
] as const;

describe.each(stacks)(
  "the $stack stack",
  ({ stack, project, deleteProtection, oldestUnackedSeconds }) => {
    let evaluation: Evaluation;
    const resolved: ResolvedSystem = resolveSystem(system, stack);
    const pushConsumers = resolved.consumers.filter((consumer) => consumer.delivery === "push");
    const pullConsumers = resolved.consumers.flatMap((consumer) =>
      consumer.delivery === "pull" ? [consumer] : [],
    );
    /** Every workload writes its spans to Cloud Trace, on the project, at the stack's ratio. */
    const traceWriting = { type: types.projectIam, role: "roles/cloudtrace.agent", on: project };
    const tracingEnv = {
      EVENTLINE_TRACE_EXPORT: "cloud-trace",
      EVENTLINE_TRACE_SAMPLE_RATIO: "0.1",
    };
    const topicOfType = new Map(
      resolved.topics.flatMap((topic) =>
        topic.events.map((event) => [event.type, topic.name] as const),
      ),
    );
    /** The secrets a consumer reads: in prod (smtp and twilio) those of its capabilities; dev sends to the outbox. */
    // dev records email and texts into Firestore, so only its hooks need a secret.
    const secretsOf = (consumer: ResolvedSystem["consumers"][number]): string[] => [
      ...(consumer.contract.uses.includes("hooks") ? ["eventline-hook-signing-secret"] : []),
      ...(stack === "dev"
        ? []
        : [
            ...(consumer.contract.uses.includes("smtp") ? ["eventline-smtp-url"] : []),
            ...(consumer.contract.uses.includes("messaging")
              ? ["eventline-messaging-auth-token"]
              : []),
          ]),
    ];

    beforeAll(async () => {
      evaluation = await evaluateProgram({ stack });
    });

    it("evaluates into this stack's URNs only, with none left from another stack evaluated in the same process", () => {
      expect(evaluation.resources.length).toBeGreaterThan(500);
      expect(
        evaluation.resources.every((resource) =>
          resource.urn.startsWith(`urn:pulumi:${stack}::eventline::`),
        ),
      ).toBe(true);
    });

    it("gives every declared consumer and archiver a subscription with a retry policy and a dead-letter policy", () => {
      for (const consumer of resolved.consumers) {
        const subscription = one(evaluation, types.subscription, consumer.subscription);
        expect(subscription["retryPolicy"]).toEqual({
          minimumBackoff: `${consumer.retry.minBackoffSeconds}s`,
          maximumBackoff: `${consumer.retry.maxBackoffSeconds}s`,
        });
        expect(subscription["deadLetterPolicy"]).toEqual({
          deadLetterTopic: `projects/${project}/topics/${consumer.deadLetterTopic}`,
          maxDeliveryAttempts: consumer.maxDeliveryAttempts,
        });
        expect(subscription).toMatchObject({
          topic: consumer.topic,
          ackDeadlineSeconds: consumer.ackDeadlineSeconds,
          expirationPolicy: { ttl: "" },
        });
        expect(subscription["enableExactlyOnceDelivery"]).toBe(consumer.exactlyOnce);
        expect(subscription["enableMessageOrdering"]).toBe(consumer.ordering);
        expect(subscription["filter"]).toBe(consumer.filter);
      }
    });

    it("gives every dead-letter topic a parking subscription kept 7 days or more, and both grants the Pub/Sub service agent needs", () => {
      for (const consumer of resolved.consumers) {
        one(evaluation, types.topic, consumer.deadLetterTopic);
        const parking = one(evaluation, types.subscription, consumer.parkingSubscription);
        expect(parking["topic"]).toBe(consumer.deadLetterTopic);
        expect(parseInt(parking["messageRetentionDuration"], 10)).toBeGreaterThanOrEqual(
          7 * 86_400,
        );
        expect(parking["expirationPolicy"]).toEqual({ ttl: "" });
        const agent = grants(evaluation, PUBSUB_AGENT);
        expect(agent).toContainEqual({
          type: types.topicIam,
          role: "roles/pubsub.publisher",
          on: consumer.deadLetterTopic,
        });
        expect(agent).toContainEqual({
          type: types.subscriptionIam,
          role: "roles/pubsub.subscriber",
          on: consumer.subscription,
        });
      }
    });

    it("pushes with an OIDC token from the consumer's own push account, for the audience the service and its runtime check, which only that account may invoke", () => {
      const urls = evaluation.outputs["serviceUrls"] as Record<string, string>;
      expect(Object.keys(urls).sort()).toEqual(
        pushConsumers.map((consumer) => consumer.name).sort(),
      );
      for (const consumer of pushConsumers) {
        const { pushConfig } = one(evaluation, types.subscription, consumer.subscription);
        expect(pushConfig).toEqual({
          pushEndpoint: urls[consumer.name],
          oidcToken: {
            serviceAccountEmail: expect.stringMatching(/^push-.+@.+\.iam\.gserviceaccount\.com$/),
            audience: pushAudience(stack, consumer.name),
          },
        });
        const invokers = ofType(evaluation, types.serviceIam).filter(
          (resource) => resource.inputs["name"] === consumer.name,
        );
        expect(
          invokers.map((resource) => [resource.inputs["role"], resource.inputs["member"]]),
        ).toEqual([
          ["roles/run.invoker", `serviceAccount:${pushConfig.oidcToken.serviceAccountEmail}`],
        ]);
        expect(one(evaluation, types.service, consumer.name)["ingress"]).toBe(
          "INGRESS_TRAFFIC_INTERNAL_ONLY",
        );
      }
      const publicGrants = ofType(evaluation, types.serviceIam).filter((resource) =>
        /^all(Authenticated)?Users$/.test(String(resource.inputs["member"])),
      );
      expect(publicGrants.map((grant) => [grant.inputs["name"], grant.inputs["member"]])).toEqual([
        ["tracker", "allUsers"],
      ]);
    });

    it("gives every container the environment its runtime reads: the runtime's own config reader accepts it", () => {
      for (const consumer of resolved.consumers) {
        const env =
          consumer.delivery === "push"
            ? envOf(
                (one(evaluation, types.service, consumer.name)["template"] as Inputs)[
                  "containers"
                ][0] as Inputs,
              )
            : envOf(
                k8sObject(evaluation, types.deployment, consumer.name)["spec"]["template"]["spec"][
                  "containers"
                ][0] as Inputs,
              );
        const config = readConfig(new Settings(env));
        expect(config).toMatchObject({
          consumer: consumer.name,
          mode: consumer.delivery,
          stack,
          projectId: project,
        });
        if (consumer.delivery !== "push") continue;
        expect(pushVerification(new Settings(env), "push")).toEqual({
          verify: true,
          audience: pushAudience(stack, consumer.name),
          serviceAccountEmail: expect.stringMatching(/^push-.+@/),
        });
        expect(one(evaluation, types.service, consumer.name)["customAudiences"]).toEqual([
          pushAudience(stack, consumer.name),
        ]);
      }
    });

    it("grants each handler identity exactly: publish where its contract emits, its own dead letters, its one Firestore database, and for pull workers its subscription", () => {
      for (const consumer of resolved.consumers) {
        const id = accountId(consumer.delivery === "push" ? "run" : "wrk", consumer.name);
        one(evaluation, types.account, id, "accountId");
        const member = `serviceAccount:${id}@${project}.iam.gserviceaccount.com`;
        const emitted = [...new Set(consumer.contract.emits.map((type) => topicOfType.get(type)!))];
        const expected = [
          ...emitted.map((topic) => ({
            type: types.topicIam,
            role: "roles/pubsub.publisher",
            on: topic,
          })),
          { type: types.topicIam, role: "roles/pubsub.publisher", on: consumer.deadLetterTopic },
          // Archivers append to the event store; every other consumer keeps its state apart.
          {
            type: types.projectIam,
            role: "roles/datastore.user",
            on: consumer.builtIn ? "database:eventline-events" : "database:eventline",
          },
          ...(consumer.delivery === "pull"
            ? [
                {
                  type: types.subscriptionIam,
                  role: "roles/pubsub.subscriber",
                  on: consumer.subscription,
                },
              ]
            : []),
          ...secretsOf(consumer).map((secret) => ({
            type: types.secretIam,
            role: "roles/secretmanager.secretAccessor",
            on: secret,
          })),
          traceWriting,
        ];
        expect(
          grants(evaluation, member).filter(
            (grant) => grant.role !== "roles/iam.workloadIdentityUser",
          ),
        ).toEqual(expect.arrayContaining(expected));
        expect(grants(evaluation, member)).toHaveLength(expected.length);
      }
    });

    it("runs every pull consumer as a Deployment with a PDB and an HPA on its own subscription's backlog, within the declared bounds", () => {
      for (const consumer of pullConsumers) {
        const deployment = k8sObject(evaluation, types.deployment, consumer.name);
        const pdb = k8sObject(evaluation, types.pdb, consumer.name);
        expect(pdb["spec"]["selector"]).toEqual(deployment["spec"]["selector"]);
        const hpa = k8sObject(evaluation, types.hpa, consumer.name)["spec"];
        expect(hpa["scaleTargetRef"]).toEqual({
          apiVersion: "apps/v1",
          kind: "Deployment",
          name: consumer.name,
        });
        expect([hpa["minReplicas"], hpa["maxReplicas"]]).toEqual([
          consumer.gke.replicas.min,
          consumer.gke.replicas.max,
        ]);
        expect(hpa["metrics"]).toEqual([
          {
            type: "External",
            external: {
              metric: {
                name: "pubsub.googleapis.com|subscription|num_undelivered_messages",
                selector: {
                  matchLabels: { "resource.labels.subscription_id": consumer.subscription },
                },
              },
              target: { type: "AverageValue", averageValue: String(consumer.gke.backlogTarget) },
            },
          },
        ]);
      }
    });

    it("scales the email worker between the stack's bounds on a backlog of 1000 per replica", () => {
      const hpa = k8sObject(evaluation, types.hpa, "email-worker")["spec"];
      expect([
        hpa["minReplicas"],
        hpa["maxReplicas"],
        hpa["metrics"][0]["external"]["target"]["averageValue"],
      ]).toEqual(stack === "dev" ? [1, 5, "1000"] : [1, 50, "1000"]);
    });

    it("runs workers hardened, with requests and limits, health probes on 8080 and a grace period longer than the drain", () => {
      for (const consumer of pullConsumers) {
        const pod = k8sObject(evaluation, types.deployment, consumer.name)["spec"]["template"][
          "spec"
        ];
        const [container] = pod["containers"] as Inputs[];
        expect(pod["securityContext"]).toMatchObject({ runAsNonRoot: true });
        expect(container!["securityContext"]).toEqual({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          capabilities: { drop: ["ALL"] },
        });
        expect(container!["resources"]).toEqual(consumer.gke.resources);
        expect(container!["livenessProbe"]["httpGet"]).toEqual({ path: "/healthz", port: 8080 });
        expect(container!["readinessProbe"]["httpGet"]).toEqual({ path: "/readyz", port: 8080 });
        expect(pod["terminationGracePeriodSeconds"]).toBeGreaterThan(DRAIN_TIMEOUT_SECONDS);
        expect(envOf(container!)).toMatchObject({ HANDLER: consumer.name, MODE: "pull" });
        expect(envOf(container!)["NODE_OPTIONS"]).toBe(
          `--enable-source-maps --max-old-space-size=${heapCapMb(consumer.gke.resources.limits.memory)}`,
        );
      }
      expect([heapCapMb("256Mi"), heapCapMb("1Gi")]).toEqual([160, 640]);
    });

    it("generates Kubernetes objects that validate against the Kubernetes OpenAPI schemas", () => {
      const objects = all(evaluation).filter((resource) => resource.type.startsWith("kubernetes:"));
      expect(objects.length).toBeGreaterThan(50);
      for (const object of objects)
        expect(
          () => validateKubernetesObject(object.type, object.inputs),
          `${object.type} ${object.name}`,
        ).not.toThrow();
    });

    it("would have its Kubernetes objects caught by the schemas if malformed: a Deployment without a selector, an HPA with a word for its bound", () => {
      const { spec, ...deployment } = k8sObject(evaluation, types.deployment, "email-worker");
      const { selector: _selector, ...unselected } = spec;
      expect(() =>
        validateKubernetesObject(types.deployment, { ...deployment, spec: unselected }),
      ).toThrow(/selector/);
      const hpa = k8sObject(evaluation, types.hpa, "email-worker");
      expect(() =>
        validateKubernetesObject(types.hpa, {
          ...hpa,
          spec: { ...hpa["spec"], maxReplicas: "fifty" },
        }),
      ).toThrow(/maxReplicas/);
    });

    it("gives every container, on GKE and on Cloud Run, CPU and memory requests or limits", () => {
      for (const deployment of ofType(evaluation, types.deployment)) {
        for (const container of deployment.inputs["spec"].template.spec.containers as Inputs[]) {
          expect(Object.keys(container["resources"]["requests"]).sort(), deployment.name).toEqual([
            "cpu",
            "memory",
          ]);
          expect(Object.keys(container["resources"]["limits"]).sort(), deployment.name).toEqual([
            "cpu",
            "memory",
          ]);
        }
      }
      for (const service of ofType(evaluation, types.service)) {
        for (const container of service.inputs["template"].containers as Inputs[]) {
          expect(Object.keys(container["resources"]["limits"]).sort(), service.name).toEqual([
            "cpu",
            "memory",
          ]);
        }
      }
    });

    it("runs push handlers on Cloud Run with HANDLER and MODE=push, timed out at the ack deadline", () => {
      for (const consumer of pushConsumers) {
        const service = one(evaluation, types.service, consumer.name);
        expect(envOf(service["template"]["containers"][0])).toMatchObject({
          HANDLER: consumer.name,
          MODE: "push",
        });
        expect(service["template"]["timeout"]).toBe(`${consumer.ackDeadlineSeconds}s`);
        expect(service["template"]["scaling"]).toEqual({
          minInstanceCount: consumer.cloudRun.minInstances,
          maxInstanceCount: consumer.cloudRun.maxInstances,
        });
      }
    });

    it("attaches a PROTOCOL_BUFFER schema to every topic, with the declared encoding", () => {
      for (const topic of resolved.topics) {
        const inputs = one(evaluation, types.topic, topic.name);
        expect(inputs["schemaSettings"]).toEqual({
          schema: `projects/${project}/schemas/${topic.name}`,
          encoding: topic.encoding === "json" ? "JSON" : "BINARY",
        });
        expect(inputs["messageRetentionDuration"]).toBe(`${topic.retentionSeconds}s`);
        const schema = one(evaluation, types.schema, topic.name);
        expect(schema["type"]).toBe("PROTOCOL_BUFFER");
        expect(
          protobuf.parse(schema["definition"]).root.lookupType(topic.schemaName),
        ).toBeDefined();
      }
    });

    it("creates the event store, the state database and the replay tools' databases: native Firestore, delete protection as configured, replay indexes on the event store and its payload unindexed, the idempotency TTL on the state", () => {
      const databases = ofType(evaluation, types.database).map((database) => database.inputs);
      expect(databases.map((database) => database["name"]).sort()).toEqual(
        [
          "eventline-events",
          "eventline",
          "replay",
          "backtest-current",
          "backtest-alternative",
          "replay-snapshots",
        ].sort(),
      );
      for (const database of databases)
        expect(database).toMatchObject({
          type: "FIRESTORE_NATIVE",
          locationId: stack === "prod" ? "eur3" : "europe-west1",
          deleteProtectionState: deleteProtection
            ? "DELETE_PROTECTION_ENABLED"
            : "DELETE_PROTECTION_DISABLED",
        });
      const indexes = ofType(evaluation, types.index).map((index) => [
        index.inputs["collection"],
        (index.inputs["fields"] as Inputs[])
          .map((field) => field["fieldPath"])
          .filter((path) => path !== "__name__"),
      ]);
      // Each index ends with __name__ in its last field's direction, as Firestore stores it, so a
      // preview does not plan to replace it (infra/gcp/event-store.ts, indexFields).
      for (const index of ofType(evaluation, types.index)) {
        const fields = index.inputs["fields"] as Inputs[];
        expect(fields.at(-1)).toEqual({ fieldPath: "__name__", order: fields.at(-2)!["order"] });
        expect(fields.filter((field) => field["fieldPath"] === "__name__")).toHaveLength(1);
      }
      expect(
        new Set(ofType(evaluation, types.index).map((index) => index.inputs["database"])),
      ).toEqual(new Set(["eventline-events"]));
      for (const wanted of [
        ["type", "time"],
        ["correlationId", "time"],
        ["source", "time"],
      ])
        expect(indexes).toContainEqual(["events", wanted]);
      expect(indexes).toHaveLength(eventIndexes.length);
      const fields = ofType(evaluation, types.field).map((field) => field.inputs);
      expect(fields).toHaveLength(3);
      expect(fields).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            database: "eventline",
            collection: "processed",
            field: "expireAt",
            ttlConfig: {},
          }),
          // An event's payload and encoding, which no query reads, are not indexed.
          ...["payload", "raw"].map((field) =>
            expect.objectContaining({
              database: "eventline-events",
              collection: "events",
              field,
              indexConfig: {},
            }),
          ),
        ]),
      );
      for (const field of ofType(evaluation, types.field))
        if (field.inputs["database"] === "eventline-events")
          expect(field.inputs["ttlConfig"]).toBeUndefined();
    });

    it("labels every labelable resource with system, env and owner", () => {
      const expected = { system: "eventline", env: stack, owner: "platform-team" };
      const labelled = [types.topic, types.subscription, types.service, types.repository];
      for (const resource of all(evaluation).filter((r) =>
        labelled.includes(r.type as (typeof labelled)[number]),
      )) {
        expect(resource.inputs["labels"], `${resource.type} ${resource.name}`).toMatchObject(
          expected,
        );
      }
      expect(ofType(evaluation, types.cluster)[0]!.inputs["resourceLabels"]).toMatchObject(
        expected,
      );
      for (const resource of all(evaluation).filter((r) => r.type.startsWith("kubernetes:"))) {
        expect(
          resource.inputs["metadata"]["labels"],
          `${resource.type} ${resource.name}`,
        ).toMatchObject(expected);
      }
    });

    it("lets the gateway publish to the topics of what producers post and touch nothing else, internal and invoked by the declared producers only", () => {
      const gateway = one(evaluation, types.service, "gateway");
      expect(gateway["ingress"]).toBe("INGRESS_TRAFFIC_INTERNAL_ONLY");
      const producerEmail = (name: string) =>
        `${accountId("prd", name)}@${project}.iam.gserviceaccount.com`;
      expect(envOf(gateway["template"]["containers"][0])).toEqual({
        MODE: "gateway",
        STACK: stack,
        GOOGLE_CLOUD_PROJECT: project,
        ...tracingEnv,
        EVENTLINE_GATEWAY_AUDIENCE: `eventline://${stack}/gateway`,
        EVENTLINE_PRODUCER_ACCOUNTS: JSON.stringify(
          Object.fromEntries(resolved.producers.map((p) => [p.name, producerEmail(p.name)])),
        ),
      });
      expect(gateway["customAudiences"]).toEqual([`eventline://${stack}/gateway`]);
      expect(evaluation.outputs["producerAccounts"]).toEqual(
        Object.fromEntries(resolved.producers.map((p) => [p.name, producerEmail(p.name)])),
      );
      expect(gateway["template"]["containers"][0]["startupProbe"]["httpGet"]).toEqual({
        path: "/readyz",
        port: 8080,
      });
      const member = `serviceAccount:svc-gateway@${project}.iam.gserviceaccount.com`;
      const posted = resolved.topics.filter((topic) =>
        topic.events.some(
          (event) =>
            event.producers.length > 0 &&
            !(TRACKER_EVENT_TYPES as readonly string[]).includes(event.type),
        ),
      );
      expect(grants(evaluation, member)).toEqual([
        traceWriting,
        ...posted.map((topic) => ({
          type: types.topicIam,
          role: "roles/pubsub.publisher",
          on: topic.name,
        })),
      ]);
      const invokers = ofType(evaluation, types.serviceIam).filter(
        (resource) => resource.inputs["name"] === "gateway",
      );
      expect(
        invokers.map((grant) => [grant.inputs["role"], grant.inputs["member"]]).sort(),
      ).toEqual(
        resolved.producers
          .map((p) => ["roles/run.invoker", `serviceAccount:${producerEmail(p.name)}`])
          .sort(),
      );
    });

    it("runs the tracker public because the declaration says so, publishing to the funnel's topic and nothing else, with its links' settings", () => {
      const tracker = one(evaluation, types.service, "tracker");
      expect(tracker["ingress"]).toBe("INGRESS_TRAFFIC_ALL");
      expect(tracker["annotations"]).toEqual({
        "eventline.dev/public-reason": resolved.services.tracker.publicReason,
      });
      expect(envOf(tracker["template"]["containers"][0])).toEqual({
        MODE: "tracker",
        STACK: stack,
        GOOGLE_CLOUD_PROJECT: project,
        ...tracingEnv,
        EVENTLINE_CARD_BASE_URL: expect.stringMatching(/^https:\/\//),
      });
      const member = `serviceAccount:svc-tracker@${project}.iam.gserviceaccount.com`;
      expect(grants(evaluation, member)).toEqual([
        traceWriting,
        { type: types.topicIam, role: "roles/pubsub.publisher", on: "viral-funnel" },
      ]);
      expect(
        ofType(evaluation, types.serviceIam)
          .filter((resource) => resource.inputs["name"] === "tracker")
          .map((grant) => grant.inputs["member"]),
      ).toEqual(["allUsers"]);
      expect(evaluation.outputs["trackerUrl"]).toBe(
        tracker["uri"] ?? `https://tracker-${MOCK_PROJECT_NUMBER}.europe-west1.run.app`,
      );
    });

    it("keeps each provider credential in Secret Manager, readable only by the consumers that use it, and hands it to each as its platform allows", () => {
      const secrets = ofType(evaluation, types.secret)
        .map((secret) => secret.inputs["secretId"])
        .sort();
      expect(secrets).toEqual(
        stack === "dev"
          ? ["eventline-hook-signing-secret"]
          : [
              "eventline-hook-signing-secret",
              "eventline-messaging-auth-token",
              "eventline-smtp-url",
            ],
      );
      for (const version of ofType(evaluation, types.secretVersion))
        expect(version.inputs["secretData"]).toBe(
          version.inputs["secret"].includes("smtp")
            ? "smtps://user:password@smtp.example.com:465"
            : version.inputs["secret"].includes("hook")
              ? "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
              : "0123456789abcdef0123456789abcdef",
        );
      for (const secretId of secrets) {
        const readers = ofType(evaluation, types.secretIam).filter(
          (grant) => grant.inputs["secretId"] === secretId,
        );
        const users = resolved.consumers.filter((consumer) =>
          secretsOf(consumer).includes(secretId),
        );
        expect(
          readers.every((grant) => grant.inputs["role"] === "roles/secretmanager.secretAccessor"),
        ).toBe(true);
        // One grant per push consumer's account; a pull worker's Google account and its pods' own identity.
        expect(readers).toHaveLength(
          users.reduce((count, consumer) => count + (consumer.delivery === "push" ? 1 : 2), 0),
        );
      }
      for (const consumer of resolved.consumers.filter((c) => secretsOf(c).length > 0)) {
        if (consumer.delivery === "push") {
          const container = one(evaluation, types.service, consumer.name)["template"][
            "containers"
          ][0];
          expect(Object.keys(secretEnvOf(container)).sort(), consumer.name).toEqual(
            consumer.contract.uses.includes("smtp")
              ? ["EVENTLINE_SMTP_URL"]
              : consumer.contract.uses.includes("hooks")
                ? ["EVENTLINE_HOOK_SIGNING_SECRET"]
                : ["EVENTLINE_MESSAGING_AUTH_TOKEN"],
          );
          for (const ref of Object.values(secretEnvOf(container))) expect(ref.version).toBe("1");
        } else {
          const pod = k8sObject(evaluation, types.deployment, consumer.name)["spec"]["template"][
            "spec"
          ];
          expect(envOf(pod["containers"][0])).toMatchObject({
            EVENTLINE_SMTP_URL_FILE: "/etc/eventline/secrets/eventline-smtp-url",
          });
          expect(pod["volumes"]).toContainEqual({
            name: "secrets",
            csi: {
              driver: "secrets-store-gke.csi.k8s.io",
              readOnly: true,
              volumeAttributes: { secretProviderClass: `${consumer.name}-secrets` },
            },
          });
          const providerClass = k8sObject(
            evaluation,
            types.secretProviderClass,
            `${consumer.name}-secrets`,
          );
          expect(providerClass["spec"]["parameters"]["secrets"]).toBe(
            `- resourceName: "projects/${MOCK_PROJECT_NUMBER}/secrets/eventline-smtp-url/versions/1"\n  path: "eventline-smtp-url"`,
          );
        }
      }
      expect(ofType(evaluation, types.secretProviderClass)).toHaveLength(
        stack === "dev"
          ? 0
          : resolved.consumers.filter((c) => c.delivery === "pull" && secretsOf(c).length > 0)
              .length,
      );
    });

    it("points every invitation's links at the tracker's URL", () => {
      for (const consumer of resolved.consumers.filter((c) =>
        c.contract.uses.includes("tracking-links"),
      )) {
        const env =
          consumer.delivery === "push"
            ? envOf(one(evaluation, types.service, consumer.name)["template"]["containers"][0])
            : envOf(
                k8sObject(evaluation, types.deployment, consumer.name)["spec"]["template"]["spec"][
                  "containers"
                ][0],
              );
        expect(env["EVENTLINE_TRACKER_URL"], consumer.name).toBe(evaluation.outputs["trackerUrl"]);
      }
    });

    it("enables every API it calls, and makes every other Google resource wait for them", () => {
      const apis = ofType(evaluation, types.projectService);
      expect(apis.map((api) => api.inputs["service"]).sort()).toEqual([...REQUIRED_APIS].sort());
      for (const api of apis)
        expect(api.inputs).toMatchObject({ project, disableOnDestroy: false });
      const apiUrns = new Set(apis.map((api) => api.urn));
      const google = all(evaluation).filter(
        (resource) => resource.type.startsWith("gcp:") && resource.type !== types.projectService,
      );
      expect(google.length).toBeGreaterThan(300);
      for (const resource of google)
        expect(
          resource.dependencies.some((urn) => apiUrns.has(urn)),
          `${resource.type} ${resource.name}`,
        ).toBe(true);
    });

    it("alerts on any parked dead letter and on the stack's oldest-unacked age for every consumer, with one dashboard", () => {
      const alerts = ofType(evaluation, types.alert).map(
        (alert) => alert.inputs["conditions"][0]["conditionThreshold"],
      );
      for (const consumer of resolved.consumers) {
        expect(alerts).toContainEqual(
          expect.objectContaining({
            filter: expect.stringContaining(`subscription_id = "${consumer.parkingSubscription}"`),
            comparison: "COMPARISON_GT",
            thresholdValue: 0,
          }),
        );
        expect(alerts).toContainEqual(
          expect.objectContaining({
            filter: expect.stringMatching(
              new RegExp(
                `subscription_id = "${consumer.subscription}".*oldest_unacked_message_age`,
              ),
            ),
            thresholdValue: oldestUnackedSeconds,
          }),
        );
      }
      expect(alerts).toHaveLength(2 * resolved.consumers.length);
      const dashboard = JSON.parse(
        ofType(evaluation, types.dashboard)[0]!.inputs["dashboardJson"],
      ) as Inputs;
      const filters = (dashboard["mosaicLayout"]["tiles"] as Inputs[]).map(
        (tile) => tile["widget"]["xyChart"]["dataSets"][0]["timeSeriesQuery"]["timeSeriesFilter"],
      );
      for (const metric of [
        "num_undelivered_messages",
        "ack_message_count",
        "dead_letter_message_count",
      ]) {
        expect(
          filters.some(
            (filter) =>
              filter.filter.includes(`subscription/${metric}`) &&
              filter.aggregation.groupByFields.includes("resource.label.subscription_id"),
          ),
        ).toBe(true);
      }
    });

    it("deploys one content-tagged image, by digest, to every service and pod", () => {
      const [image] = ofType(evaluation, types.image);
      const tag = image!.inputs["tags"][0] as string;
      expect(tag).toMatch(
        new RegExp(`^europe-west1-docker\\.pkg\\.dev/${project}/eventline/handlers:[0-9a-f]{16}$`),
      );
      const images = [
        ...ofType(evaluation, types.service).map(
          (service) => service.inputs["template"].containers[0].image,
        ),
        ...pullConsumers.map(
          (consumer) =>
            k8sObject(evaluation, types.deployment, consumer.name)["spec"]["template"]["spec"][
              "containers"
            ][0]["image"],
        ),
      ];
      expect(new Set(images)).toEqual(
        new Set([
          expect.stringMatching(new RegExp(`^${tag.replace(/\./g, "\\.")}@sha256:[0-9a-f]{64}$`)),
        ]),
      );
    });

    it("creates a private Autopilot cluster, reached through authorized networks or the IAM-checked DNS endpoint, whose nodes run as their own least-privilege account", () => {
      const nodes = `gke-nodes@${project}.iam.gserviceaccount.com`;
      expect(ofType(evaluation, types.cluster).map((cluster) => cluster.inputs)).toEqual([
        expect.objectContaining({
          enableAutopilot: true,
          deletionProtection: deleteProtection,
          network: "default",
          privateClusterConfig: { enablePrivateNodes: true, enablePrivateEndpoint: false },
          // Neither stack names an authorized network: only the VPC reaches the IP endpoint.
          masterAuthorizedNetworksConfig: { cidrBlocks: [], gcpPublicCidrsAccessEnabled: false },
          controlPlaneEndpointsConfig: { dnsEndpointConfig: { allowExternalTraffic: true } },
          workloadIdentityConfig: { workloadPool: `${project}.svc.id.goog` },
          clusterAutoscaling: {
            autoProvisioningDefaults: {
              serviceAccount: nodes,
              oauthScopes: ["https://www.googleapis.com/auth/cloud-platform"],
            },
          },
        }),
      ]);
      expect(grants(evaluation, `serviceAccount:${nodes}`)).toEqual([
        {
          type: types.projectIam,
          role: "roles/container.defaultNodeServiceAccount",
          on: project,
        },
        { type: types.repositoryIam, role: "roles/artifactregistry.reader", on: "eventline" },
      ]);
      // No grant to the Compute Engine default account, which has Editor on the project.
      expect(JSON.stringify(all(evaluation).map((r) => r.inputs))).not.toContain(
        "-compute@developer.gserviceaccount.com",
      );
      // The private nodes' one way out, for the senders' SMTP and messaging provider.
      expect(ofType(evaluation, types.router).map((router) => router.inputs)).toEqual([
        expect.objectContaining({ network: "default", region: "europe-west1" }),
      ]);
      expect(ofType(evaluation, types.nat).map((nat) => nat.inputs)).toEqual([
        expect.objectContaining({
          router: `eventline-${stack}-nat`,
          sourceSubnetworkIpRangesToNat: "ALL_SUBNETWORKS_ALL_IP_RANGES",
        }),
      ]);
      // The program deploys through the DNS endpoint, whose certificate is publicly trusted.
      const kubeconfig = JSON.parse(
        ofType(evaluation, types.k8sProvider)[0]!.inputs["kubeconfig"] as string,
      ) as Inputs;
      expect(kubeconfig["clusters"][0]["cluster"]).toEqual({
        server: expect.stringMatching(/^https:\/\/gke-[0-9a-f]+\.europe-west1\.gke\.goog$/),
      });
      expect(
        ofType(evaluation, types.apiService).map((api) => api.inputs["metadata"]["name"]),
      ).toContain("v1beta1.external.metrics.k8s.io");
    });

    it("outputs the topic names, the push services' URLs, the gateway and tracker URLs and the dashboard URL", () => {
      expect(evaluation.outputs["topics"]).toEqual(resolved.topics.map((topic) => topic.name));
      expect(evaluation.outputs["gatewayUrl"]).toMatch(/^https:\/\/gateway-.+\.run\.app$/);
      expect(evaluation.outputs["trackerUrl"]).toMatch(/^https:\/\/tracker-.+\.run\.app$/);
      expect(evaluation.outputs["dashboardUrl"]).toMatch(
        new RegExp(
          `^https://console\\.cloud\\.google\\.com/monitoring/dashboards/builder/.+\\?project=${project}$`,
        ),
      );
    });

    it("outputs the declaration it deploys, which eventline plan reads back as the deployed one", () => {
      const output = evaluation.outputs["declaration"];
      expect(output).toEqual(declarationOf(resolved));
      // What `pulumi stack output declaration --json` prints parses as a deployed declaration.
      expect(parseDeclarationRecord(JSON.stringify(output), "output")).toEqual(output);
      // Every subscription the program creates is in it, under its Pub/Sub name.
      const names = ofType(evaluation, types.subscription).map((s) => s.inputs["name"]);
      for (const subscription of declarationOf(resolved).subscriptions) {
        expect(names).toContain(subscription.name);
        expect(names).toContain(subscription.parkingSubscription);
      }
    });
  },
);
