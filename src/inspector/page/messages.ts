/**
 * The Messages view: the live flow as a sequence diagram, pausable, filtered by agent, kind
 * and key prefix, with the selected record's details.
 * @internal
 */
export const messagesJs = String.raw`
const KIND_GROUPS = [
  ["requests", ["request", "dispatch", "task"]],
  ["replies", ["reply"]],
  ["errors", ["error", "timeout"]],
  ["publications", ["publish"]],
  ["events", ["event"]],
  ["state", ["state"]],
  ["sync", ["lock", "lock-expired", "semaphore", "barrier"]],
];

class MessagesView extends HTMLElement {
  constructor() {
    super();
    this.paused = false;
    this.missed = 0;
    this.shown = [];
    this.kinds = new Set(KIND_GROUPS.map((g) => g[0]).concat(["other"]));
    this.agent = "";
    this.keyPrefix = "";
    this.seq = document.createElement("cv-sequence");
    this.seq.onpick = (i) => this.pick(i);
    this.count = h("span", { class: "count" });
    this.pauseButton = h("button", { class: "pause", onclick: () => this.togglePause() }, "Pause");
    this.agentInput = h("input", { class: "f-agent", placeholder: "agent", list: "cv-participants", oninput: (e) => { this.agent = e.target.value.trim(); this.refilter(); } });
    this.keyPrefixInput = h("input", { class: "f-prefix", placeholder: "key / topic prefix", oninput: (e) => { this.keyPrefix = e.target.value.trim(); this.refilter(); } });
    this.datalist = h("datalist", { id: "cv-participants" });
    const chips = KIND_GROUPS.map((g) => g[0]).concat(["other"]).map((name) =>
      h("label", { class: "chip" }, h("input", { type: "checkbox", checked: true, "data-kind": name, onchange: (e) => { e.target.checked ? this.kinds.add(name) : this.kinds.delete(name); this.refilter(); } }), name));
    this.detail = h("pre", { class: "detail", text: "Click a row to see the record." });
    this.toolbar = h("div", { class: "toolbar" }, this.pauseButton, this.agentInput, this.datalist, this.keyPrefixInput, chips, this.count);
  }
  connectedCallback() {
    if (!this.firstChild) this.append(this.toolbar, h("div", { class: "split side-narrow" }, this.seq, this.detail));
    this.offs = [live.on("records", (list) => this.added(list)), live.on("reset", () => this.refilter())];
    this.refilter();
  }
  disconnectedCallback() { for (const off of this.offs) off(); }
  group(kind) {
    for (const g of KIND_GROUPS) if (g[1].indexOf(kind) >= 0) return g[0];
    return "other";
  }
  match(r) {
    if (!this.kinds.has(this.group(r.kind))) return false;
    if (this.agent && r.from !== this.agent && r.to !== this.agent && !(r.from && r.from.indexOf(this.agent) === 0) && !(r.to && r.to.indexOf(this.agent) === 0)) return false;
    if (this.keyPrefix) {
      const name = r.name || "";
      const slash = name.indexOf("/");
      if (name.indexOf(this.keyPrefix) !== 0 && !(slash >= 0 && name.slice(slash + 1).indexOf(this.keyPrefix) === 0)) return false;
    }
    return true;
  }
  refilter() {
    if (this.paused) return;
    this.shown = live.records.filter((r) => this.match(r));
    this.seq.setItems(this.shown);
    this.updateParticipants();
    this.updateCount();
  }
  added(list) {
    if (this.paused) { this.missed += list.length; this.updateCount(); return; }
    const from = this.shown.length;
    for (const r of list) if (this.match(r)) this.shown.push(r);
    if (this.shown.length !== from) { this.seq.appended(from); this.updateParticipants(); }
    this.updateCount();
  }
  updateParticipants() {
    if (this.datalist.childElementCount === this.seq.cols.size) return;
    fill(this.datalist, ...[...this.seq.cols.keys()].map((p) => h("option", { value: p })));
  }
  updateCount() {
    this.count.textContent = this.shown.length + " of " + live.records.length + " messages" + (this.paused ? " \u2014 paused, " + this.missed + " new" : "");
    this.dataset.shown = String(this.shown.length);
  }
  togglePause() {
    this.paused = !this.paused;
    this.pauseButton.textContent = this.paused ? "Resume" : "Pause";
    this.classList.toggle("paused", this.paused);
    this.missed = 0;
    if (!this.paused) this.refilter(); else this.updateCount();
  }
  pick(i) {
    const r = this.shown[i];
    if (!r) return;
    this.seq.highlight = i;
    this.seq.render();
    this.detail.textContent = pretty(r);
  }
}
customElements.define("cv-messages", MessagesView);
`;
