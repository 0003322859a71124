/**
 * The pack against the real program and the real policy server. The program is evaluated for each stack in-process
 * (infra/evaluate.ts) and must pass every mandatory rule. And policies/index.ts is started as the Pulumi CLI starts
 * it (its policy server prints its port), then driven over gRPC the way the CLI drives it during a preview
 * (Configure, Analyze per resource, AnalyzeStack): its diagnostics must equal the offline engine's, for what the
 * program declares for prod and for a few resources written to hit the engine's edge cases (unknown values, levels,
 * stack-wide reports).
 *
 * Uses @grpc/grpc-js and google-protobuf, which come with @pulumi/pulumi and @pulumi/policy.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as proto from "@pulumi/pulumi/proto/analyzer_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluateProgram } from "../../infra/evaluate";
import {
  readPackConfig,
  resolveSettings,
  stackConfigFile,
  type PolicySettings,
} from "../../policies/config";
import { analyze, type DeclaredResource, type Violation } from "../../policies/engine";
import { declaredResources, packIdentity } from "../../policies/offline";
import { packEnforcementLevel, policies } from "../../policies/pack";
import { declared } from "./harness";
import { deployment, pushSubscription } from "./resources";

const root = join(__dirname, "..", "..");
const unknownString = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const edgeCases: DeclaredResource[] = [
  declared({
    type: "gcp:pubsub/subscription:Subscription",
    name: "orders-worker",
    inputs: { ...pushSubscription, deadLetterPolicy: undefined, labels: { system: "eventline" } },
  }),
  declared(
    {
      type: "gcp:pubsub/subscription:Subscription",
      name: "unknown-policy",
      inputs: { ...pushSubscription, deadLetterPolicy: unknownString },
    },
    1,
  ),
  declared(
    {
      type: "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
      name: "public",
      inputs: { name: "orders-api", role: "roles/run.invoker", member: "allUsers" },
    },
    2,
  ),
  declared(
    {
      type: "kubernetes:apps/v1:Deployment",
      name: "orders-worker",
      inputs: { ...deployment, metadata: { ...deployment.metadata, namespace: "default" } },
    },
    3,
  ),
  declared(
    {
      type: "gcp:firestore/database:Database",
      name: "event-store",
      inputs: { name: "(default)", locationId: "eur3", type: "FIRESTORE_NATIVE" },
    },
    4,
  ),
].map((resource) => ({
  ...resource,
  inputs: JSON.parse(JSON.stringify(resource.inputs)) as Record<string, unknown>,
}));

const levels: Record<string, proto.EnforcementLevel> = {
  advisory: proto.EnforcementLevel.ADVISORY,
  mandatory: proto.EnforcementLevel.MANDATORY,
  disabled: proto.EnforcementLevel.DISABLED,
  remediate: proto.EnforcementLevel.REMEDIATE,
};

let server: ChildProcess;
let client: AnalyzerClient;

/** Starts the pack as the CLI does, in its directory, and connects to the port it prints. */
beforeAll(async () => {
  server = spawn(join(root, "node_modules", ".bin", "tsx"), ["index.ts"], {
    cwd: join(root, "policies"),
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<string>((resolve, reject) => {
    server.stdout?.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
    server.once("exit", (code) => reject(new Error(`the policy pack exited with ${code}`)));
  });
  client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}, 30_000);

afterAll(() => {
  client?.close();
  server?.kill();
});

const call = <Req, Res>(
  method: (req: Req, callback: (err: grpc.ServiceError | null, res: Res) => void) => unknown,
  req: Req,
): Promise<Res> =>
  new Promise((resolve, reject) =>
    method.call(client, req, (err, res) => (err ? reject(err) : resolve(res))),
  );

async function configure(settings: Map<string, PolicySettings>): Promise<void> {
  const req = new proto.ConfigureAnalyzerRequest();
  for (const [name, { enforcementLevel, properties }] of settings) {
    const config = new proto.PolicyConfig();
    config.setEnforcementlevel(levels[enforcementLevel] ?? proto.EnforcementLevel.ADVISORY);
    config.setProperties(Struct.fromJavaScript(properties as never));
    req.getPolicyconfigMap().set(name, config);
  }
  await call(client.configure, req);
}

/** What the server reports, as "level policy urn: message" lines; a resource diagnostic without a urn is its resource's. */
async function serverDiagnostics(resources: DeclaredResource[]): Promise<string[]> {
  const lines: string[] = [];
  const collect = (response: proto.AnalyzeResponse, subject?: string): void => {
    for (const d of response.getDiagnosticsList()) {
      const level =
        d.getEnforcementlevel() === proto.EnforcementLevel.ADVISORY ? "advisory" : "mandatory";
      lines.push(
        `${level} ${d.getPolicyname()} ${d.getUrn() || subject || "(stack)"}: ${d.getMessage()}`,
      );
    }
  };
  const options = (resource: DeclaredResource): proto.AnalyzerResourceOptions => {
    const opts = new proto.AnalyzerResourceOptions();
    if (resource.parent !== undefined) opts.setParent(resource.parent);
    return opts;
  };
  const analyses = resources.map(async (resource) => {
    const req = new proto.AnalyzeRequest();
    req.setType(resource.type);
    req.setName(resource.name);
    req.setUrn(resource.urn);
    req.setProperties(Struct.fromJavaScript(resource.inputs as never));
    req.setOptions(options(resource));
    collect(await call(client.analyze, req), resource.urn);
  });
  await Promise.all(analyses);
  const stack = new proto.AnalyzeStackRequest();
  stack.setResourcesList(
    resources.map((resource) => {
      const r = new proto.AnalyzerResource();
      r.setType(resource.type);
      r.setName(resource.name);
      r.setUrn(resource.urn);
      r.setProperties(Struct.fromJavaScript(resource.inputs as never));
      r.setOptions(options(resource));
      if (resource.parent !== undefined) r.setParent(resource.parent);
      return r;
    }),
  );
  collect(await call(client.analyzeStack, stack));
  return lines.sort();
}

const offlineLines = (violations: Violation[]): string[] =>
  violations
    .map((v) => `${v.enforcementLevel} ${v.policyName} ${v.urn ?? "(stack)"}: ${v.message}`)
    .sort();

interface Checked {
  resources: DeclaredResource[];
  settings: Map<string, PolicySettings>;
  violations: Violation[];
}

/** Each stack's program, evaluated and checked offline once for all the tests that need it. */
const checked = new Map<string, Promise<Checked>>();
function programOf(stack: string): Promise<Checked> {
  let found = checked.get(stack);
  if (found === undefined) {
    found = (async () => {
      const resources = declaredResources(await evaluateProgram({ stack }));
      const settings = resolveSettings(
        policies,
        readPackConfig(stackConfigFile(stack)),
        packEnforcementLevel,
      );
      return {
        resources,
        settings,
        violations: await analyze(packIdentity(), policies, settings, resources),
      };
    })();
    checked.set(stack, found);
  }
  return found;
}

describe("the real program", () => {
  it.each(["dev", "prod"])(
    "passes every mandatory rule for %s",
    async (stack) => {
      const { resources, violations } = await programOf(stack);
      const names = new Map(
        resources.map((resource) => [resource.urn, `${resource.type} ${resource.name}`]),
      );
      const mandatory = violations
        .filter((v) => v.enforcementLevel === "mandatory")
        .map((v) => `${v.policyName} on ${names.get(v.urn ?? "") ?? "the stack"}: ${v.detail}`);
      expect(resources.length).toBeGreaterThan(100);
      expect(mandatory).toEqual([]);
    },
    60_000,
  );
});

describe("the offline engine reports what the pack's policy server reports to the Pulumi CLI", () => {
  it.each(["dev", "prod"])("for the edge cases under the %s config", async (stack) => {
    const settings = resolveSettings(
      policies,
      readPackConfig(stackConfigFile(stack)),
      packEnforcementLevel,
    );
    const offline = offlineLines(await analyze(packIdentity(), policies, settings, edgeCases));
    await configure(settings);
    expect(
      offline.some(
        (line) =>
          line.startsWith("advisory pubsub-subscription-dead-letter") && line.includes("can't run"),
      ),
    ).toBe(true);
    expect(offline.some((line) => line.startsWith("advisory labels-required"))).toBe(true);
    expect(await serverDiagnostics(edgeCases)).toEqual(offline);
  });

  // prod's config is the stricter one; the edge cases above cover both configs.
  it("for the program's prod stack", async () => {
    const { resources, settings, violations } = await programOf("prod");
    await configure(settings);
    expect(await serverDiagnostics(resources)).toEqual(offlineLines(violations));
  }, 60_000);
});
