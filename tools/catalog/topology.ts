/**
 * The system as a graph, read from the resolved declaration: who produces onto each topic,
 * which consumers subscribe to it (with their filter and delivery), and which events each
 * consumer emits. `eventline graph` renders it as Mermaid or DOT; the dashboard draws it.
 * Events are nodes of their own (topics → consumers → emitted events) so the drawing stays
 * acyclic even where a consumer emits onto the topic it reads (campaign-processor).
 */
import type { ResolvedConsumer, ResolvedSystem } from "../../infra/model/types";

export type NodeKind = "producer" | "topic" | "consumer" | "event";

export interface TopologyNode {
  /** Unique across kinds: `topic:users`, `consumer:email-worker`, `event:com.x.y.z`, `producer:gateway`. */
  id: string;
  kind: NodeKind;
  /** The name a person reads: topic, consumer, event type or producer. */
  label: string;
  /** One line of detail: a consumer's delivery and filter, an event's topic, a topic's encoding. */
  detail: string;
  /** The topic the node belongs to (topics, consumers, events). */
  topic?: string;
  /** Consumers: `push` or `pull`. */
  delivery?: "push" | "pull";
  /** Consumers: the built-in archiver. */
  builtIn?: boolean;
  /** For a hook (a consumer that POSTs to an outside agent): where it sends on the stack. */
  hook?: string;
}

export interface TopologyEdge {
  from: string;
  to: string;
  /** publishes: producer → topic; subscribes: topic → consumer; emits: consumer → event; carries: event → its topic. */
  kind: "publishes" | "subscribes" | "emits" | "carries";
  /** A subscription's filter, or the event types a producer publishes. */
  label?: string;
}

export interface Topology {
  nodes: TopologyNode[];
  edges: TopologyEdge[];
}

export interface TopologyOptions {
  /** Include the built-in `<topic>-archiver` consumers. Default false: one per topic, they add no information. */
  archivers?: boolean;
}

export const nodeId = {
  topic: (name: string) => `topic:${name}`,
  consumer: (name: string) => `consumer:${name}`,
  event: (type: string) => `event:${type}`,
  producer: (name: string) => `producer:${name}`,
};

/** `gateway (ad platforms)` and `gateway /t/open` are one producer: the gateway. */
function producerName(declared: string): string {
  return declared.split(/[\s(]/, 1)[0] || declared;
}

function consumerDetail(consumer: ResolvedConsumer): string {
  if (consumer.hook !== undefined) return `hook · POST ${consumer.hook.url}`;
  const filter =
    consumer.filter === undefined ? "every event" : consumer.filter.replace(/attributes\./g, "");
  return `${consumer.delivery} · ${filter}`;
}

/** The graph of a resolved system. */
export function topologyOf(system: ResolvedSystem, options: TopologyOptions = {}): Topology {
  const nodes: TopologyNode[] = [];
  const edges: TopologyEdge[] = [];
  const topicOfType = new Map(
    system.topics.flatMap((topic) =>
      topic.events.map((event) => [event.type, topic.name] as const),
    ),
  );

  const published = new Map<string, Map<string, string[]>>();
  for (const topic of system.topics) {
    nodes.push({
      id: nodeId.topic(topic.name),
      kind: "topic",
      label: topic.name,
      detail: `${topic.events.length} event type${topic.events.length === 1 ? "" : "s"} · ${topic.encoding}${topic.command ? " · command" : ""}`,
      topic: topic.name,
    });
    for (const event of topic.events) {
      for (const producer of event.producers) {
        const byTopic = published.get(producerName(producer)) ?? new Map<string, string[]>();
        byTopic.set(topic.name, [...(byTopic.get(topic.name) ?? []), event.type]);
        published.set(producerName(producer), byTopic);
      }
    }
  }
  for (const [producer, byTopic] of published) {
    nodes.push({
      id: nodeId.producer(producer),
      kind: "producer",
      label: producer,
      detail: `publishes to ${[...byTopic.keys()].join(", ")}`,
    });
    for (const [topic, types] of byTopic)
      edges.push({
        from: nodeId.producer(producer),
        to: nodeId.topic(topic),
        kind: "publishes",
        label: types.map(shortType).join(", "),
      });
  }

  const emitted = new Set<string>();
  for (const consumer of system.consumers) {
    if (consumer.builtIn && !options.archivers) continue;
    nodes.push({
      id: nodeId.consumer(consumer.name),
      kind: "consumer",
      label: consumer.name,
      detail: consumerDetail(consumer),
      topic: consumer.topic,
      delivery: consumer.delivery,
      builtIn: consumer.builtIn,
      ...(consumer.hook !== undefined && { hook: consumer.hook.url }),
    });
    edges.push({
      from: nodeId.topic(consumer.topic),
      to: nodeId.consumer(consumer.name),
      kind: "subscribes",
      ...(consumer.filter !== undefined && { label: consumer.filter.replace(/attributes\./g, "") }),
    });
    for (const type of consumer.contract.emits) {
      edges.push({ from: nodeId.consumer(consumer.name), to: nodeId.event(type), kind: "emits" });
      emitted.add(type);
    }
  }
  for (const type of emitted) {
    const topic = topicOfType.get(type)!;
    nodes.push({
      id: nodeId.event(type),
      kind: "event",
      label: type,
      detail: `on ${topic}`,
      topic,
    });
    edges.push({ from: nodeId.event(type), to: nodeId.topic(topic), kind: "carries" });
  }
  return { nodes, edges };
}

/** `com.skillancer.user.created` → `user.created`: the part that differs between types of a system. */
export function shortType(type: string): string {
  return type.split(".").slice(-2).join(".");
}
