/**
 * The topology as diagram source: Mermaid (renders in GitHub Markdown) and Graphviz DOT.
 * Both draw the same graph: producers → topics → consumers → emitted events → their topics.
 */
import { shortType, type NodeKind, type Topology, type TopologyNode } from "./topology";

export type DiagramFormat = "mermaid" | "dot";

/** Identifiers both languages accept: letters, digits and underscores. */
function safeId(id: string): string {
  return id.replace(/[^A-Za-z0-9_]/g, "_");
}

/** Double quotes end a label in both languages; Mermaid reads `#quot;` as one. */
function mermaidText(text: string): string {
  return text.replace(/"/g, "#quot;");
}

function dotText(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
}

const mermaidShape: Record<NodeKind, (id: string, text: string) => string> = {
  producer: (id, text) => `${id}[/"${text}"/]`,
  topic: (id, text) => `${id}[("${text}")]`,
  consumer: (id, text) => `${id}["${text}"]`,
  event: (id, text) => `${id}>"${text}"]`,
};

function nodeText(node: TopologyNode): string {
  if (node.kind === "consumer") return `${node.label}<br/><small>${node.detail}</small>`;
  if (node.kind === "event") return shortType(node.label);
  return node.label;
}

/** Mermaid `flowchart LR` source. */
export function toMermaid(topology: Topology): string {
  const lines = ["flowchart LR"];
  for (const node of topology.nodes) {
    const text = mermaidText(nodeText(node));
    // A hook is drawn as a hexagon: an outside agent, reached over HTTP.
    lines.push(
      node.hook !== undefined
        ? `  ${safeId(node.id)}{{"${text}"}}`
        : `  ${mermaidShape[node.kind](safeId(node.id), text)}`,
    );
  }
  for (const edge of topology.edges) {
    const arrow = edge.kind === "carries" ? "-.->" : "-->";
    const label = edge.label === undefined ? "" : `|"${mermaidText(edge.label)}"|`;
    lines.push(`  ${safeId(edge.from)} ${arrow}${label} ${safeId(edge.to)}`);
  }
  lines.push(
    "  classDef topic fill:#e8f0fe,stroke:#1a73e8",
    "  classDef consumer fill:#e6f4ea,stroke:#188038",
    "  classDef event fill:#fef7e0,stroke:#b06000",
    "  classDef hook fill:#fce8e6,stroke:#c5221f",
  );
  for (const kind of ["topic", "consumer", "event"] as const) {
    const ids = topology.nodes
      .filter((node) => node.kind === kind && node.hook === undefined)
      .map((node) => safeId(node.id));
    if (ids.length > 0) lines.push(`  class ${ids.join(",")} ${kind}`);
  }
  const hooks = topology.nodes.filter((node) => node.hook !== undefined).map((n) => safeId(n.id));
  if (hooks.length > 0) lines.push(`  class ${hooks.join(",")} hook`);
  return lines.join("\n") + "\n";
}

const dotShape: Record<NodeKind, string> = {
  producer: 'shape=parallelogram, style=filled, fillcolor="#f1f3f4"',
  topic: 'shape=cylinder, style=filled, fillcolor="#e8f0fe"',
  consumer: 'shape=box, style="rounded,filled", fillcolor="#e6f4ea"',
  event: 'shape=cds, style=filled, fillcolor="#fef7e0"',
};

/** Graphviz DOT source. */
export function toDot(topology: Topology): string {
  const lines = [
    "digraph eventline {",
    "  rankdir=LR;",
    '  node [fontname="Helvetica", fontsize=11];',
    '  edge [fontname="Helvetica", fontsize=9];',
  ];
  for (const node of topology.nodes) {
    const label =
      node.kind === "consumer"
        ? `${dotText(node.label)}\\n${dotText(node.detail)}`
        : dotText(node.kind === "event" ? shortType(node.label) : node.label);
    const shape =
      node.hook !== undefined
        ? 'shape=hexagon, style=filled, fillcolor="#fce8e6"'
        : dotShape[node.kind];
    lines.push(`  ${safeId(node.id)} [label="${label}", ${shape}];`);
  }
  for (const edge of topology.edges) {
    const attributes = [
      edge.label === undefined ? "" : `label="${dotText(edge.label)}"`,
      edge.kind === "carries" ? "style=dashed" : "",
    ].filter(Boolean);
    lines.push(
      `  ${safeId(edge.from)} -> ${safeId(edge.to)}${attributes.length > 0 ? ` [${attributes.join(", ")}]` : ""};`,
    );
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}

/** The diagram in `format`. */
export function renderDiagram(topology: Topology, format: DiagramFormat): string {
  return format === "mermaid" ? toMermaid(topology) : toDot(topology);
}
