/**
 * The studio page: one HTML document with its styles inline and its script from the studio itself
 * (`/studio.js`, built from src/studio/client), nothing fetched from elsewhere, served with a
 * per-response nonce that the Content-Security-Policy requires of every script and style.
 *
 * The document holds no session content: the script fills it in (see src/studio/client/dom.ts for
 * how untrusted text is put in).
 */

const STYLE = `
:root {
	--bg: #f6f7f9; --panel: #fff; --text: #1d2330; --muted: #667085; --line: #e3e6eb;
	--accent: #2f6feb; --accent-soft: #e8effd; --path: #1a7f4b; --path-soft: #e7f5ee;
	--warn: #b54708; --warn-soft: #fef0e6; --danger: #c4320a; --code: #f2f4f7;
	font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; font-size: 14px; color: var(--text); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; height: 100vh; display: flex; flex-direction: column; }
button { font: inherit; border: 1px solid var(--line); background: var(--panel); border-radius: 6px; padding: 3px 10px; cursor: pointer; color: var(--text); }
button:hover { border-color: var(--accent); }
button.danger { color: #fff; background: var(--danger); border-color: var(--danger); }
button.link { border: none; background: none; color: var(--accent); padding: 0 2px; }
input, select { font: inherit; border: 1px solid var(--line); border-radius: 6px; padding: 5px 8px; background: var(--panel); color: var(--text); min-width: 0; }
pre, code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
.muted { color: var(--muted); }
.top { display: flex; align-items: center; gap: 14px; padding: 8px 16px; background: var(--panel); border-bottom: 1px solid var(--line); }
.brand { font-size: 15px; white-space: nowrap; }
.store { color: var(--muted); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; flex: 1; }
.badge { display: inline-block; border-radius: 10px; padding: 1px 8px; font-size: 12px; background: var(--code); color: var(--muted); white-space: nowrap; }
.badge.readonly { background: var(--accent-soft); color: var(--accent); }
.badge.writable { background: var(--warn-soft); color: var(--warn); }
.badge.warn { background: var(--warn-soft); color: var(--warn); margin-left: 6px; }
.doctor-box { display: flex; align-items: center; gap: 8px; white-space: nowrap; }
main { flex: 1; display: grid; grid-template-columns: minmax(300px, 420px) 1fr; min-height: 0; }
.list-pane { border-right: 1px solid var(--line); display: flex; flex-direction: column; min-height: 0; background: var(--panel); }
.filters { padding: 10px 12px; display: grid; gap: 6px; border-bottom: 1px solid var(--line); }
.filters .row { display: grid; grid-template-columns: 1fr 1fr; gap: 6px; }
.filters label { color: var(--muted); display: flex; gap: 6px; align-items: center; }
.list-status { padding: 6px 12px; color: var(--muted); font-size: 12.5px; border-bottom: 1px solid var(--line); min-height: 28px; }
.table-wrap { overflow: auto; flex: 1; }
table.sessions { width: 100%; border-collapse: collapse; }
table.sessions th { position: sticky; top: 0; background: var(--panel); text-align: left; font-weight: 600; color: var(--muted); font-size: 12px; padding: 6px 12px; border-bottom: 1px solid var(--line); }
table.sessions td { padding: 5px 12px; border-bottom: 1px solid var(--line); vertical-align: top; }
table.sessions td.id { word-break: break-all; }
table.sessions td.time { white-space: nowrap; color: var(--muted); font-size: 12.5px; }
table.sessions tr.selected td { background: var(--accent-soft); }
table.sessions a { color: var(--text); text-decoration: none; }
table.sessions a:hover { color: var(--accent); text-decoration: underline; }
.num { text-align: right; white-space: nowrap; }
#more { margin: 10px 12px; }
.detail-pane { overflow: auto; padding: 16px 22px 40px; min-width: 0; }
.empty { color: var(--muted); margin-top: 20vh; text-align: center; }
.session-head { display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap; }
.session-head h2 { margin: 0; font-size: 18px; word-break: break-all; }
.chips { display: flex; flex-wrap: wrap; gap: 6px; margin: 8px 0 14px; }
.chip { background: var(--panel); border: 1px solid var(--line); border-radius: 12px; padding: 2px 9px; font-size: 12.5px; }
.chip b { font-weight: 600; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; margin-bottom: 14px; }
.card h3 { margin: 0 0 8px; font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.cards { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 14px; }
.problem { border-left: 3px solid var(--warn); padding: 2px 8px; margin: 6px 0; }
.problem .kind { font-weight: 600; color: var(--warn); }
.ok { color: var(--path); }
.error { color: var(--danger); background: var(--warn-soft); padding: 8px 12px; border-radius: 6px; white-space: pre-wrap; }
svg.growth-chart { width: 100%; height: auto; display: block; }
svg .axis { stroke: var(--line); }
svg .grid-label { fill: var(--muted); font-size: 10px; }
svg .area { fill: var(--accent-soft); }
svg .line { fill: none; stroke: var(--accent); stroke-width: 1.5; }
svg .compaction-mark { stroke: var(--warn); stroke-dasharray: 3 3; }
ol.largest { margin: 4px 0 0; padding: 0; list-style: none; display: flex; flex-wrap: wrap; gap: 2px 14px; font-size: 12.5px; }
ul.problems { margin: 0; padding: 0 16px; list-style: none; }
ul.problems:empty { display: none; }
#database-problems { background: var(--warn-soft); border-bottom: 1px solid var(--line); }
.tree-tools { display: flex; gap: 12px; align-items: center; margin-bottom: 8px; color: var(--muted); }
ol.chain { list-style: none; margin: 0; padding: 0; }
ol.chain ol.chain { padding-left: 0; }
li.entry { position: relative; padding: 6px 8px 6px 26px; border-left: 2px solid var(--line); margin-left: 8px; }
li.entry.on-path { border-left-color: var(--path); }
li.entry > .mark { position: absolute; left: -7px; top: 8px; width: 12px; height: 12px; border-radius: 50%; background: var(--panel); border: 2px solid var(--line); }
li.entry.on-path > .mark { border-color: var(--path); background: var(--path); }
li.entry.leaf > .mark { box-shadow: 0 0 0 3px var(--path-soft); }
li.entry.summarized { opacity: .55; }
.row-head { display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; font-size: 12.5px; color: var(--muted); }
.row-head .eid { font-family: ui-monospace, "DejaVu Sans Mono", monospace; color: var(--text); }
.row-head .role { font-weight: 600; color: var(--text); text-transform: lowercase; }
.role-user .row-head .role { color: #6941c6; }
.role-assistant .row-head .role { color: var(--accent); }
.row-head .leaf-tag { color: #fff; background: var(--path); border-radius: 8px; padding: 0 7px; font-weight: 600; }
.row-head .summarized-tag { font-style: italic; }
.text { white-space: pre-wrap; word-break: break-word; margin-top: 3px; line-height: 1.45; }
.role-user > .text { background: #f4f0ff; border-radius: 6px; padding: 5px 9px; display: inline-block; max-width: 100%; }
.cut { color: var(--muted); }
li.entry.compaction { border-left-color: var(--warn); padding-top: 10px; padding-bottom: 10px; }
li.entry.compaction > .mark { border-radius: 2px; background: var(--warn); border-color: var(--warn); }
.boundary-line { display: flex; align-items: center; gap: 10px; color: var(--warn); font-weight: 600; font-size: 12.5px; }
.boundary-line::before, .boundary-line::after { content: ""; flex: 1; border-top: 2px dashed var(--warn); }
li.entry.compaction .text { background: var(--warn-soft); border-radius: 6px; padding: 6px 10px; }
details.tool-call { margin-top: 4px; border: 1px solid var(--line); border-radius: 6px; background: var(--code); }
details.tool-call > summary { cursor: pointer; padding: 3px 8px; font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
details.tool-call.is-error > summary { color: var(--danger); }
details.tool-call > .body { padding: 4px 10px 8px; }
details.tool-call pre, pre.json { white-space: pre-wrap; word-break: break-word; margin: 2px 0 6px; background: var(--panel); border: 1px solid var(--line); border-radius: 4px; padding: 6px 8px; max-height: 420px; overflow: auto; }
.label { font-size: 11.5px; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; margin-top: 4px; }
details.thinking > summary { cursor: pointer; color: var(--muted); font-size: 12.5px; }
li.fork { margin-left: 8px; padding: 4px 0 0 0; }
.fork-head { color: var(--muted); font-size: 12.5px; padding: 2px 0 4px 10px; }
details.branch { margin: 0 0 8px 18px; border: 1px dashed var(--line); border-radius: 8px; padding: 2px 6px 4px; }
details.branch.on-path { border-color: var(--path); border-style: solid; }
details.branch > summary { cursor: pointer; font-size: 12.5px; color: var(--muted); padding: 3px 2px; }
details.branch.on-path > summary { color: var(--path); font-weight: 600; }
.tree.path-only .off-path { display: none; }
.tree-more { padding: 8px 0 0 8px; color: var(--muted); }
.tree-more[data-state="complete"] { display: none; }
li.entry.collapsed { border-left-style: dashed; }
ul.tree-warnings { list-style: none; margin: 0 0 8px; padding: 0; }
/* Flue 2: an instance's conversations as turns, child tasks nested in the call that ran them. */
.small { font-size: 12px; }
table.sessions td.id .small { word-break: normal; }
section.conversation { margin: 12px 0; }
section.conversation.child-task { margin: 6px 0 8px 18px; border-left: 3px solid var(--accent); padding: 4px 0 2px 10px; background: #fafbff; border-radius: 0 6px 6px 0; }
.conversation-head { display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; font-size: 12.5px; margin-bottom: 4px; }
.conversation-head .title { font-weight: 600; }
ol.turns { list-style: none; margin: 0; padding: 0; }
li.turn { border-left: 2px solid var(--line); margin: 0 0 8px 8px; padding: 4px 8px 4px 14px; }
.turn-label { font-size: 11px; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; }
.message { margin: 4px 0 6px; }
.message.role-user .text { background: #f4f0ff; border-radius: 6px; padding: 5px 9px; display: inline-block; max-width: 100%; }
.message.display-hidden, .message.display-diagnostic { opacity: .75; }
.compaction { margin: 8px 0; }
.compaction .text { background: var(--warn-soft); border-radius: 6px; padding: 6px 10px; }
svg.delta-chart { width: 100%; height: auto; display: block; margin: 4px 0; }
svg .bar-whole { fill: var(--code); }
svg .bar-part { fill: var(--accent); opacity: .35; }
svg .bar-label { fill: var(--text); font-size: 12px; }
.delta-share { margin: 0 0 4px; }
/* Stored text keeps its direction to itself: a right-to-left id does not reorder what surrounds it. */
.eid, .session-id, td.id a, .chip b, .kind, #store, #confirm-id, .fork-head, summary, .conversation-head span { unicode-bidi: isolate; }
.text, pre.json, .error { unicode-bidi: plaintext; }
dialog { border: 1px solid var(--line); border-radius: 10px; padding: 18px 22px; max-width: 520px; }
dialog::backdrop { background: rgba(16, 24, 40, .35); }
dialog h3 { margin-top: 0; }
dialog .buttons { display: flex; justify-content: flex-end; gap: 8px; margin-top: 14px; }
`;

/** The path the page loads its script from. */
export const SCRIPT_PATH = '/studio.js';

/** The page, with `nonce` on its one style and one script element. */
export function renderPage(nonce: string): string {
	return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>flue-persist studio</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<header class="top">
	<div class="brand">flue-persist <b>studio</b></div>
	<div id="store" class="store"></div>
	<span id="mode" class="badge"></span>
	<div class="doctor-box"><span id="doctor-status" class="muted"></span><button id="doctor-run" type="button" hidden>Run doctor</button></div>
</header>
<ul id="database-problems" class="problems"></ul>
<main>
	<section class="list-pane" aria-label="Sessions">
		<div class="filters">
			<input id="q" type="search" placeholder="Search session ids" autocomplete="off" spellcheck="false" aria-label="Search session ids">
			<div class="row">
				<input id="prefix" placeholder="Id prefix" autocomplete="off" spellcheck="false" aria-label="Id prefix">
				<input id="since" placeholder="Since: 2026-01-31 or 7d" autocomplete="off" aria-label="Written since">
			</div>
			<label>Sort <select id="sort" aria-label="Sort"><option value="time">newest first</option><option value="size">largest first</option><option value="id">by id</option></select></label>
		</div>
		<div id="list-status" class="list-status" data-state="loading"></div>
		<div class="table-wrap">
			<table class="sessions"><thead><tr><th>Session</th><th>Last write (UTC)</th><th class="num">Size</th></tr></thead><tbody id="session-rows"></tbody></table>
			<button id="more" type="button" hidden>Load more</button>
		</div>
	</section>
	<section id="detail" class="detail-pane" aria-live="polite" data-state="empty"></section>
</main>
<dialog id="confirm-delete">
	<h3>Delete this session?</h3>
	<p class="mono" id="confirm-id"></p>
	<p class="muted">The session is removed from the store. This cannot be undone.</p>
	<p class="error-text" id="confirm-error"></p>
	<div class="buttons"><button type="button" id="confirm-cancel">Cancel</button><button type="button" id="confirm-ok" class="danger">Delete</button></div>
</dialog>
<script nonce="${nonce}" src="${SCRIPT_PATH}"></script>
</body>
</html>
`;
}
