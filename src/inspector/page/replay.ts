/**
 * The Replay view: open a trace (a JSON file of `system.trace.toJSON()`, a failing
 * `replay()` run's trace, or this system's own) and step through it forwards and backwards,
 * with the state, locks, semaphores and barriers as they were after each step.
 * @internal
 */
export const replayJs = String.raw`
function parseTrace(text) {
  let data = JSON.parse(text);
  if (data && !Array.isArray(data)) data = data.records || (Array.isArray(data.trace) ? data.trace : data.trace && data.trace.records);
  if (!Array.isArray(data)) throw new Error("expected an array of trace records, or { records: [...] }");
  data.forEach((r, i) => {
    if (!r || typeof r !== "object" || typeof r.kind !== "string") throw new Error("record " + i + " has no kind");
    if (typeof r.seq !== "number") r.seq = i + 1;
  });
  return data;
}

// What the system looked like after records[0..step]: folded from the start (microseconds
// per thousand records), so stepping back costs the same as stepping forward.
function stateAt(records, step) {
  const keys = new Map(), locks = new Map(), semaphores = new Map(), barriers = new Map();
  for (let i = 0; i <= step && i < records.length; i++) {
    const r = records[i], d = r.detail && typeof r.detail === "object" ? r.detail : {};
    if (r.kind === "state" && r.name !== undefined) {
      if (d.deleted || d.type === "delete") keys.set(r.name, { deleted: true, by: r.from, at: r.at, step: i });
      else {
        const prev = keys.get(r.name);
        keys.set(r.name, { version: d.version, by: r.from, at: r.at, step: i, value: "value" in d ? d.value : prev && !prev.deleted ? prev.value : undefined, known: "value" in d });
      }
    } else if (r.kind === "lock") locks.set(r.name, { holder: r.from, token: d.token, step: i });
    else if (r.kind === "lock-expired") locks.set(r.name, { holder: undefined, token: d.token, expired: r.from, step: i });
    else if (r.kind === "semaphore") semaphores.set(r.name, { available: d.available, by: r.from, step: i });
    else if (r.kind === "barrier") barriers.set(r.name, { generation: d.generation, by: r.from, step: i });
  }
  return { keys, locks, semaphores, barriers };
}

class ReplayView extends HTMLElement {
  constructor() {
    super();
    this.records = [];
    this.step = -1;
    this.seq = document.createElement("cv-sequence");
    this.seq.follow = false;
    this.seq.onpick = (i) => this.go(i);
    this.file = h("input", { type: "file", accept: ".json,application/json", class: "f-file", onchange: (e) => this.load(e.target.files[0]) });
    this.position = h("span", { class: "position" });
    this.slider = h("input", { type: "range", min: "0", max: "0", value: "0", class: "slider", oninput: (e) => this.go(Number(e.target.value)) });
    this.side = h("div", { class: "replay-side" });
    this.message = h("p", { class: "note", text: "Open a trace: a JSON file of system.trace.toJSON() (for instance the trace replay(scenario, seed) returns for a seed explore found), or this system's own trace." });
    const btn = (cls, label, fn) => h("button", { class: cls, onclick: fn, title: label }, label);
    this.controls = h("div", { class: "toolbar" }, this.file, btn("own", "This system's trace", () => this.loadOwn()),
      btn("first", "\u00ab first", () => this.go(0)), btn("back", "\u25c0 back", () => this.go(this.step - 1)),
      btn("forward", "forward \u25b6", () => this.go(this.step + 1)), btn("last", "last \u00bb", () => this.go(this.records.length - 1)), this.slider, this.position);
    this.addEventListener("keydown", (e) => {
      if (e.target.tagName === "INPUT" && e.target.type !== "range") return;
      if (e.key === "ArrowRight") { this.go(this.step + 1); e.preventDefault(); }
      if (e.key === "ArrowLeft") { this.go(this.step - 1); e.preventDefault(); }
    });
  }
  connectedCallback() {
    if (!this.firstChild) this.append(h("h2", { text: "Replay" }), this.controls, this.message, h("div", { class: "split" }, this.seq, this.side));
  }
  async load(file) {
    if (!file) return;
    try { this.setRecords(parseTrace(await file.text()), file.name); }
    catch (e) { fill(this.message, h("span", { class: "error", text: "Cannot read " + file.name + ": " + e.message })); }
  }
  async loadOwn() {
    try { this.setRecords(await api("/api/trace"), "this system"); }
    catch (e) { fill(this.message, h("span", { class: "error", text: String(e) })); }
  }
  setRecords(records, from) {
    this.records = records;
    this.message.textContent = records.length + " records from " + from + ". Step with the buttons, the slider, or the arrow keys.";
    this.slider.max = String(Math.max(0, records.length - 1));
    this.seq.setItems(records);
    this.go(0);
  }
  go(i) {
    if (!this.records.length) return;
    this.step = Math.max(0, Math.min(this.records.length - 1, i));
    this.slider.value = String(this.step);
    this.position.textContent = "step " + (this.step + 1) + " / " + this.records.length;
    this.dataset.step = String(this.step + 1);
    this.seq.highlight = this.step;
    this.seq.scrollToIndex(this.step);
    this.seq.render();
    this.drawSide();
  }
  drawSide() {
    const s = stateAt(this.records, this.step);
    const r = this.records[this.step];
    const mark = (v) => (v.step === this.step ? "changed" : "");
    const parts = [h("h3", { text: "Step " + (this.step + 1) }), h("pre", { class: "detail", text: pretty(r) }), h("h3", { text: "State after this step" })];
    const keys = [...s.keys].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    parts.push(keys.length ? table(["key", "version", "by", "value"], keys.map(([k, v]) => h("tr", { class: mark(v), "data-key": k },
      h("td", { text: k }), h("td", { class: "num", text: v.deleted ? "deleted" : "v" + v.version }), h("td", { text: v.by || "" }),
      h("td", { class: "v", text: v.deleted ? "" : v.value === undefined ? "(value not recorded)" : short(v.value, 60) }))), { class: "replay-state" }) : h("p", { class: "empty", text: "no state writes yet" }));
    if (s.locks.size) parts.push(h("h3", { text: "Locks" }), table(["lock", "holder", "token"], [...s.locks].map(([k, v]) => h("tr", { class: mark(v) }, h("td", { text: k }), h("td", { text: v.holder === undefined ? "free" + (v.expired ? " (lease of " + v.expired + " expired)" : "") : v.holder }), h("td", { class: "num", text: String(v.token) })))));
    if (s.semaphores.size) parts.push(h("h3", { text: "Semaphores" }), table(["semaphore", "available", "last by"], [...s.semaphores].map(([k, v]) => h("tr", { class: mark(v) }, h("td", { text: k }), h("td", { class: "num", text: String(v.available) }), h("td", { text: v.by || "" })))));
    if (s.barriers.size) parts.push(h("h3", { text: "Barriers" }), table(["barrier", "generation", "tripped by"], [...s.barriers].map(([k, v]) => h("tr", { class: mark(v) }, h("td", { text: k }), h("td", { class: "num", text: String(v.generation) }), h("td", { text: v.by || "" })))));
    fill(this.side, ...parts);
  }
}
customElements.define("cv-replay", ReplayView);
`;
