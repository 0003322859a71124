import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  ConfigError,
  configDefaults,
  eventlineConfigKeys,
  loadStackConfig,
} from "../../infra/config";
import { evaluateProgram, stackConfig } from "../../infra/evaluate";

const repoRoot = join(__dirname, "..", "..");

describe("the stack configuration", () => {
  const badValues: [string, Record<string, string | undefined>, string, RegExp][] = [
    ["no project", { "gcp:project": undefined }, "gcp:project", /is not set/],
    [
      "a project id with capitals",
      { "gcp:project": "Eventline_Dev" },
      "gcp:project",
      /is not a GCP project id/,
    ],
    ["no region", { "gcp:region": undefined }, "gcp:region", /is not set/],
    [
      "a region that is a zone",
      { "gcp:region": "europe-west1-b" },
      "gcp:region",
      /is not a GCP region/,
    ],
    ["no owner", { "eventline:owner": undefined }, "eventline:owner", /is not set/],
    [
      "an owner that is not a label value",
      { "eventline:owner": "Platform Team" },
      "eventline:owner",
      /is not a label value/,
    ],
    [
      "an unknown cluster mode",
      { "eventline:cluster": "gke" },
      "eventline:cluster",
      /is not autopilot or existing/,
    ],
    [
      "an existing cluster without kubeconfig",
      { "eventline:cluster": "existing" },
      "eventline:kubeconfig",
      /is not set, and eventline:cluster is existing/,
    ],
    [
      "delete protection that is not a boolean",
      { "eventline:deleteProtection": "yes" },
      "eventline:deleteProtection",
      /is not true or false/,
    ],
    [
      "an alert age that is not a duration",
      { "eventline:oldestUnackedAlert": "10 minutes" },
      "eventline:oldestUnackedAlert",
      /is not a duration/,
    ],
    [
      "an alert age under a minute",
      { "eventline:oldestUnackedAlert": "30s" },
      "eventline:oldestUnackedAlert",
      /is shorter than 60s/,
    ],
    [
      "a gateway switch the program no longer reads (publicness is declared)",
      { "eventline:gatewayPublic": "true" },
      "eventline:gatewayPublic",
      /is not a setting of this program/,
    ],
    [
      "a misspelt email transport",
      { "eventline:emailTransport": "smpt" },
      "eventline:emailTransport",
      /"smpt" is not smtp or outbox/,
    ],
    [
      "an SMTP server that is not an SMTP URL",
      { "eventline:emailTransport": "smtp", "eventline:smtpUrl": "mail.example.com" },
      "eventline:smtpUrl",
      /is not an smtp:\/\/ or smtps:\/\/ URL \(value hidden: it is a secret\)/,
    ],
    [
      "texts over twilio without a sender number",
      {
        "eventline:messagingTransport": "twilio",
        "eventline:messagingAccountSid": "AC1",
        "eventline:smsFrom": "15550001111",
      },
      "eventline:smsFrom",
      /"15550001111" is not an E\.164 number/,
    ],
    [
      "no card base URL, which every invitation links to",
      { "eventline:cardBaseUrl": undefined },
      "eventline:cardBaseUrl",
      /is not set/,
    ],
    [
      "a Firestore database id with capitals",
      { "eventline:stateDatabase": "Events" },
      "eventline:stateDatabase",
      /is not a Firestore database id/,
    ],
    [
      "an event store adopted from the project's (default) database",
      { "eventline:eventStoreDatabase": "(default)" },
      "eventline:eventStoreDatabase",
      /is not a Firestore database id/,
    ],
    [
      "one database for the event store and the state",
      { "eventline:eventStoreDatabase": "eventline", "eventline:stateDatabase": "eventline" },
      "eventline:eventStoreDatabase",
      /the state database too/,
    ],
    [
      "a state database the replay tools write into",
      { "eventline:stateDatabase": "replay" },
      "eventline:stateDatabase",
      /a database the replay tools write into/,
    ],
    [
      "the key the two database keys replaced",
      { "eventline:firestoreDatabase": "eventline" },
      "eventline:firestoreDatabase",
      /was split in two: eventline:stateDatabase .* and eventline:eventStoreDatabase/,
    ],
    [
      "an authorized network that is not a CIDR block",
      { "eventline:clusterAuthorizedNetworks": '["203.0.113.0"]' },
      "eventline:clusterAuthorizedNetworks",
      /"203\.0\.113\.0" is not IPv4 CIDR blocks/,
    ],
    [
      "a DNS endpoint switch that is not a boolean",
      { "eventline:clusterDnsEndpoint": "yes" },
      "eventline:clusterDnsEndpoint",
      /"yes" is not true or false/,
    ],
    [
      "a replica cap of zero",
      { "eventline:maxReplicasCap": "0" },
      "eventline:maxReplicasCap",
      /is not a whole number ≥ 1/,
    ],
    [
      "notification channels that are not a list",
      { "eventline:alertNotificationChannels": "ops" },
      "eventline:alertNotificationChannels",
      /is not a list/,
    ],
    [
      "a notification channel by display name",
      { "eventline:alertNotificationChannels": '["on-call"]' },
      "eventline:alertNotificationChannels",
      /"on-call" is not notification channel names/,
    ],
    [
      "a gateway invoker list, which the program no longer reads (producers are declared)",
      { "eventline:gatewayInvokers": '["group:frontend@example.com"]' },
      "eventline:gatewayInvokers",
      /is not a setting of this program/,
    ],
    [
      "a Firestore location with spaces",
      { "eventline:firestoreLocation": "Europe West" },
      "eventline:firestoreLocation",
      /is not a Firestore location/,
    ],
    [
      "a trace sampling ratio above 1",
      { "eventline:traceSampleRatio": "1.5" },
      "eventline:traceSampleRatio",
      /"1.5" is not a number from 0 to 1/,
    ],
    [
      "a misspelt key",
      { "eventline:gatewayPublik": "true" },
      "eventline:gatewayPublik",
      /is not a setting of this program/,
    ],
  ];

  it.each(badValues)(
    "fails on %s, naming the key and an example",
    async (_case, config, key, problem) => {
      const evaluation = evaluateProgram({ stack: "dev", config });
      await expect(evaluation).rejects.toBeInstanceOf(ConfigError);
      const error = (await evaluation.catch((err: unknown) => err)) as ConfigError;
      const issue = error.issues.find((found) => found.key === key);
      expect(issue, error.message).toBeDefined();
      expect(issue!.problem).toMatch(problem);
      expect(issue!.example).toMatch(/^pulumi config (set|rm)/);
      expect(error.message).toContain(`${key}: `);
      expect(error.message).toContain(`Example: ${issue!.example}`);
    },
  );

  it("reports every problem at once", () => {
    const values = {
      ...stackConfig("dev").values,
      "gcp:project": "X",
      "eventline:owner": "",
      "eventline:maxReplicasCap": "many",
      "eventline:hookSigningSecret": "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    };
    expect(() => loadStackConfig(values)).toThrow(ConfigError);
    try {
      loadStackConfig(values);
    } catch (err) {
      expect((err as ConfigError).issues.map((issue) => issue.key)).toEqual([
        "gcp:project",
        "eventline:owner",
        "eventline:maxReplicasCap",
      ]);
    }
  });

  it("fails a stack whose worker declares more replicas than the cap, naming the worker's field and the config key", async () => {
    await expect(
      evaluateProgram({ stack: "dev", config: { "eventline:maxReplicasCap": "3" } }),
    ).rejects.toThrow(
      /PullWorker email-worker: consumer\.gke\.replicas\.max 5 exceeds eventline:maxReplicasCap 3/,
    );
  });

  it.each(["dev", "prod"])("loads the %s stack file with every default filled in", (stack) => {
    const values = {
      ...stackConfig(stack).values,
      "eventline:smtpUrl": "smtps://u:p@smtp.example.com:465",
      "eventline:messagingAuthToken": "t",
      "eventline:hookSigningSecret": "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    };
    const config = loadStackConfig(values);
    expect(config).toMatchObject({
      project: `eventline-${stack}`,
      region: "europe-west1",
      owner: "platform-team",
      cluster: { mode: "autopilot", authorizedNetworks: [], dnsEndpoint: true },
      databases: { eventStore: "eventline-events", state: "eventline" },
      redirectHosts: [],
    });
    expect(config.deleteProtection).toBe(stack === "prod");
    expect(config.email.transport).toBe(stack === "prod" ? "smtp" : "outbox");
    expect(config.messaging.transport).toBe(stack === "prod" ? "twilio" : "outbox");
  });

  it("requires a secret only where a consumer uses it with the real transport, and says how to set it", async () => {
    const evaluation = evaluateProgram({ stack: "prod", missingSecrets: "fail" });
    const error = (await evaluation.catch((err: unknown) => err)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.issues.map((issue) => [issue.key, issue.example])).toEqual([
      [
        "eventline:smtpUrl",
        "pulumi config set --secret eventline:smtpUrl smtps://user:password@smtp.example.com:465",
      ],
      [
        "eventline:messagingAuthToken",
        "pulumi config set --secret eventline:messagingAuthToken <token>",
      ],
      [
        "eventline:hookSigningSecret",
        'pulumi config set --secret eventline:hookSigningSecret "whsec_$(openssl rand -base64 32)"',
      ],
    ]);
    // dev sends no email or text (outbox), but its hooks sign: that one secret it needs.
    const dev = (await evaluateProgram({ stack: "dev", missingSecrets: "fail" }).catch(
      (err: unknown) => err,
    )) as ConfigError;
    expect(dev.issues.map((issue) => issue.key)).toEqual(["eventline:hookSigningSecret"]);
    await expect(
      evaluateProgram({
        stack: "dev",
        missingSecrets: "fail",
        config: {
          "eventline:hookSigningSecret": "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        },
      }),
    ).resolves.toMatchObject({ placeholderSecrets: [] });
  });

  it("gives offline checks a placeholder for each secret the stack file cannot hold yet, and says which", async () => {
    const evaluation = await evaluateProgram({ stack: "prod" });
    expect(evaluation.placeholderSecrets.sort()).toEqual([
      "eventline:hookSigningSecret",
      "eventline:messagingAuthToken",
      "eventline:smtpUrl",
    ]);
  });

  it("documents every key in Pulumi.yaml with the same defaults config.ts applies", () => {
    const yaml = createRequire(__filename)("js-yaml") as { load(text: string): unknown };
    const project = yaml.load(readFileSync(join(repoRoot, "Pulumi.yaml"), "utf8")) as {
      config: Record<string, { description?: string; default?: unknown; type?: string }>;
    };
    expect(
      Object.keys(project.config)
        .filter((key) => key.startsWith("eventline:"))
        .sort(),
    ).toEqual([...eventlineConfigKeys].sort());
    for (const [key, fallback] of Object.entries(configDefaults))
      expect(project.config[key]?.default, key).toEqual(fallback);
    for (const [key, spec] of Object.entries(project.config))
      expect(spec.description, key).toBeTruthy();
  });
});
