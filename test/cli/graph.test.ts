import { describe, expect, it } from "vitest";
import { toDot, toMermaid } from "../../tools/catalog/diagram";
import { nodeId, topologyOf } from "../../tools/catalog/topology";
import { resolveSystem } from "../../infra/model/resolve";
import { system } from "../../infra/system";
import { runCli } from "./run-cli";

const resolved = resolveSystem(system, "local");
const topology = topologyOf(resolved);

describe("the topology", () => {
  it("has a node per topic and per business consumer, and leaves the archivers out unless asked", () => {
    const kinds = (t: typeof topology, kind: string) =>
      t.nodes.filter((node) => node.kind === kind).length;
    expect(kinds(topology, "topic")).toBe(resolved.topics.length);
    expect(kinds(topology, "consumer")).toBe(resolved.consumers.filter((c) => !c.builtIn).length);
    expect(kinds(topologyOf(resolved, { archivers: true }), "consumer")).toBe(
      resolved.consumers.length,
    );
  });

  it("links each topic to its consumers with their filter, and each consumer to what it emits", () => {
    expect(topology.edges).toContainEqual({
      from: nodeId.topic("viral-shares"),
      to: nodeId.consumer("email-worker"),
      kind: "subscribes",
      label: 'ce-channel = "email"',
    });
    expect(topology.edges).toContainEqual({
      from: nodeId.consumer("notify-user-created"),
      to: nodeId.event("com.skillancer.email.send"),
      kind: "emits",
    });
    expect(topology.edges).toContainEqual({
      from: nodeId.event("com.skillancer.email.send"),
      to: nodeId.topic("send-email"),
      kind: "carries",
    });
  });

  it("draws one producer node per declared producer, and the tracker for the funnel's hits", () => {
    const producers = topology.nodes
      .filter((node) => node.kind === "producer")
      .map((node) => node.label)
      .sort();
    const declared = resolved.producers.map((producer) => producer.name);
    expect(producers).toEqual([...declared, "tracker"].sort());
    // cards-app posts shares through /v1/shares and conversions as events: one node.
    expect(topology.edges.filter((e) => e.from === nodeId.producer("cards-app"))).toHaveLength(2);
  });
});

describe("the diagrams", () => {
  it("writes Mermaid with identifiers Mermaid accepts and every edge", () => {
    const mermaid = toMermaid(topology);
    expect(mermaid.startsWith("flowchart LR\n")).toBe(true);
    expect(mermaid).toContain(
      'topic_viral_shares -->|"ce-channel = #quot;email#quot;"| consumer_email_worker',
    );
    const edgeLines = mermaid.split("\n").filter((line) => /-->|-.->/.test(line));
    expect(edgeLines).toHaveLength(topology.edges.length);
    for (const line of edgeLines)
      expect(line).toMatch(/^ {2}[A-Za-z0-9_]+ (-->|-\.->)(\|"[^"]*"\|)? [A-Za-z0-9_]+$/);
  });

  it("draws a hook as a consumer that POSTs to its agent, a hexagon in both languages", () => {
    const hook = topology.nodes.find((node) => node.id === nodeId.consumer("optimization-agents"));
    expect(hook).toMatchObject({
      kind: "consumer",
      hook: "http://127.0.0.1:8787/optimization-agents",
      detail: "hook · POST http://127.0.0.1:8787/optimization-agents",
    });
    expect(toMermaid(topology)).toContain(
      'consumer_optimization_agents{{"optimization-agents<br/>',
    );
    expect(toDot(topology)).toMatch(/consumer_optimization_agents \[label="[^"]+", shape=hexagon/);
  });

  it("writes DOT with escaped labels and every edge", () => {
    const dot = toDot(topology);
    expect(dot).toMatch(/^digraph eventline \{/);
    expect(dot).toContain(
      'topic_viral_shares -> consumer_email_worker [label="ce-channel = \\"email\\""];',
    );
    expect(dot.split("\n").filter((line) => line.includes(" -> "))).toHaveLength(
      topology.edges.length,
    );
  });
});

describe("eventline graph", () => {
  it("prints Mermaid by default and DOT with --format dot", async () => {
    const [mermaid, dot] = await Promise.all([
      runCli(["graph"]),
      runCli(["graph", "--format", "dot", "--archivers"]),
    ]);
    expect(mermaid).toMatchObject({ code: 0, stdout: expect.stringMatching(/^flowchart LR/) });
    expect(dot).toMatchObject({
      code: 0,
      stdout: expect.stringContaining("consumer_users_archiver"),
    });
  });
});
