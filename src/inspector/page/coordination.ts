/**
 * The Coordination view (locks, semaphores, barriers, streams), the Events view (the event
 * log with filters) and the Board view.
 * @internal
 */
export const coordinationJs = String.raw`
function waiters(list) {
  return list && list.length ? list.map((w) => w.agentId + " (since " + when(w.since) + ")").join(", ") : "";
}

class CoordinationView extends PolledView {
  constructor() {
    super();
    this.endpoint = "/api/coordination";
  }
  render(d) {
    const parts = [h("h2", { text: "Coordination" })];
    const s = d.sync;
    if (!s) parts.push(h("p", { class: "note", text: "This system does not report its locks, semaphores and barriers." }));
    else {
      parts.push(h("h3", { text: "Locks (" + s.locks.length + ")" }), s.locks.length ? table(["lock", "holder", "fencing token", "lease remaining", "waiters"], s.locks.map((l) =>
        h("tr", { "data-lock": l.id }, h("td", { text: l.id }), h("td", { text: l.holder === undefined ? "free" : l.holder }), h("td", { class: "num", text: String(l.fencingToken) }),
          h("td", { class: "num", text: l.leaseRemaining === undefined ? "" : l.leaseRemaining + " ms" }), h("td", { text: waiters(l.waiters) }))), { class: "locks" }) : h("p", { class: "empty", text: "none" }));
      parts.push(h("h3", { text: "Semaphores (" + s.semaphores.length + ")" }), s.semaphores.length ? table(["semaphore", "permits", "available", "holders", "waiters"], s.semaphores.map((x) =>
        h("tr", null, h("td", { text: x.id }), h("td", { class: "num", text: String(x.permits) }), h("td", { class: "num", text: String(x.available) }),
          h("td", { text: x.holders.map((o) => o.agentId + (o.permits > 1 ? " \u00d7" + o.permits : "")).join(", ") }), h("td", { text: waiters(x.waiters) }))), { class: "semaphores" }) : h("p", { class: "empty", text: "none" }));
      parts.push(h("h3", { text: "Barriers (" + s.barriers.length + ")" }), s.barriers.length ? table(["barrier", "arrived / expected", "generation", "arrived"], s.barriers.map((b) =>
        h("tr", null, h("td", { text: b.id }), h("td", { class: "num", text: b.arrived.length + " / " + b.required }), h("td", { class: "num", text: String(b.generation) }), h("td", { text: waiters(b.arrived) }))), { class: "barriers" }) : h("p", { class: "empty", text: "none" }));
    }
    parts.push(h("h3", { text: "Streams (" + d.streams.length + ")" }), !d.streams.length ? h("p", { class: "empty", text: "none" }) : table(["stream", "buffered", "high water mark", "blocked senders", "waiting receivers", "closed"], d.streams.map((x) =>
      h("tr", { "data-stream": x.id }, h("td", { text: x.id }), h("td", { class: "num", text: String(x.buffered) }), h("td", { class: "num", text: String(x.highWaterMark) }),
        h("td", { class: "num", text: String(x.blockedSenders) }), h("td", { class: "num", text: String(x.waitingReceivers) }), h("td", { text: x.closed ? "closed" : "" }))), { class: "streams" }));
    fill(this, parts);
  }
}
customElements.define("cv-coordination", CoordinationView);

class EventsView extends HTMLElement {
  constructor() {
    super();
    this.type = ""; this.source = ""; this.text = "";
    this.types = h("select", { class: "f-type", onchange: (e) => { this.type = e.target.value; this.draw(); } });
    this.body = h("div");
    this.toolbar = h("div", { class: "toolbar" }, this.types,
      h("input", { class: "f-source", placeholder: "source", oninput: (e) => { this.source = e.target.value.trim(); this.draw(); } }),
      h("input", { class: "f-text", placeholder: "text in payload", oninput: (e) => { this.text = e.target.value; this.draw(); } }));
  }
  async connectedCallback() {
    if (!this.firstChild) this.append(h("h2", { text: "Events" }), this.toolbar, this.body);
    this.off = live.on("events", () => this.draw());
    try {
      const history = await api("/api/events?limit=1000");
      const known = new Set(live.events.map((e) => e.id));
      // The history may hold events the live feed already delivered; keep one of each.
      live.events = history.filter((e) => !known.has(e.id)).concat(live.events).sort((a, b) => a.timestamp - b.timestamp);
    } catch (e) { fill(this.body, h("div", { class: "error", text: String(e) })); return; }
    this.draw();
  }
  disconnectedCallback() { if (this.off) this.off(); }
  draw() {
    const types = [...new Set(live.events.map((e) => e.type))].sort();
    if (this.types.childElementCount !== types.length + 1) fill(this.types, h("option", { value: "", text: "all types" }), types.map((t) => h("option", { value: t, text: t, selected: t === this.type })));
    const list = live.events.filter((e) => (!this.type || e.type === this.type) && (!this.source || String(e.source).indexOf(this.source) === 0) && (!this.text || JSON.stringify(e.payload).indexOf(this.text) >= 0));
    const shown = list.slice(-1000).reverse();
    fill(this.body, h("p", { class: "count", text: list.length + " of " + live.events.length + " events" + (list.length > shown.length ? " (newest 1000 shown)" : "") }),
      table(["id", "when", "type", "source", "payload"], shown.map((e) => h("tr", { "data-type": e.type }, h("td", { text: e.id }), h("td", { text: when(e.timestamp) }), h("td", { text: e.type }), h("td", { text: e.source }), h("td", { class: "v", text: short(e.payload, 120) }))), { class: "events" }));
  }
}
customElements.define("cv-events", EventsView);

class BoardView extends PolledView {
  constructor() { super(); this.endpoint = "/api/board"; this.period = 2000; }
  render(d) {
    if (!d.inUse) { fill(this, h("h2", { text: "Board" }), h("p", { class: "note", text: d.reason })); return; }
    const parts = [h("h2", { text: "Board (namespace " + d.namespace + ")" })];
    const names = new Map(d.projects.concat(d.milestones).map((x) => [x.id, x.name]));
    const tracks = new Map();
    for (const t of d.tasks) {
      const k = (names.get(t.projectId) || t.projectId || "no project") + " / " + (names.get(t.milestoneId) || t.milestoneId || "no milestone") + " / track " + (t.track || "none");
      if (!tracks.has(k)) tracks.set(k, []);
      tracks.get(k).push(t);
    }
    parts.push(h("h3", { text: "Tracks (" + tracks.size + ")" }));
    for (const [k, list] of tracks) {
      list.sort((a, b) => (a.order == null ? 1e9 : a.order) - (b.order == null ? 1e9 : b.order) || a.seq - b.seq);
      parts.push(h("h4", { text: k }), table(["task", "title", "status", "claim", "lease left", "assignments"], list.map((t) =>
        h("tr", null, h("td", { text: t.id }), h("td", { text: t.title }), h("td", null, h("span", { class: "badge s-" + t.status, text: t.status })),
          h("td", { text: t.claim ? t.claim.holder + " #" + t.claim.token : "" }), h("td", { class: "num", text: t.claim ? Math.max(0, t.claim.expiresAt - d.now) + " ms" : "" }),
          h("td", { text: (t.assignments || []).map((a) => a.agent + " (" + a.role + ")").join(", ") })))));
    }
    parts.push(h("h3", { text: "Dashboards (" + d.dashboards.length + ")" }));
    for (const dash of d.dashboards) parts.push(h("h4", { text: dash.taskId }), h("ul", null, (dash.entries || []).map((e) => h("li", null, h("strong", { text: e.author }), " " + when(e.at) + ": " + e.text))));
    parts.push(h("h3", { text: "Inboxes" }));
    const boxes = new Map();
    for (const m of d.messages) { if (!boxes.has(m.to)) boxes.set(m.to, []); boxes.get(m.to).push(m); }
    if (!boxes.size) parts.push(h("p", { class: "empty", text: "no messages" }));
    for (const [to, list] of boxes) parts.push(h("h4", { text: to + " (" + list.filter((m) => m.acknowledgedAt == null).length + " unread)" }), h("ul", null, list.map((m) => h("li", { class: m.acknowledgedAt == null ? "unread" : "" }, h("strong", { text: m.from }), ": " + m.text))));
    fill(this, ...parts);
  }
}
customElements.define("cv-board", BoardView);
`;
