/**
 * `<cv-sequence>`: a virtualized sequence diagram. One row per record, one lifeline per
 * participant; only the rows in view exist in the DOM (a fixed pool), so 10,000 records
 * scroll as fast as 40.
 * @internal
 */
export const sequenceJs = String.raw`
const ROW = 22;
const COL = 140;
const GUTTER = 226;
const OVERSCAN = 8;

function arrowKind(kind) {
  if (kind === "reply") return "a-reply";
  if (kind === "error" || kind === "timeout") return "a-fail";
  return "a-call";
}
function recordLabel(r) {
  let text = r.kind;
  if (r.name !== undefined) text += " " + r.name;
  const d = r.detail;
  if ((r.kind === "state" || r.kind === "read") && d && typeof d === "object") {
    if (d.previous !== undefined && d.version !== undefined) text += " v" + d.previous + " → v" + d.version;
    else if (d.version !== undefined) text += " v" + d.version;
    if (d.deleted || d.type === "delete") text += " (deleted)";
  } else if ((r.kind === "lock" || r.kind === "lock-expired") && d && d.token !== undefined) text += " #" + d.token;
  else if (r.kind === "error" || r.kind === "timeout") { if (typeof d === "string") text += " " + d; }
  return text;
}

class SequenceDiagram extends HTMLElement {
  constructor() {
    super();
    this.items = [];
    this.cols = new Map();
    this.pool = [];
    this.follow = true;
    this.highlight = -1;
    this.onpick = null;
    this.head = h("div", { class: "seq-head" });
    this.lanes = h("div", { class: "seq-lanes" });
    this.spacer = h("div", { class: "seq-spacer" }, this.lanes);
    this.body = h("div", { class: "seq-body", tabindex: "0" }, this.spacer);
    this.body.addEventListener("scroll", () => {
      this.head.scrollLeft = this.body.scrollLeft;
      this.follow = this.body.scrollTop + this.body.clientHeight >= this.body.scrollHeight - ROW;
      this.schedule();
    });
    this.body.addEventListener("click", (ev) => {
      const row = ev.target.closest(".seq-row");
      if (row && this.onpick) this.onpick(Number(row.dataset.index));
    });
  }
  connectedCallback() {
    if (!this.firstChild) this.append(this.head, this.body);
    this.schedule();
  }
  // Replaces every item (filter change, reset, a replay file).
  setItems(items) {
    this.items = items;
    this.cols = new Map();
    // The caller of calls made from outside any agent goes first, as in a hand-drawn diagram.
    if (items.some((r) => r.from === "system" || r.to === "system")) this.cols.set("system", 0);
    for (const r of items) this.addCols(r);
    this.layout();
  }
  // Items were pushed onto the array given to setItems.
  appended(from) {
    let grew = false;
    for (let i = from; i < this.items.length; i++) grew = this.addCols(this.items[i]) || grew;
    this.layout(grew);
  }
  addCols(r) {
    let grew = false;
    for (const p of [r.from, r.to]) {
      if (p !== undefined && !this.cols.has(p)) { this.cols.set(p, this.cols.size); grew = true; }
    }
    return grew;
  }
  layout() {
    const width = GUTTER + Math.max(1, this.cols.size) * COL;
    this.spacer.style.height = this.items.length * ROW + "px";
    this.spacer.style.width = width + "px";
    this.lanes.style.width = this.cols.size * COL + "px";
    const names = [h("div", { class: "seq-gutter-head", text: "#  time  kind" })];
    for (const [name] of this.cols) names.push(h("div", { class: "seq-part", title: name, text: name }));
    fill(this.head, h("div", { class: "seq-head-inner", style: { width: width + "px" } }, names));
    if (this.follow && this.isConnected) this.body.scrollTop = this.body.scrollHeight;
    this.schedule();
  }
  scrollToIndex(i) {
    const top = i * ROW;
    if (top < this.body.scrollTop || top + ROW > this.body.scrollTop + this.body.clientHeight) {
      this.body.scrollTop = Math.max(0, top - this.body.clientHeight / 2);
    }
    this.schedule();
  }
  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.render(); });
  }
  render() {
    const view = this.body.clientHeight || 600;
    const first = Math.max(0, Math.floor(this.body.scrollTop / ROW) - OVERSCAN);
    const last = Math.min(this.items.length, Math.ceil((this.body.scrollTop + view) / ROW) + OVERSCAN);
    const need = last - first;
    while (this.pool.length < need) { const row = h("div", { class: "seq-row" }); this.pool.push(row); this.spacer.appendChild(row); }
    for (let k = 0; k < this.pool.length; k++) {
      const row = this.pool[k];
      if (k >= need) {
        // A spare row: hidden, and describing nothing.
        if (row.style.display !== "none") { row.style.display = "none"; for (const key of ["index", "kind", "seq", "from", "to"]) delete row.dataset[key]; }
        continue;
      }
      const i = first + k;
      row.style.display = "";
      this.paintRow(row, this.items[i], i);
    }
    this.dataset.rendered = String(need);
  }
  paintRow(row, r, i) {
    row.dataset.index = String(i);
    row.dataset.kind = r.kind;
    row.dataset.seq = String(r.seq);
    if (r.from !== undefined) row.dataset.from = r.from; else delete row.dataset.from;
    if (r.to !== undefined) row.dataset.to = r.to; else delete row.dataset.to;
    row.style.top = i * ROW + "px";
    row.className = "seq-row k-" + String(r.kind).replace(/[^a-z-]/g, "") + (i === this.highlight ? " current" : "");
    const gutter = h("span", { class: "seq-gutter" }, h("span", { class: "seq-no", text: String(r.seq) }), " ", h("span", { class: "seq-at", text: when(r.at) }), " ", h("span", { class: "seq-kind", text: r.kind }));
    const a = r.from !== undefined ? this.cols.get(r.from) : undefined;
    const b = r.to !== undefined ? this.cols.get(r.to) : undefined;
    let mark;
    if (a !== undefined && b !== undefined && a !== b) {
      const left = GUTTER + Math.min(a, b) * COL + COL / 2;
      const width = Math.abs(b - a) * COL;
      mark = h("span", { class: "seq-arrow " + arrowKind(r.kind) + (b < a ? " rtl" : ""), style: { left: left + "px", width: width + "px" } }, h("span", { class: "seq-label", text: recordLabel(r) }));
    } else {
      const c = a !== undefined ? a : b !== undefined ? b : 0;
      mark = h("span", { class: "seq-note", style: { left: GUTTER + c * COL + COL / 2 + 6 + "px" } }, recordLabel(r));
    }
    fill(row, gutter, mark);
  }
}
customElements.define("cv-sequence", SequenceDiagram);
`;
