/* global document, window, fetch */
// The trace view: a waterfall per trace of an event's flow, from /api/traces?id= (npm start's
// span store, tools/local/span-store.ts). Each row is a span, indented under its parent, its
// bar placed by its start and sized by its duration within the trace. Spans the Google clients
// make (Firestore's commits) are shown only when asked for. Text is set with textContent only;
// bars are placed through the CSSOM, which the page's Content-Security-Policy allows.
"use strict";

(function () {
  const RUNTIME_SCOPE = "eventline";

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function ms(value) {
    return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(1)} ms`;
  }

  // What a span says beyond its name, by kind (as `eventline trace` prints it).
  function details(span) {
    const a = span.attributes;
    const parts = [];
    if (span.kind === "consumer") {
      if (a["messaging.gcp_pubsub.message.delivery_attempt"] !== undefined)
        parts.push(`attempt ${a["messaging.gcp_pubsub.message.delivery_attempt"]}`);
      if (a["eventline.outcome"] !== undefined) parts.push(a["eventline.outcome"]);
      if (a["eventline.dead_letter.reason"] !== undefined)
        parts.push(`reason ${a["eventline.dead_letter.reason"]}`);
    }
    if (span.kind === "producer" && a["cloudevents.event_type"] !== undefined)
      parts.push(a["cloudevents.event_type"]);
    if (span.kind === "server" && a["http.response.status_code"] !== undefined)
      parts.push(String(a["http.response.status_code"]));
    if (a["eventline.breaker.state"] !== undefined)
      parts.push(`breaker ${a["eventline.breaker.state"]} → ${a["eventline.breaker.state_after"]}`);
    if (span.status === "error") parts.push(`error: ${span.statusMessage || ""}`);
    return parts.join(" · ");
  }

  // The spans in tree order with their depth; a hidden span's children hang from its parent.
  function ordered(trace, all) {
    const shown = trace.spans.filter((span) => all || span.scope === RUNTIME_SCOPE);
    const byId = new Map(trace.spans.map((span) => [span.spanId, span]));
    const shownIds = new Set(shown.map((span) => span.spanId));
    const children = new Map();
    for (const span of shown) {
      let parent = span.parentSpanId;
      while (parent !== undefined && !shownIds.has(parent)) parent = byId.get(parent)?.parentSpanId;
      const key = parent ?? "";
      if (!children.has(key)) children.set(key, []);
      children.get(key).push(span);
    }
    for (const list of children.values()) list.sort((a, b) => a.startMs - b.startMs);
    const out = [];
    const walk = (span, depth) => {
      out.push({ span, depth });
      for (const child of children.get(span.spanId) || []) walk(child, depth + 1);
    };
    for (const root of children.get("") || []) walk(root, 0);
    return out;
  }

  function waterfall(trace, all, focus) {
    const start = Math.min(...trace.spans.map((s) => s.startMs));
    const end = Math.max(...trace.spans.map((s) => s.startMs + s.durationMs));
    const total = Math.max(end - start, 0.001);
    const errors = trace.spans.filter((s) => s.status === "error").length;
    const box = element("div", "trace");
    box.dataset.traceId = trace.traceId;
    box.appendChild(
      element(
        "h3",
        "",
        `trace ${trace.traceId} · ${ms(total)} · ${trace.spans.length} spans${errors ? ` · ${errors} with errors` : ""}${trace.dropped ? ` · ${trace.dropped} not kept` : ""}`,
      ),
    );
    for (const { span, depth } of ordered(trace, all)) {
      const row = element(
        "div",
        `span-row kind-${span.kind}${span.status === "error" ? " error" : ""}`,
      );
      row.dataset.name = span.name;
      row.dataset.spanId = span.spanId;
      if (focus && span.attributes["cloudevents.event_id"] === focus) row.classList.add("focus");
      const label = element("div", "span-label");
      label.style.paddingLeft = `${depth * 14}px`;
      label.appendChild(element("span", "span-name", span.name));
      const said = details(span);
      if (said) label.appendChild(element("span", "span-details", ` ${said}`));
      label.title = `${span.name}\n${JSON.stringify(span.attributes, null, 2)}`;
      const track = element("div", "span-track");
      const bar = element("div", "span-bar");
      bar.style.left = `${(100 * (span.startMs - start)) / total}%`;
      bar.style.width = `${Math.max((100 * span.durationMs) / total, 0.3)}%`;
      track.appendChild(bar);
      row.appendChild(label);
      row.appendChild(track);
      row.appendChild(
        element("span", "span-time n", `+${ms(span.startMs - start)} · ${ms(span.durationMs)}`),
      );
      box.appendChild(row);
    }
    return box;
  }

  // Shows the flow `id` names (an event id, correlation id or trace id) in `container`.
  async function showTrace(container, id, options) {
    const { all = false, focus } = options || {};
    if (!id) {
      container.textContent = "";
      return;
    }
    const response = await fetch(`/api/traces?id=${encodeURIComponent(id)}`);
    const body = await response.json().catch(() => ({}));
    // Drawn whole, then swapped in: a refresh never shows an empty view in between.
    const drawn = document.createDocumentFragment();
    if (!response.ok)
      drawn.appendChild(element("p", "empty", body.error || `no trace (${response.status})`));
    else for (const trace of body.traces) drawn.appendChild(waterfall(trace, all, focus));
    container.replaceChildren(drawn);
  }

  window.showTrace = showTrace;
})();
