/**
 * The State view: keys by namespace with value, version, writer and time, kept live by the
 * server's watch; a key's retained history with a line diff between versions.
 * @internal
 */
export const stateJs = String.raw`
// Line diff by longest common subsequence; too large inputs fall back to "all replaced".
function diffLines(a, b) {
  const x = a.split("\n"), y = b.split("\n");
  if (x.length * y.length > 4000000) return x.map((l) => ["-", l]).concat(y.map((l) => ["+", l]));
  const n = x.length, m = y.length;
  const dp = new Array(n + 1);
  for (let i = 0; i <= n; i++) dp[i] = new Uint32Array(m + 1);
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) dp[i][j] = x[i] === y[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) { out.push([" ", x[i]]); i++; j++; }
    else if (dp[i + 1][j] >= dp[i][j + 1]) out.push(["-", x[i++]]);
    else out.push(["+", y[j++]]);
  }
  while (i < n) out.push(["-", x[i++]]);
  while (j < m) out.push(["+", y[j++]]);
  return out;
}
function diffView(before, after) {
  return h("pre", { class: "diff" }, diffLines(before, after).map((d) => h("div", { class: d[0] === "+" ? "add" : d[0] === "-" ? "del" : "same", text: d[0] + " " + d[1] })));
}

class StateView extends HTMLElement {
  constructor() {
    super();
    this.data = null;
    this.selected = null;
    this.filter = "";
    this.list = h("div", { class: "state-list" });
    this.pane = h("div", { class: "state-pane" }, h("p", { class: "note", text: "Click a key to see its value and history." }));
  }
  async connectedCallback() {
    if (!this.firstChild) this.append(h("h2", { text: "State" }), h("div", { class: "toolbar" }, h("input", { class: "f-key", placeholder: "key prefix", oninput: (e) => { this.filter = e.target.value; this.draw(); } })), h("div", { class: "split" }, this.list, this.pane));
    this.off = live.on("state", (changes) => this.changed(changes));
    try { this.data = await api("/api/state"); this.draw(); }
    catch (e) { fill(this.list, h("div", { class: "error", text: String(e) })); }
  }
  disconnectedCallback() { if (this.off) this.off(); }
  changed(changes) {
    if (!this.data) return;
    let selectedChanged = false;
    for (const c of changes) {
      let ns = this.data.namespaces.find((n) => n.name === c.namespace);
      if (!ns) { ns = { name: c.namespace, total: 0, keys: [] }; this.data.namespaces.push(ns); }
      const i = ns.keys.findIndex((k) => k.key === c.key);
      if (c.type === "delete") { if (i >= 0) { ns.keys.splice(i, 1); ns.total--; } }
      else if (i >= 0) { if (ns.keys[i].version < c.entry.version) ns.keys[i] = c.entry; }
      else { ns.keys.push(c.entry); ns.keys.sort((p, q) => (p.key < q.key ? -1 : p.key > q.key ? 1 : 0)); ns.total++; }
      if (this.selected && this.selected.ns === c.namespace && this.selected.key === c.key) selectedChanged = true;
    }
    this.draw();
    if (selectedChanged) this.open(this.selected.ns, this.selected.key, true);
  }
  draw() {
    const parts = [];
    for (const ns of this.data.namespaces) {
      const keys = ns.keys.filter((k) => k.key.indexOf(this.filter) === 0);
      const rows = keys.map((k) => h("tr", { class: "key" + (this.selected && this.selected.ns === ns.name && this.selected.key === k.key ? " selected" : ""), "data-ns": ns.name, "data-key": k.key, onclick: () => this.open(ns.name, k.key) },
        h("td", { class: "k", text: k.key }), h("td", { class: "num", text: "v" + k.version }), h("td", { text: k.updatedBy }), h("td", { text: when(k.timestamp) }), h("td", { class: "v", text: short(k.value, 70) })));
      parts.push(h("h3", { text: ns.name + " (" + ns.total + (ns.total > ns.keys.length ? ", first " + ns.keys.length + " shown" : "") + ")" }),
        rows.length ? table(["key", "version", "updated by", "when", "value"], rows, { class: "keys" }) : h("p", { class: "empty", text: "no keys" }));
    }
    fill(this.list, ...parts);
  }
  async open(ns, key, keepVersion) {
    this.selected = { ns: ns, key: key, version: keepVersion && this.selected ? this.selected.version : undefined };
    this.draw();
    const d = await api("/api/state/key?ns=" + encodeURIComponent(ns) + "&key=" + encodeURIComponent(key));
    const hist = d.history.filter((c) => c.entry);
    const versions = hist.map((c) => h("li", { class: "version", "data-version": String(c.entry.version), onclick: () => { this.selected.version = c.entry.version; this.showVersion(d, hist, c.entry.version); } },
      h("strong", { text: "v" + c.entry.version }), " by " + c.entry.updatedBy + " at " + when(c.entry.timestamp)));
    this.hist = h("ol", { class: "history" }, versions);
    this.versionPane = h("div", { class: "version-pane" });
    fill(this.pane, 
      h("h3", { text: ns + " / " + key }),
      d.entry ? h("p", { class: "meta", text: "v" + d.entry.version + " \u00b7 updated by " + d.entry.updatedBy + " \u00b7 " + when(d.entry.timestamp) }) : h("p", { class: "note", text: "deleted" }),
      d.entry ? h("pre", { class: "value", text: pretty(d.entry.value) }) : null,
      h("h4", { text: "History (" + hist.length + " retained " + (hist.length === 1 ? "version" : "versions") + ")" }), this.hist, this.versionPane);
    const v = this.selected.version;
    if (v !== undefined && hist.some((c) => c.entry.version === v)) this.showVersion(d, hist, v);
  }
  showVersion(d, hist, version) {
    const i = hist.findIndex((c) => c.entry.version === version);
    for (const li of this.hist.children) li.classList.toggle("selected", li.dataset.version === String(version));
    const cur = hist[i];
    const prev = i > 0 ? hist[i - 1] : null;
    fill(this.versionPane, 
      h("h4", { text: prev ? "v" + prev.entry.version + " \u2192 v" + cur.entry.version : "v" + cur.entry.version + " (oldest retained)" }),
      diffView(prev ? pretty(prev.entry.value) : "", pretty(cur.entry.value)));
  }
}
customElements.define("cv-state", StateView);
`;
