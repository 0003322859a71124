/* global document, window, setTimeout */
// Draws the topology (GET /api/topology) as inline SVG: four columns, producers → topics →
// consumers → emitted events. Consumers are placed in topic order; every other node sits at
// the mean height of its neighbours, pushed apart where they would overlap. No library, no CDN.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const COLUMNS = {
  producer: { x: 0, w: 130 },
  topic: { x: 180, w: 150 },
  consumer: { x: 400, w: 250 },
  event: { x: 730, w: 220 },
};
const ROW = 40;
const HEIGHT = 32;

function svgElement(name, attributes, parent) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (parent) parent.appendChild(element);
  return element;
}

function mean(values, fallback) {
  return values.length === 0 ? fallback : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Sorts nodes by their wanted y and moves each down just enough to clear the one above. */
function spread(nodes, wanted) {
  let next = 0;
  for (const node of [...nodes].sort((a, b) => wanted.get(a.id) - wanted.get(b.id))) {
    node.y = Math.max(wanted.get(node.id), next);
    next = node.y + ROW;
  }
}

function layout(topology) {
  const byKind = (kind) => topology.nodes.filter((node) => node.kind === kind);
  const topics = byKind("topic");
  const topicIndex = new Map(topics.map((t, i) => [t.id, i]));
  const consumers = byKind("consumer").sort(
    (a, b) => topicIndex.get(`topic:${a.topic}`) - topicIndex.get(`topic:${b.topic}`),
  );
  consumers.forEach((node, i) => (node.y = i * ROW));
  const y = new Map(consumers.map((node) => [node.id, node.y]));
  const neighbours = (id, direction) =>
    topology.edges
      .filter((e) => (direction === "out" ? e.from === id : e.to === id))
      .map((e) => (direction === "out" ? e.to : e.from));

  const topicWanted = new Map(
    topics.map((t, i) => [
      t.id,
      mean(
        neighbours(t.id, "out")
          .filter((n) => y.has(n))
          .map((n) => y.get(n)),
        i * ROW,
      ),
    ]),
  );
  spread(topics, topicWanted);
  topics.forEach((t) => y.set(t.id, t.y));
  const producers = byKind("producer");
  spread(
    producers,
    new Map(
      producers.map((p) => [
        p.id,
        mean(
          neighbours(p.id, "out").map((n) => y.get(n) ?? 0),
          0,
        ),
      ]),
    ),
  );
  const events = byKind("event");
  spread(
    events,
    new Map(
      events.map((e) => [
        e.id,
        mean(
          neighbours(e.id, "in").map((n) => y.get(n) ?? 0),
          0,
        ),
      ]),
    ),
  );
  return topology.nodes;
}

/** Renders into `container`; returns a function that flashes a node by id. */
function drawTopology(container, topology) {
  const nodes = layout(topology);
  const hosted = new Set(topology.hosted);
  const height = Math.max(...nodes.map((n) => n.y)) + HEIGHT + 10;
  const width = COLUMNS.event.x + COLUMNS.event.w + 10;
  container.textContent = "";
  const svg = svgElement(
    "svg",
    { width, height, viewBox: `0 0 ${width} ${height}`, "data-nodes": nodes.length },
    container,
  );
  const position = new Map(nodes.map((n) => [n.id, n]));
  const edges = svgElement("g", {}, svg);
  for (const edge of topology.edges) {
    if (edge.kind === "carries") continue;
    const from = position.get(edge.from);
    const to = position.get(edge.to);
    if (!from || !to) continue;
    const x1 = COLUMNS[from.kind].x + COLUMNS[from.kind].w;
    const x2 = COLUMNS[to.kind].x;
    const y1 = from.y + HEIGHT / 2 + 5;
    const y2 = to.y + HEIGHT / 2 + 5;
    const bend = (x2 - x1) / 2;
    const path = svgElement(
      "path",
      {
        class: `edge ${edge.kind}`,
        d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`,
      },
      edges,
    );
    if (edge.label) svgElement("title", {}, path).textContent = edge.label;
  }
  const flashes = new Map();
  for (const node of nodes) {
    const idle = node.kind === "consumer" && !hosted.has(node.label);
    const group = svgElement(
      "g",
      {
        class: `node ${node.kind}${idle ? " idle" : ""}`,
        "data-id": node.id,
        transform: `translate(${COLUMNS[node.kind].x},${node.y + 5})`,
      },
      svg,
    );
    svgElement("rect", { width: COLUMNS[node.kind].w, height: HEIGHT }, group);
    const label = node.kind === "event" ? node.label.split(".").slice(-2).join(".") : node.label;
    svgElement(
      "text",
      { x: 8, y: node.kind === "consumer" || node.kind === "event" ? 13 : 20 },
      group,
    ).textContent = label;
    if (node.kind === "consumer" || node.kind === "event") {
      const detail =
        node.kind === "event" ? node.detail : `${node.detail}${idle ? " · not implemented" : ""}`;
      svgElement("text", { x: 8, y: 26, class: "detail" }, group).textContent =
        detail.length > 44 ? `${detail.slice(0, 43)}…` : detail;
    }
    svgElement("title", {}, group).textContent = `${node.label}\n${node.detail}`;
    flashes.set(node.id, group);
  }
  return (id) => {
    const group = flashes.get(id);
    if (!group) return;
    group.classList.add("flash");
    setTimeout(() => group.classList.remove("flash"), 600);
  };
}

window.drawTopology = drawTopology;
