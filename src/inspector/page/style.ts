/** The page's stylesheet. @internal */
export const pageCss = String.raw`
:root { --fg: #1d2330; --muted: #6b7385; --line: #d9dde6; --bg: #f6f7fa; --card: #fff; --accent: #3b5bdb; --ok: #2b8a3e; --bad: #c92a2a; --warn: #e67700;
  font: 13px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
* { box-sizing: border-box; }
body { margin: 0; }
header { display: flex; align-items: center; gap: 18px; padding: 8px 16px; background: #1d2330; color: #fff; position: sticky; top: 0; z-index: 5; }
header h1 { font-size: 15px; margin: 0; font-weight: 600; }
header h1 span { font-weight: 400; opacity: .7; }
nav { display: flex; gap: 2px; flex: 1; }
nav a { color: #cfd5e2; text-decoration: none; padding: 5px 10px; border-radius: 4px; }
nav a.active, nav a:hover { background: #35405a; color: #fff; }
#status { font-size: 12px; padding: 2px 8px; border-radius: 10px; }
#status.ok { background: #2b8a3e; } #status.off { background: #c92a2a; }
main { padding: 12px 16px; }
h2 { font-size: 17px; margin: 4px 0 10px; } h3 { font-size: 14px; margin: 14px 0 6px; } h4 { font-size: 13px; margin: 10px 0 4px; }
table { border-collapse: collapse; background: var(--card); width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef0f5; font-weight: 600; font-size: 12px; color: #3d4557; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.v, td.k, pre, .seq-row { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
pre { background: var(--card); border: 1px solid var(--line); padding: 8px; overflow: auto; margin: 4px 0; max-height: 50vh; }
.badge { padding: 1px 7px; border-radius: 9px; font-size: 11px; background: #e9ecef; }
.badge.ok { background: #d3f9d8; color: var(--ok); } .badge.off { background: #ffe3e3; color: var(--bad); } .badge.warn { background: #fff3bf; color: #8a6d00; }
.note, .empty, .meta, .count { color: var(--muted); }
.error { color: var(--bad); background: #fff5f5; border: 1px solid #ffc9c9; padding: 6px 8px; border-radius: 4px; }
.error .cause { margin-top: 4px; }
.reply { background: #ebfbee; border: 1px solid #b2f2bb; padding: 6px 8px; border-radius: 4px; }
.toolbar { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; margin-bottom: 8px; }
input, select, textarea, button { font: inherit; padding: 3px 6px; border: 1px solid #c2c8d4; border-radius: 4px; background: #fff; }
button { cursor: pointer; background: #eef0f5; } button:hover { background: #e2e6ee; }
button.call, button.pause { background: var(--accent); color: #fff; border-color: var(--accent); }
.paused button.pause { background: var(--warn); border-color: var(--warn); }
.chip { display: inline-flex; gap: 3px; align-items: center; padding: 1px 6px; border: 1px solid var(--line); border-radius: 10px; background: #fff; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; margin-bottom: 10px; }
.card h3 { margin-top: 2px; }
.schemas { display: flex; gap: 12px; } .schemas details { flex: 1; }
fieldset { border: 1px solid var(--line); border-radius: 4px; margin: 6px 0; }
.field { display: flex; flex-direction: column; gap: 2px; margin: 4px 0; max-width: 520px; }
.field.check { flex-direction: row; align-items: center; gap: 6px; }
.field-name { font-weight: 600; font-size: 12px; }
.call-form .row { display: flex; gap: 10px; align-items: center; margin: 6px 0; }
.call-form input.timeout { width: 90px; }
.split { display: flex; gap: 12px; align-items: flex-start; }
.split > :first-child { flex: 3; min-width: 0; } .split > :last-child { flex: 2; min-width: 0; }
.split.side-narrow > :last-child { flex: 0 0 320px; }
.detail { max-height: 70vh; }
tr.key, .history li { cursor: pointer; }
table.keys, table.replay-state, table.events { table-layout: fixed; }
table.keys td, table.replay-state td, table.events td { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
table.keys th:nth-child(2) { width: 80px; } table.keys th:nth-child(4) { width: 112px; } table.keys th:nth-child(3) { width: 100px; }
table.events th:nth-child(1), table.events th:nth-child(2) { width: 100px; } table.events th:nth-child(3) { width: 180px; } table.events th:nth-child(4) { width: 110px; }
.state-pane { position: sticky; top: 56px; max-height: calc(100vh - 70px); overflow: auto; }
tr.key:hover, tr.selected, .history li.selected { background: #e7ecff; }
tr.changed { background: #fff3bf; }
.history { padding-left: 20px; } .history li { padding: 2px 4px; }
.diff div { white-space: pre; } .diff .add { background: #d3f9d8; } .diff .del { background: #ffe3e3; }
.unread { font-weight: 600; }
cv-sequence { display: block; border: 1px solid var(--line); background: var(--card); }
.seq-head { overflow: hidden; border-bottom: 1px solid var(--line); background: #eef0f5; }
.seq-head-inner { display: flex; height: 26px; align-items: center; }
.seq-gutter-head { width: 226px; flex: none; padding-left: 6px; color: var(--muted); font-size: 11px; }
.seq-part { width: 140px; flex: none; text-align: center; font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; padding: 0 4px; }
.seq-body { position: relative; overflow: auto; height: calc(100vh - 190px); min-height: 300px; outline: none; }
.seq-spacer { position: relative; }
.seq-lanes { position: absolute; left: 226px; top: 0; bottom: 0; background-image: linear-gradient(to right, #c5cbd8 1px, transparent 1px); background-size: 140px 100%; background-position: 70px 0; }
.seq-row { position: absolute; left: 0; right: 0; height: 22px; cursor: pointer; white-space: nowrap; }
.seq-row:hover { background: rgba(59, 91, 219, .06); } .seq-row.current { background: #fff3bf; }
.seq-gutter { position: absolute; left: 0; width: 222px; padding: 3px 6px; overflow: hidden; text-overflow: ellipsis; color: var(--muted); }
.seq-no { display: inline-block; width: 40px; text-align: right; } .seq-at { display: inline-block; width: 88px; } .seq-kind { color: var(--fg); }
.seq-arrow { position: absolute; top: 14px; height: 0; border-top: 1.5px solid #364fc7; }
.seq-arrow::after { content: ""; position: absolute; right: -1px; top: -5.5px; border: 4.5px solid transparent; border-left: 7px solid #364fc7; border-right: 0; }
.seq-arrow.rtl::after { right: auto; left: -1px; border-left: 0; border-right: 7px solid #364fc7; }
.seq-arrow.a-reply { border-top-style: dashed; border-top-color: #2b8a3e; } .seq-arrow.a-reply::after { border-left-color: #2b8a3e; } .seq-arrow.a-reply.rtl::after { border-left-color: transparent; border-right-color: #2b8a3e; }
.seq-arrow.a-fail { border-top-color: #c92a2a; } .seq-arrow.a-fail::after { border-left-color: #c92a2a; } .seq-arrow.a-fail.rtl::after { border-left-color: transparent; border-right-color: #c92a2a; }
.k-read .seq-note { background: #f8f9fa; border-color: #ced4da; }
.seq-label { position: absolute; left: 0; right: 0; top: -14px; text-align: center; font-size: 11px; overflow: hidden; text-overflow: ellipsis; }
.seq-note { position: absolute; top: 3px; padding: 0 6px; border-radius: 3px; font-size: 11px; background: #fff9db; border: 1px solid #ffe066; max-width: 420px; overflow: hidden; text-overflow: ellipsis; }
.k-state .seq-note { background: #e7f5ff; border-color: #a5d8ff; }
.k-event .seq-note { background: #f3f0ff; border-color: #d0bfff; }
.k-publish .seq-note { background: #e6fcf5; border-color: #96f2d7; }
.k-lock .seq-note, .k-lock-expired .seq-note, .k-semaphore .seq-note, .k-barrier .seq-note { background: #fff4e6; border-color: #ffc078; }
.replay-side { max-height: calc(100vh - 170px); overflow: auto; }
.slider { flex: 1; min-width: 160px; }
`;
