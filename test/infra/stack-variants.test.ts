import { beforeAll, describe, expect, it } from "vitest";
import { type Evaluation, evaluateProgram } from "../../infra/evaluate";
import { ofType, one, types } from "./resources";

const kubeconfig = "apiVersion: v1\nkind: Config\nclusters: []\n";
const channels = ["projects/eventline-prod/notificationChannels/42"];
const invokers = ["group:frontend@example.com", "serviceAccount:edge@eventline-dev.iam.gserviceaccount.com"];

describe("a prod stack on an existing cluster, with a public gateway and alert channels", () => {
  let evaluation: Evaluation;
  beforeAll(async () => {
    evaluation = await evaluateProgram({
      stack: "prod",
      config: {
        "eventline:cluster": "existing",
        "eventline:kubeconfig": kubeconfig,
        "eventline:gatewayPublic": "true",
        "eventline:alertNotificationChannels": JSON.stringify(channels),
      },
    });
  });

  it("opens the gateway, and only the gateway, to the internet", () => {
    expect(one(evaluation, types.service, "gateway")["ingress"]).toBe("INGRESS_TRAFFIC_ALL");
    const publicGrants = ofType(evaluation, types.serviceIam).filter((grant) => grant.inputs["member"] === "allUsers");
    expect(publicGrants.map((grant) => [grant.inputs["name"], grant.inputs["role"]])).toEqual([["gateway", "roles/run.invoker"]]);
    const others = ofType(evaluation, types.service).filter((service) => service.inputs["name"] !== "gateway");
    expect(new Set(others.map((service) => service.inputs["ingress"]))).toEqual(new Set(["INGRESS_TRAFFIC_INTERNAL_ONLY"]));
  });

  it("deploys into the existing cluster by its kubeconfig, creating no cluster and no metrics adapter", () => {
    expect(ofType(evaluation, types.cluster)).toEqual([]);
    expect(evaluation.resources.filter((resource) => resource.type === "eventline:k8s:CustomMetricsAdapter")).toEqual([]);
    expect(ofType(evaluation, types.k8sProvider).map((provider) => provider.inputs["kubeconfig"])).toEqual([kubeconfig]);
    expect(ofType(evaluation, types.hpa).length).toBeGreaterThan(0);
  });

  it("sends every alert to the configured notification channels", () => {
    const alerts = ofType(evaluation, types.alert);
    expect(alerts.length).toBeGreaterThan(0);
    for (const alert of alerts) expect(alert.inputs["notificationChannels"]).toEqual(channels);
  });
});

describe("a dev stack with gateway invokers", () => {
  it("lets the configured members, and no one else, invoke the internal gateway", async () => {
    const evaluation = await evaluateProgram({ stack: "dev", config: { "eventline:gatewayInvokers": JSON.stringify(invokers) } });
    const grants = ofType(evaluation, types.serviceIam).filter((grant) => grant.inputs["name"] === "gateway");
    expect(grants.map((grant) => grant.inputs["member"]).sort()).toEqual([...invokers].sort());
    expect(one(evaluation, types.service, "gateway")["ingress"]).toBe("INGRESS_TRAFFIC_INTERNAL_ONLY");
  });
});
