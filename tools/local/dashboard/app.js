/* global document, window, fetch, EventSource, setTimeout */
// The dashboard's data: the topology once, the live feed over Server-Sent Events, and the
// counters, dead letters and funnel by polling. Text from events is set with textContent only.
"use strict";

const MAX_EVENTS = 300;
const state = { events: [], flash: () => {} };
const $ = (id) => document.getElementById(id);

async function getJson(path, init) {
  const response = await fetch(path, init);
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---- views: the flow first, the topology one tab away (and at #topology) ----
function showView(name, hash) {
  for (const view of ["flow", "topology", "trace"]) {
    const selected = view === name;
    $(`tab-${view}`).setAttribute("aria-selected", String(selected));
    $(view === "flow" ? "flow" : `${view}-view`).hidden = !selected;
  }
  const wanted = name === "flow" ? "" : (hash ?? `#${name}`);
  if (window.location.hash !== wanted)
    window.history.replaceState(null, "", name === "flow" ? window.location.pathname : wanted);
}

// ---- trace: the waterfall of a flow (trace.js) ----
function showTraceOf(id, event) {
  $("trace-id").value = id;
  const about = $("trace-event");
  about.textContent = "";
  if (event) {
    about.appendChild(
      element("p", "meta", `${event.type}  ${event.id}  corr=${event.correlationId}`),
    );
    about.appendChild(
      element(
        "pre",
        "",
        JSON.stringify(
          {
            topic: event.topic,
            source: event.source,
            causationId: event.causationId,
            payload: event.payload,
          },
          null,
          2,
        ),
      ),
    );
  }
  showView("trace", `#trace=${encodeURIComponent(id)}`);
  state.trace = { id, focus: event && event.id };
  return refreshTrace();
}

// A flow goes on after its first events show: the open waterfall is drawn again as spans end.
async function refreshTrace() {
  if (!state.trace || !state.trace.id || $("trace-view").hidden) return;
  await window
    .showTrace($("trace"), state.trace.id, {
      all: $("trace-all").checked,
      focus: state.trace.focus,
    })
    .catch((err) => ($("trace").textContent = `trace unavailable: ${err.message}`));
}

// ---- topology ----
async function loadTopology() {
  const topology = await getJson("/api/topology");
  state.flash = window.drawTopology($("topology"), topology);
  const select = $("filter-type");
  for (const type of topology.eventTypes)
    select.appendChild(element("option", "", type)).value = type;
}

// ---- live events ----
function matches(event) {
  const type = $("filter-type").value;
  const correlation = $("filter-correlation").value.trim();
  return (!type || event.type === type) && (!correlation || event.correlationId === correlation);
}

function eventItem(event) {
  const item = element("li");
  item.dataset.type = event.type;
  item.appendChild(element("span", "meta", `${event.time.slice(11, 23)} `));
  item.appendChild(element("span", "type", event.type));
  item.appendChild(
    element(
      "span",
      "meta",
      `  ${event.id}  corr=${event.correlationId}${event.subject ? `  subject=${event.subject}` : ""}`,
    ),
  );
  // An event's flow: every consumer it reached, retries, dead letters, times and errors.
  item.title = "show this event's flow";
  item.addEventListener("click", () => showTraceOf(event.correlationId, event));
  return item;
}

function renderEvents() {
  const list = $("events");
  list.textContent = "";
  // Newest first by the event's own time: the feed delivers in the order the archivers store.
  const shown = state.events
    .filter(matches)
    .sort((a, b) => b.time.localeCompare(a.time))
    .slice(0, MAX_EVENTS);
  for (const event of shown) list.appendChild(eventItem(event));
  $("events-empty").hidden = shown.length > 0;
  $("event-count").textContent = `${shown.length} shown`;
}

function connectFeed() {
  const source = new EventSource("/api/stream");
  source.onopen = () => {
    $("status").textContent = "live";
    $("status").className = "status online";
  };
  source.onerror = () => {
    $("status").textContent = "reconnecting…";
    $("status").className = "status offline";
    state.events = [];
  };
  source.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (state.events.some((e) => e.id === event.id)) return;
    state.events.push(event);
    if (state.events.length > MAX_EVENTS * 2) state.events.splice(0, MAX_EVENTS);
    state.flash(`topic:${event.topic}`);
    renderEvents();
  };
}

// ---- consumers ----
let deadLetteredTotal = -1;
async function refreshConsumers() {
  const consumers = await getJson("/api/consumers");
  const body = $("consumers").querySelector("tbody");
  body.textContent = "";
  for (const c of consumers) {
    const row = element("tr", c.hosted ? "" : "idle");
    row.dataset.consumer = c.consumer;
    row.appendChild(element("td", "", c.consumer));
    row.appendChild(element("td", "", c.topic));
    // A hook's row counts its deliveries to the outside agent and what became of them.
    row.appendChild(element("td", "", c.hook ? `${c.delivery} · hook` : c.delivery));
    if (c.hook) row.title = `hook: POSTs each event, signed, to ${c.hook}`;
    if (!c.hosted) row.title = "declared, no implementation yet: provisioned, not hosted";
    for (const key of ["received", "acked", "retried", "deadLettered"])
      row.appendChild(
        element("td", key === "deadLettered" && c[key] > 0 ? "n bad" : "n", String(c[key])),
      );
    body.appendChild(row);
  }
  const total = consumers.reduce((sum, c) => sum + c.deadLettered, 0);
  if (total !== deadLetteredTotal) {
    deadLetteredTotal = total;
    refreshDeadLettersSoon();
  }
}

// A dead letter reaches its parking subscription a moment after the counter moves (and a
// redriven one comes back later still), so look now and twice more shortly after.
function refreshDeadLettersSoon() {
  for (const delay of [0, 1500, 4000])
    setTimeout(() => void refreshDeadLetters().catch(() => {}), delay);
}

// ---- dead letters ----
async function redrive(consumer, ids) {
  const result = await getJson(`/api/dead-letters/${encodeURIComponent(consumer)}/redrive`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(ids ? { ids } : {}),
  });
  const problems = [
    ...result.notFound.map((id) => `no dead letter ${id}`),
    ...result.failed.map((f) => `${f.messageId} left in place: ${f.error}`),
  ];
  const outcome = $("redrive-outcome");
  outcome.textContent = [`${consumer}: ${result.redriven.length} redriven`, ...problems].join("; ");
  outcome.className = problems.length > 0 ? "bad" : "";
  refreshDeadLettersSoon();
}

async function refreshDeadLetters() {
  const groups = await getJson("/api/dead-letters");
  const box = $("dead-letters");
  box.textContent = "";
  for (const group of groups) {
    const section = element("div", "dlq");
    section.dataset.consumer = group.consumer;
    const title = element("h3", "", `${group.consumer} (${group.letters.length})`);
    const all = element("button", "", "redrive all");
    all.type = "button";
    all.addEventListener("click", () => void redrive(group.consumer));
    title.appendChild(all);
    section.appendChild(title);
    const table = element("table");
    const head = element("tr");
    for (const h of ["event", "type", "reason", "error", "attempt", "redrives", ""])
      head.appendChild(element("th", "", h));
    table.appendChild(head);
    for (const letter of group.letters) {
      const row = element("tr");
      row.appendChild(element("td", "", letter.eventId || letter.messageId));
      row.appendChild(element("td", "", letter.type || "-"));
      row.appendChild(element("td", "reason", letter.reason));
      row.appendChild(
        element(
          "td",
          "error",
          letter.error.length > 120 ? `${letter.error.slice(0, 119)}…` : letter.error,
        ),
      );
      row.appendChild(element("td", "n", letter.attempt));
      row.appendChild(element("td", "n", String(letter.redriveCount)));
      const cell = element("td");
      const button = element("button", "redrive", "redrive");
      button.type = "button";
      button.addEventListener("click", () => void redrive(group.consumer, [letter.messageId]));
      cell.appendChild(button);
      row.appendChild(cell);
      table.appendChild(row);
    }
    section.appendChild(table);
    box.appendChild(section);
  }
  $("dead-letters-empty").hidden = groups.length > 0;
}

// ---- funnel ----
const STEPS = ["sent", "opened", "clicked", "converted"];
async function refreshFunnel() {
  const { total: counts, cards } = await getJson("/api/funnel");
  const box = $("funnel");
  box.textContent = "";
  $("funnel-empty").hidden = counts !== null;
  if (counts === null) return;
  const top = Math.max(1, counts.sent || 0);
  STEPS.forEach((step, i) => {
    const value = counts[step] || 0;
    const previous = i === 0 ? value : counts[STEPS[i - 1]] || 0;
    const row = element("div", "funnel-row");
    row.appendChild(element("span", "", step));
    const bar = element("div", "funnel-bar");
    bar.style.width = `${(100 * value) / top}%`;
    row.appendChild(bar);
    row.appendChild(
      element(
        "span",
        "n",
        i === 0
          ? String(value)
          : `${value} (${previous ? Math.round((100 * value) / previous) : 0}%)`,
      ),
    );
    box.appendChild(row);
  });
  box.appendChild(
    element(
      "p",
      "muted",
      `${counts.failed} failed to send · ${cards.length} card${cards.length === 1 ? "" : "s"}`,
    ),
  );
  const table = element("table");
  const head = element("tr");
  for (const h of ["card", ...STEPS, "failed"]) head.appendChild(element("th", "", h));
  table.appendChild(head);
  for (const card of cards) {
    const row = element("tr");
    row.appendChild(element("td", "", card.id));
    for (const step of [...STEPS, "failed"])
      row.appendChild(element("td", "n", String(card[step] ?? 0)));
    table.appendChild(row);
  }
  box.appendChild(table);
}

function every(ms, task) {
  const run = () =>
    task()
      .catch(() => {})
      .finally(() => setTimeout(run, ms));
  run();
}

$("tab-flow").addEventListener("click", () => showView("flow"));
$("tab-topology").addEventListener("click", () => showView("topology"));
$("tab-trace").addEventListener("click", () =>
  showView("trace", `#trace=${encodeURIComponent($("trace-id").value.trim())}`),
);
$("trace-form").addEventListener("submit", (submitted) => {
  submitted.preventDefault();
  showTraceOf($("trace-id").value.trim());
});
$("trace-all").addEventListener("change", () => showTraceOf($("trace-id").value.trim()));
if (window.location.hash.startsWith("#trace="))
  showTraceOf(decodeURIComponent(window.location.hash.slice("#trace=".length)));
else showView(window.location.hash === "#topology" ? "topology" : "flow");
$("filter-type").addEventListener("change", renderEvents);
$("filter-correlation").addEventListener("input", renderEvents);
$("refresh-dead-letters").addEventListener("click", () => void refreshDeadLetters());
loadTopology().catch((err) => ($("topology").textContent = `topology unavailable: ${err.message}`));
connectFeed();
every(2000, refreshConsumers);
every(5000, refreshFunnel);
every(2000, refreshTrace);
every(30000, refreshDeadLetters);
