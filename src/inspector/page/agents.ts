/**
 * The Agents view (every instance with capabilities, load, mailbox and state, and the
 * requests waiting for a reply) and the Catalog view (contracts as JSON Schema, and a form
 * generated from the input schema to call the agent when calls are allowed).
 * @internal
 */
export const agentsJs = String.raw`
class AgentsView extends PolledView {
  constructor() { super(); this.endpoint = "/api/agents"; }
  render(data) {
    const rows = data.agents.map((a) => h("tr", { "data-agent": a.agentId },
      h("td", { text: a.agentId }), h("td", { text: a.name }), h("td", { text: a.capabilities.join(", ") }),
      h("td", null, h("span", { class: "badge " + (a.active ? "ok" : "off"), text: a.state })),
      h("td", { class: "num", text: String(a.load) }),
      h("td", { class: "num", text: String(a.queued) }),
      h("td", { class: "num", text: String(a.running) })));
    const parts = data.mesh ? meshAgents(data.mesh) : [];
    parts.push(h(data.mesh ? "h3" : "h2", { text: (data.mesh ? "Instances in this process" : "Agents") + " (" + data.agents.length + ")" }),
      data.agents.length ? table(["agent", "name", "capabilities", "state", "load", "queued", "running"], rows, { class: "agents" }) : h("p", { class: "empty", text: "No agents." }));
    parts.push(h("h3", { text: "Requests waiting for a reply (" + data.pendingRequests.length + ")" }));
    if (data.pendingRequests.length) parts.push(table(["message", "from", "to", "since"], data.pendingRequests.map((p) =>
      h("tr", null, h("td", { text: p.id }), h("td", { text: p.from }), h("td", { text: p.to }), h("td", { text: when(p.since) })))));
    fill(this, ...parts);
  }
}
customElements.define("cv-agents", AgentsView);

// On a NATS mesh: every process's catalog records, with how recently each was rewritten.
function meshAgents(mesh) {
  const ago = (ms) => ms < 1000 ? "just now" : (ms / 1000).toFixed(1) + " s ago";
  const badge = { alive: "ok", silent: "warn", left: "off" };
  const rows = mesh.agents.map((a) => h("tr", { "data-mesh-agent": a.name, "data-process": a.process, "data-liveness": a.liveness },
    h("td", { text: a.name }), h("td", { text: a.process + (a.local ? " (this inspector)" : "") }),
    h("td", { text: a.capabilities.join(", ") }), h("td", { class: "num", text: String(a.instances) }),
    h("td", null, h("span", { class: "badge " + (badge[a.liveness] || "off"), title: "rewritten every " + a.refreshMs + " ms; silent after three missed", text: a.liveness })),
    h("td", { text: ago(a.lastSeenMs) })));
  return [h("h2", { text: "Mesh \u201c" + mesh.mesh + "\u201d: agents of every process (" + mesh.agents.length + ")" }),
    mesh.agents.length ? table(["name", "process", "capabilities", "instances", "liveness", "last seen"], rows, { class: "agents mesh" }) : h("p", { class: "empty", text: "No agents on the mesh." })];
}

// A form for a JSON Schema: returns { el, get } where get() builds the value or throws.
function schemaForm(schema, name, required) {
  schema = schema || {};
  if (schema.anyOf && schema.anyOf.length === 2 && schema.anyOf.some((s) => s.type === "null")) schema = schema.anyOf.find((s) => s.type !== "null");
  const label = name === undefined ? null : h("span", { class: "field-name", text: name + (required ? " *" : "") });
  const desc = schema.description ? h("small", { text: schema.description }) : null;
  const t = Array.isArray(schema.type) ? schema.type.find((x) => x !== "null") : schema.type;
  if (t === "object" && schema.properties) {
    const req = new Set(schema.required || []);
    const fields = Object.keys(schema.properties).map((k) => [k, schemaForm(schema.properties[k], k, req.has(k))]);
    const el = h("fieldset", { class: "obj" }, name === undefined ? null : h("legend", { text: name }), desc, fields.map((f) => f[1].el));
    return { el, get() {
      const out = {};
      for (const [k, f] of fields) { const v = f.get(); if (v !== undefined) out[k] = v; }
      return out;
    } };
  }
  if (Array.isArray(schema.enum)) {
    const select = h("select", { name: name || "value" }, required ? null : h("option", { value: "", text: "" }), schema.enum.map((v) => h("option", { value: JSON.stringify(v), text: String(v) })));
    return { el: h("label", { class: "field" }, label, select, desc), get() { return select.value === "" ? undefined : JSON.parse(select.value); } };
  }
  if (t === "string") {
    const input = h("input", { name: name || "value", type: "text", placeholder: schema.default !== undefined ? String(schema.default) : "" });
    return { el: h("label", { class: "field" }, label, input, desc), get() { return input.value === "" && !required ? undefined : input.value; } };
  }
  if (t === "number" || t === "integer") {
    const input = h("input", { name: name || "value", type: "number", step: t === "integer" ? "1" : "any" });
    return { el: h("label", { class: "field" }, label, input, desc), get() { return input.value === "" ? undefined : Number(input.value); } };
  }
  if (t === "boolean") {
    const input = h("input", { name: name || "value", type: "checkbox" });
    return { el: h("label", { class: "field check" }, input, label, desc), get() { return input.checked; } };
  }
  // Arrays, unions and schema-less input: JSON text.
  const area = h("textarea", { name: name || "value", rows: "3", placeholder: "JSON" + (t ? " (" + t + ")" : "") });
  return { el: h("label", { class: "field" }, label, area, desc), get() {
    if (area.value.trim() === "") return required || name === undefined ? null : undefined;
    return JSON.parse(area.value);
  } };
}

class CatalogView extends HTMLElement {
  async connectedCallback() {
    try {
      const data = await api("/api/catalog");
      fill(this, h("h2", { text: "Catalog (" + data.entries.length + ")" }),
        data.allowCalls ? null : h("p", { class: "note", text: "Read-only: start the inspector with { allowCalls: true } to call agents from here." }),
        data.entries.map((e) => this.card(e, data.allowCalls)));
    } catch (e) { fill(this, h("div", { class: "error", text: String(e) })); }
  }
  card(entry, allowCalls) {
    const parts = [h("h3", { text: entry.name }), entry.description ? h("p", { text: entry.description }) : null,
      h("p", { class: "meta", text: "capabilities: " + (entry.capabilities.join(", ") || "none") + " \u00b7 instances: " + entry.instances })];
    const schemas = h("div", { class: "schemas" },
      h("details", null, h("summary", { text: "input schema" }), h("pre", { text: entry.inputSchema ? pretty(entry.inputSchema) : "none (any JSON)" })),
      h("details", null, h("summary", { text: "output schema" }), h("pre", { text: entry.outputSchema ? pretty(entry.outputSchema) : "none" })));
    parts.push(schemas);
    if (allowCalls) {
      const form = schemaForm(entry.inputSchema, undefined, true);
      const timeout = h("input", { type: "number", class: "timeout", value: "30000", min: "0" });
      const result = h("div", { class: "result" });
      const button = h("button", { type: "submit", class: "call", text: "Call " + entry.name });
      const el = h("form", { class: "call-form", "data-agent": entry.name, onsubmit: async (ev) => {
        ev.preventDefault();
        let input;
        try { input = form.get(); } catch (e) { fill(result, h("div", { class: "error", text: "Not JSON: " + e.message })); return; }
        button.disabled = true;
        fill(result, h("span", { class: "note", text: "calling\u2026" }));
        try {
          const r = await api("/api/call", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: entry.name, input: input, timeout: Number(timeout.value) }) });
          fill(result, r.ok ? h("div", { class: "reply" }, h("strong", { text: "reply" }), h("pre", { text: pretty(r.value) })) : errorBox(r.error));
        } catch (e) { fill(result, h("div", { class: "error", text: String(e) })); }
        button.disabled = false;
      } }, form.el, h("div", { class: "row" }, h("label", null, "timeout ms ", timeout), button), result);
      parts.push(el);
    }
    return h("section", { class: "card", "data-agent": entry.name }, parts);
  }
}
customElements.define("cv-catalog", CatalogView);
`;
