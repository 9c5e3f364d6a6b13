/**
 * The page's shared client code: the token, the API helper, the DOM helper and the live
 * store fed by the server's event stream. Plain browser JavaScript in a string (the package
 * ships only what tsc compiles); no backticks, so it can sit in a raw template literal.
 * @internal
 */
export const coreJs = String.raw`
const TOKEN = new URLSearchParams(location.search).get("token") || "";
const MAX_RECORDS = 10000;
const MAX_EVENTS = 5000;

async function api(path, init) {
  const opts = Object.assign({}, init || {});
  opts.headers = Object.assign({ "x-covey-token": TOKEN }, opts.headers || {});
  const res = await fetch(path, opts);
  const type = res.headers.get("content-type") || "";
  const body = type.indexOf("json") >= 0 ? await res.json() : await res.text();
  if (!res.ok && !(body && typeof body === "object" && "ok" in body)) throw new Error(res.status + " " + (typeof body === "string" ? body : JSON.stringify(body)));
  return body;
}

// Builds elements from nodes and text, never from markup strings, so nothing the system holds can inject markup.
function h(tag, attrs) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const k of Object.keys(attrs)) {
      const v = attrs[k];
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
      else if (k === "value") el.value = v;
      else if (k === "checked") el.checked = !!v;
      // CSSOM, not the style attribute: the page's CSP forbids inline style attributes.
      else if (k === "style") Object.assign(el.style, v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  for (let i = 2; i < arguments.length; i++) append(el, arguments[i]);
  return el;
}
function append(el, child) {
  if (child === undefined || child === null || child === false) return;
  if (Array.isArray(child)) { for (const c of child) append(el, c); return; }
  el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
}

// replaceChildren that takes arrays (and skips null) like h() does.
function fill(el) {
  el.replaceChildren();
  for (let i = 1; i < arguments.length; i++) append(el, arguments[i]);
  return el;
}

function pretty(value) {
  if (value === undefined) return "undefined";
  try { return JSON.stringify(value, null, 2); } catch (e) { return String(value); }
}
function short(value, max) {
  let s;
  if (typeof value === "string") s = JSON.stringify(value);
  else { try { s = JSON.stringify(value); } catch (e) { s = String(value); } }
  if (s === undefined) s = "undefined";
  max = max || 80;
  return s.length > max ? s.slice(0, max - 1) + "\u2026" : s;
}
// Clock ms: wall-clock times as time of day, virtual ones as offsets.
function when(ms) {
  if (typeof ms !== "number") return "";
  if (ms > 1e12) { const d = new Date(ms); return d.toISOString().slice(11, 23); }
  return "t=" + ms + "ms";
}
function table(headers, rows, attrs) {
  return h("table", attrs || {}, h("thead", null, h("tr", null, headers.map((x) => h("th", { text: x })))), h("tbody", null, rows));
}
function errorBox(err) {
  if (!err || typeof err !== "object") return h("div", { class: "error", text: String(err) });
  const parts = [h("strong", { text: (err.name || "Error") + (err.code ? " (" + err.code + ")" : "") }), " ", err.message || ""];
  if (err.issues) parts.push(h("pre", { text: pretty(err.issues) }));
  if (err.cause) parts.push(h("div", { class: "cause" }, "cause: ", errorBox(err.cause)));
  return h("div", { class: "error" }, parts);
}

// The live store: trace records, events and state changes from the server's event stream.
const live = {
  records: [],
  events: [],
  connected: false,
  allowCalls: false,
  now: 0,
  listeners: { records: new Set(), reset: new Set(), state: new Set(), events: new Set(), status: new Set() },
  on(kind, fn) { this.listeners[kind].add(fn); return () => this.listeners[kind].delete(fn); },
  emit(kind, arg) { for (const fn of this.listeners[kind]) { try { fn(arg); } catch (e) { console.error(e); } } },
  lastSeq() { const r = this.records; return r.length ? r[r.length - 1].seq : 0; },
  addRecords(list) {
    const last = this.lastSeq();
    const fresh = list.filter((r) => r.seq > last);
    if (!fresh.length) return;
    for (const r of fresh) this.records.push(r);
    // Trim in chunks: one splice per thousand records keeps appends O(1) amortised.
    if (this.records.length > MAX_RECORDS + 1000) {
      this.records.splice(0, this.records.length - MAX_RECORDS);
      this.emit("reset");
    } else this.emit("records", fresh);
  },
  start() {
    const es = new EventSource("/api/live?token=" + encodeURIComponent(TOKEN));
    es.addEventListener("hello", (m) => {
      const d = JSON.parse(m.data);
      this.allowCalls = d.allowCalls; this.now = d.now; this.connected = true;
      this.records = d.records.slice(-MAX_RECORDS);
      this.emit("reset"); this.emit("status");
    });
    es.addEventListener("trace", (m) => this.addRecords(JSON.parse(m.data)));
    es.addEventListener("state", (m) => this.emit("state", JSON.parse(m.data)));
    es.addEventListener("event", (m) => {
      const list = JSON.parse(m.data);
      for (const e of list) this.events.push(e);
      if (this.events.length > MAX_EVENTS + 500) this.events.splice(0, this.events.length - MAX_EVENTS);
      this.emit("events", list);
    });
    es.addEventListener("dropped", (m) => console.warn("covey inspector: the server dropped " + JSON.parse(m.data).count + " items for this slow page"));
    es.onerror = () => { this.connected = false; this.emit("status"); };
    this.source = es;
  },
};

// A view that refreshes itself from the API while it is on screen.
class PolledView extends HTMLElement {
  connectedCallback() {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), this.period || 1000);
  }
  disconnectedCallback() { clearInterval(this.timer); }
  async refresh() {
    try { this.render(await api(this.endpoint)); }
    catch (e) { fill(this, h("div", { class: "error", text: String(e) })); }
  }
}
`;
