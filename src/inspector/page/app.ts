/**
 * The page's shell: the router between views (by `location.hash`) and the connection status.
 * @internal
 */
export const appJs = String.raw`
const VIEWS = [
  ["agents", "Agents", "cv-agents"],
  ["catalog", "Catalog", "cv-catalog"],
  ["messages", "Messages", "cv-messages"],
  ["state", "State", "cv-state"],
  ["coordination", "Coordination", "cv-coordination"],
  ["events", "Events", "cv-events"],
  ["board", "Board", "cv-board"],
  ["replay", "Replay", "cv-replay"],
];
const made = new Map();

function route() {
  const name = location.hash.slice(1) || "agents";
  const spec = VIEWS.find((v) => v[0] === name) || VIEWS[0];
  // Views that hold what the user set up (filters, a loaded trace) are kept between visits.
  let view = made.get(spec[0]);
  if (!view) { view = document.createElement(spec[2]); view.classList.add("view"); if (spec[0] === "messages" || spec[0] === "replay") made.set(spec[0], view); }
  document.getElementById("view").replaceChildren(view);
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.getAttribute("href") === "#" + spec[0]);
  document.title = spec[1] + " \u2014 covey inspector";
}

function status() {
  const el = document.getElementById("status");
  el.textContent = live.connected ? "live" + (live.allowCalls ? " \u00b7 calls allowed" : " \u00b7 read-only") : "disconnected";
  el.className = live.connected ? "ok" : "off";
}

document.getElementById("nav").replaceChildren(...VIEWS.map((v) => h("a", { href: "#" + v[0], text: v[1] })));
// The Board tab only when the system has a board.
api("/api/board").then((d) => { if (!d.inUse) document.querySelector('nav a[href="#board"]').hidden = true; }, () => undefined);
live.on("status", status);
live.start();
window.addEventListener("hashchange", route);
route();
`;
