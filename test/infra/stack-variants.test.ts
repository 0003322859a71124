import { beforeAll, describe, expect, it } from "vitest";
import { type Evaluation, evaluateProgram } from "../../infra/evaluate";
import { system } from "../../infra/system";
import { ofType, one, types } from "./resources";

const kubeconfig = "apiVersion: v1\nkind: Config\nclusters: []\n";
const channels = ["projects/eventline-prod/notificationChannels/42"];

describe("a prod stack on an existing cluster, with a gateway declared public and alert channels", () => {
  let evaluation: Evaluation;
  const reason =
    "Partners post events from their own clouds, with no network path into the project.";
  beforeAll(async () => {
    evaluation = await evaluateProgram({
      stack: "prod",
      system: { ...system, services: { ...system.services, gateway: { public: { reason } } } },
      config: {
        "eventline:cluster": "existing",
        "eventline:kubeconfig": kubeconfig,
        "eventline:alertNotificationChannels": JSON.stringify(channels),
      },
    });
  });

  it("opens the declared public services, and only those, to the internet, each with its reason", () => {
    expect(one(evaluation, types.service, "gateway")).toMatchObject({
      ingress: "INGRESS_TRAFFIC_ALL",
      annotations: { "eventline.dev/public-reason": reason },
    });
    const publicGrants = ofType(evaluation, types.serviceIam).filter(
      (grant) => grant.inputs["member"] === "allUsers",
    );
    expect(
      publicGrants.map((grant) => [grant.inputs["name"], grant.inputs["role"]]).sort(),
    ).toEqual([
      ["gateway", "roles/run.invoker"],
      ["tracker", "roles/run.invoker"],
    ]);
    const others = ofType(evaluation, types.service).filter(
      (service) => !["gateway", "tracker"].includes(service.inputs["name"]),
    );
    expect(new Set(others.map((service) => service.inputs["ingress"]))).toEqual(
      new Set(["INGRESS_TRAFFIC_INTERNAL_ONLY"]),
    );
  });

  it("deploys into the existing cluster by its kubeconfig, creating no cluster and no metrics adapter", () => {
    expect(ofType(evaluation, types.cluster)).toEqual([]);
    expect(
      evaluation.resources.filter(
        (resource) => resource.type === "eventline:k8s:CustomMetricsAdapter",
      ),
    ).toEqual([]);
    expect(
      ofType(evaluation, types.k8sProvider).map((provider) => provider.inputs["kubeconfig"]),
    ).toEqual([kubeconfig]);
    expect(ofType(evaluation, types.hpa).length).toBeGreaterThan(0);
  });

  it("sends every alert to the configured notification channels", () => {
    const alerts = ofType(evaluation, types.alert);
    expect(alerts.length).toBeGreaterThan(0);
    for (const alert of alerts) expect(alert.inputs["notificationChannels"]).toEqual(channels);
  });
});

describe("a stack with a custom domain for the tracker", () => {
  it("maps the domain to the tracker and links invitations to it", async () => {
    const evaluation = await evaluateProgram({
      stack: "dev",
      config: { "eventline:trackerDomain": "go.example.com" },
    });
    expect(
      ofType(evaluation, "gcp:cloudrun/domainMapping:DomainMapping").map(
        (mapping) => mapping.inputs,
      ),
    ).toEqual([
      expect.objectContaining({
        name: "go.example.com",
        location: "europe-west1",
        spec: { routeName: "tracker" },
      }),
    ]);
    expect(evaluation.outputs["trackerUrl"]).toBe("https://go.example.com");
    const worker = ofType(evaluation, types.deployment).find(
      (deployment) => deployment.inputs["metadata"]["name"] === "email-worker",
    )!;
    const env = worker.inputs["spec"]["template"]["spec"]["containers"][0]["env"] as {
      name: string;
      value: string;
    }[];
    expect(env).toContainEqual({ name: "EVENTLINE_TRACKER_URL", value: "https://go.example.com" });
  });
});

describe("a stack whose cluster admits authorized networks only, with the DNS endpoint closed to outside traffic", () => {
  it("lists the networks on the control plane and deploys through the IP endpoint with the cluster's CA", async () => {
    const networks = ["203.0.113.0/24", "198.51.100.7/32"];
    const evaluation = await evaluateProgram({
      stack: "dev",
      config: {
        "eventline:clusterAuthorizedNetworks": JSON.stringify(networks),
        "eventline:clusterDnsEndpoint": "false",
      },
    });
    const [cluster] = ofType(evaluation, types.cluster);
    expect(cluster!.inputs["masterAuthorizedNetworksConfig"]).toEqual({
      cidrBlocks: networks.map((cidrBlock) => ({
        cidrBlock,
        displayName: `authorized ${cidrBlock}`,
      })),
      gcpPublicCidrsAccessEnabled: false,
    });
    expect(cluster!.inputs["controlPlaneEndpointsConfig"]).toEqual({
      dnsEndpointConfig: { allowExternalTraffic: false },
    });
    const [provider] = ofType(evaluation, types.k8sProvider);
    const kubeconfig = JSON.parse(provider!.inputs["kubeconfig"] as string) as {
      clusters: { cluster: Record<string, string> }[];
    };
    expect(kubeconfig.clusters[0]!.cluster).toEqual({
      server: "https://203.0.113.10",
      "certificate-authority-data": Buffer.from("mock-ca").toString("base64"),
    });
  });
});
