/**
 * The studio page: one self-contained HTML document (styles and script inline, nothing fetched
 * from elsewhere), served with a per-response nonce that the Content-Security-Policy requires of
 * every script and style.
 *
 * Session content is untrusted. The script builds every element with `createElement` and puts
 * text in with `textContent`; it never assigns HTML, and the only links it makes are `#id=…`
 * fragments built with `encodeURIComponent`.
 *
 * The script is plain ES2020 in a `String.raw` template, so it must not contain a backtick or a
 * dollar sign followed by a brace.
 */

const STYLE = String.raw`
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
dialog { border: 1px solid var(--line); border-radius: 10px; padding: 18px 22px; max-width: 520px; }
dialog::backdrop { background: rgba(16, 24, 40, .35); }
dialog h3 { margin-top: 0; }
dialog .buttons { display: flex; justify-content: flex-end; gap: 8px; margin-top: 14px; }
`;

const SCRIPT = String.raw`
(function () {
	'use strict';
	var token = new URLSearchParams(location.search).get('token') || '';
	var AUTO_SCAN = 100000;
	var PAGE = 100;
	var state = { info: null, list: { gen: 0, cursor: null, shown: 0 }, sessionId: null, sessionGen: 0, doctorTimer: null };

	function byId(id) { return document.getElementById(id); }

	function append(el, children) {
		for (var i = 0; i < children.length; i++) {
			var c = children[i];
			if (c === null || c === undefined || c === false) continue;
			if (Array.isArray(c)) append(el, c);
			else if (typeof c === 'string' || typeof c === 'number') el.appendChild(document.createTextNode(String(c)));
			else el.appendChild(c);
		}
		return el;
	}

	function setAttrs(el, attrs) {
		if (!attrs) return el;
		Object.keys(attrs).forEach(function (k) {
			var v = attrs[k];
			if (v === null || v === undefined || v === false) return;
			if (k === 'text') el.textContent = String(v);
			else if (k === 'class') el.setAttribute('class', String(v));
			else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
			else el.setAttribute(k, v === true ? '' : String(v));
		});
		return el;
	}

	function h(tag, attrs, children) { return append(setAttrs(document.createElement(tag), attrs), children || []); }
	function s(tag, attrs, children) { return append(setAttrs(document.createElementNS('http://www.w3.org/2000/svg', tag), attrs), children || []); }

	function fmtBytes(n) {
		if (typeof n !== 'number' || !isFinite(n) || n < 0) return '?';
		if (n < 1024) return n + ' B';
		var units = ['KiB', 'MiB', 'GiB', 'TiB'];
		var v = n / 1024, i = 0;
		while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
		return v.toFixed(1) + ' ' + units[i];
	}
	function fmtTime(iso) {
		var t = Date.parse(iso);
		if (isNaN(t)) return String(iso);
		return new Date(t).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
	}
	function fmtInt(n) { return Number(n).toLocaleString('en-US'); }
	function plural(n, one, many) { return fmtInt(n) + ' ' + (n === 1 ? one : (many || one + 's')); }
	function classWord(text) { return String(text).replace(/[^A-Za-z0-9_-]/g, '_'); }

	async function api(method, path, params) {
		var url = new URL(path, location.origin);
		Object.keys(params || {}).forEach(function (k) {
			var v = params[k];
			if (v !== null && v !== undefined && v !== '') url.searchParams.set(k, String(v));
		});
		var response = await fetch(url.toString(), { method: method, headers: { 'x-studio-token': token }, cache: 'no-store' });
		var body = null;
		try { body = await response.json(); } catch (e) { body = null; }
		if (!response.ok) {
			var error = new Error((body && body.error) || ('the studio answered ' + response.status));
			error.status = response.status;
			throw error;
		}
		return body;
	}

	function contentText(content) {
		if (typeof content === 'string') return content;
		if (!Array.isArray(content)) return '';
		var out = [];
		content.forEach(function (p) {
			if (!p || typeof p !== 'object') return;
			if (p.type === 'text' && typeof p.text === 'string') out.push(p.text);
			else if (p.type === 'image') out.push('[image]');
		});
		return out.join('\n');
	}

	/* ---------- the session list ---------- */

	var filters = { q: byId('q'), prefix: byId('prefix'), since: byId('since'), sort: byId('sort') };

	function setListStatus(kind, text) {
		var el = byId('list-status');
		el.setAttribute('data-state', kind);
		el.classList.toggle('error', kind === 'error');
		el.textContent = text;
	}

	function sessionRow(item) {
		var link = h('a', { href: '#id=' + encodeURIComponent(item.id), class: 'open', text: item.id });
		var mark = item.problems > 0 ? h('span', { class: 'badge warn', title: 'doctor found ' + plural(item.problems, 'problem'), text: '⚠ ' + item.problems }) : null;
		return h('tr', { 'data-session-id': item.id, class: item.id === state.sessionId ? 'selected' : null }, [
			h('td', { class: 'id' }, [link, mark]),
			h('td', { class: 'time', text: fmtTime(item.updatedAt) }),
			h('td', { class: 'size num', text: fmtBytes(item.bytes) }),
		]);
	}

	function markSelected() {
		var rows = byId('session-rows').children;
		for (var i = 0; i < rows.length; i++) rows[i].classList.toggle('selected', rows[i].getAttribute('data-session-id') === state.sessionId);
	}

	async function loadList(reset) {
		var L = state.list;
		if (reset) {
			L.gen++;
			L.cursor = null;
			L.shown = 0;
			byId('session-rows').replaceChildren();
		}
		var gen = L.gen;
		var sort = filters.sort.value;
		var found = 0, scanned = 0, page = null;
		byId('more').hidden = true;
		setListStatus('loading', 'Loading…');
		try {
			do {
				page = await api('GET', '/api/sessions', { q: filters.q.value.trim(), prefix: filters.prefix.value, since: filters.since.value.trim(), sort: sort, cursor: L.cursor, limit: PAGE });
				if (gen !== L.gen) return;
				var body = byId('session-rows');
				page.sessions.forEach(function (item) { body.appendChild(sessionRow(item)); });
				found += page.sessions.length;
				scanned += page.scanned;
				L.cursor = page.cursor;
				L.shown += page.sessions.length;
				// A search reads the ids in bounded steps; keep reading until a page is full, up to a bound per click.
			} while (sort === 'id' && page.cursor && found < PAGE && scanned < AUTO_SCAN);
		} catch (e) {
			if (gen === L.gen) setListStatus('error', e.message);
			return;
		}
		var text;
		var searching = filters.q.value.trim() !== '' || filters.since.value.trim() !== '';
		if (sort === 'id') {
			text = plural(L.shown, 'session') + (page.cursor ? ' shown, more to read' : (searching ? ' match' : ''));
			if (page.cursor && searching) text += ' (searched ' + fmtInt(scanned) + ' ids this time)';
		} else {
			text = plural(page.matches, 'session') + (searching ? ' match' : '') + ', ' + (sort === 'time' ? 'newest first' : 'largest first');
			if (!page.complete) text += '. Sorted among the first ' + fmtInt(state.info.limits.sortScan) + ' sessions in id order only; narrow with a prefix or sort by id to see the rest.';
		}
		setListStatus('ready', text);
		byId('more').hidden = !page.cursor;
		byId('more').textContent = sort === 'id' && searching && found === 0 ? 'Keep searching' : 'Load more';
	}

	var timer = null;
	function reloadSoon() {
		clearTimeout(timer);
		timer = setTimeout(function () { loadList(true); }, 250);
	}
	[filters.q, filters.prefix, filters.since].forEach(function (input) {
		input.addEventListener('input', reloadSoon);
		input.addEventListener('keydown', function (e) { if (e.key === 'Enter') { clearTimeout(timer); loadList(true); } });
	});
	filters.sort.addEventListener('change', function () { loadList(true); });
	byId('more').addEventListener('click', function () { loadList(false); });

	/* ---------- doctor ---------- */

	function doctorText(d) {
		if (d.state === 'idle') return 'Doctor has not checked this database yet.';
		if (d.state === 'running') return 'Doctor is checking: ' + fmtInt(d.done) + (d.total === null ? '' : ' of ' + fmtInt(d.total)) + ' sessions…';
		if (d.state === 'failed') return 'Doctor failed: ' + d.error;
		if (d.state === 'done') {
			var text = d.problems === 0 ? 'Doctor found no damage' : 'Doctor found ' + plural(d.problems, 'problem') + ' in ' + plural(d.sessions, 'session') + (d.database.length ? ' and the database' : '');
			return text + ' (' + fmtTime(d.finishedAt) + ')' + (d.incomplete ? '; ' + d.incomplete : '') + '.';
		}
		return '';
	}

	function showDoctor(d) {
		var box = byId('doctor-status');
		box.textContent = doctorText(d);
		box.setAttribute('data-state', d.state);
		var button = byId('doctor-run');
		button.hidden = d.state === 'unavailable';
		button.disabled = d.state === 'running';
		button.textContent = d.state === 'done' || d.state === 'failed' ? 'Run doctor again' : 'Run doctor';
		var list = byId('database-problems');
		list.replaceChildren();
		(d.database || []).forEach(function (p) { list.appendChild(problemElement(p)); });
	}

	async function pollDoctor() {
		clearTimeout(state.doctorTimer);
		var d;
		try { d = await api('GET', '/api/doctor'); } catch (e) { byId('doctor-status').textContent = e.message; return; }
		showDoctor(d);
		if (d.state === 'running') state.doctorTimer = setTimeout(pollDoctor, 400);
		else if (d.state === 'done') {
			loadList(true);
			if (state.sessionId !== null) openSession(state.sessionId);
		}
	}

	byId('doctor-run').addEventListener('click', async function () {
		try {
			showDoctor(await api('POST', '/api/doctor'));
			state.doctorTimer = setTimeout(pollDoctor, 200);
		} catch (e) { byId('doctor-status').textContent = e.message; }
	});

	function problemElement(p) {
		return h('li', { class: 'problem', 'data-kind': p.kind }, [
			h('span', { class: 'kind', text: p.kind }), ' · ', h('span', { class: 'muted', text: p.table }),
			h('div', { text: p.detail }),
			h('div', { class: 'muted', text: (p.fixable ? 'flue-persist doctor --fix will ' : 'Left as it is: ') + p.remedy }),
		]);
	}

	/* ---------- one session ---------- */

	function chip(label, value) { return h('span', { class: 'chip' }, [label + ' ', h('b', { text: value })]); }

	function renderHead(v) {
		var head = h('div', { class: 'session-head' }, [h('h2', { class: 'session-id', text: v.id })]);
		if (state.info.allowDelete) {
			head.appendChild(h('button', { type: 'button', class: 'danger', 'data-action': 'delete', text: 'Delete session…', onclick: function () { askDelete(v.id); } }));
		}
		var chips = h('div', { class: 'chips' });
		if (v.stats) {
			chips.appendChild(chip('entries', fmtInt(v.stats.entries)));
			chips.appendChild(chip('branches', fmtInt(v.stats.branches)));
			if (v.stats.compactions) chips.appendChild(chip('compactions', fmtInt(v.stats.compactions)));
			if (v.stats.toolCalls) chips.appendChild(chip('tool calls', fmtInt(v.stats.toolCalls)));
			chips.appendChild(chip('leaf', v.stats.leafId === null ? 'none' : v.stats.leafId + (v.stats.leafExists ? '' : ' (missing)')));
		}
		if (v.item) {
			chips.appendChild(chip('stored', fmtBytes(v.item.bytes)));
			chips.appendChild(chip('last write', fmtTime(v.item.updatedAt)));
		}
		if (v.header) {
			if (typeof v.header.createdAt === 'string') chips.appendChild(chip('created', fmtTime(v.header.createdAt)));
			chips.appendChild(chip('version', String(v.header.version)));
			if (v.header.extraFields.length) chips.appendChild(chip('other fields', v.header.extraFields.join(', ')));
		}
		var out = [head, chips];
		if (v.header && v.header.metadata) out.push(h('div', { class: 'card' }, [h('h3', { text: 'Metadata' }), h('pre', { class: 'json', text: v.header.metadata.text + (v.header.metadata.truncated ? '…' : '') })]));
		return out;
	}

	function renderChecks(v) {
		var seen = {};
		var problems = [];
		(v.problems || []).concat(v.doctor ? v.doctor.problems : []).forEach(function (p) {
			var key = p.kind + '\u0000' + p.detail;
			if (!seen[key]) { seen[key] = true; problems.push(p); }
		});
		var card = h('section', { class: 'card checks', 'data-problems': String(problems.length) }, [h('h3', { text: 'Checks' })]);
		if (v.loadError) card.appendChild(h('div', { class: 'error', text: 'The store refuses to load this session (' + v.loadError.code + '): ' + v.loadError.message }));
		if (problems.length) card.appendChild(h('ul', { class: 'problems' }, problems.map(problemElement)));
		else if (!v.loadError) card.appendChild(h('p', { class: 'ok', text: 'No damage in this session’s data.' }));
		var d = v.doctor ? v.doctor.state : 'unavailable';
		var note = d === 'done' ? 'Includes the last doctor run over every stored row.'
			: d === 'running' ? 'Doctor is checking the database.'
			: d === 'unavailable' ? 'Only the loaded data was checked.'
			: 'The loaded data was checked; doctor checks the stored rows too (parts, chunks, counters): Run doctor, above.';
		card.appendChild(h('p', { class: 'muted', text: note }));
		return card;
	}

	function renderGrowth(g) {
		var W = 640, H = 120, L = 58, R = 10, T = 8, B = 20;
		var maxX = Math.max(1, g.entries), maxY = Math.max(1, g.totalBytes);
		function x(n) { return (L + (W - L - R) * n / maxX).toFixed(1); }
		function y(b) { return (T + (H - T - B) * (1 - b / maxY)).toFixed(1); }
		var svg = s('svg', { viewBox: '0 0 ' + W + ' ' + H, class: 'growth-chart', role: 'img', 'aria-label': 'Size after each entry: ' + fmtBytes(g.totalBytes) + ' after ' + plural(g.entries, 'entry', 'entries') });
		[0, 0.5, 1].forEach(function (f) {
			svg.appendChild(s('line', { class: 'axis', x1: L, x2: W - R, y1: y(maxY * f), y2: y(maxY * f) }));
			svg.appendChild(s('text', { class: 'grid-label', x: L - 6, y: Number(y(maxY * f)) + 3, 'text-anchor': 'end', text: fmtBytes(Math.round(maxY * f)) }));
		});
		g.compactions.forEach(function (n) {
			svg.appendChild(s('line', { class: 'compaction-mark', x1: x(n), x2: x(n), y1: T, y2: H - B }, [s('title', { text: 'compaction at entry ' + n })]));
		});
		var pts = g.points.map(function (p) { return x(p[0]) + ',' + y(p[1]); });
		if (pts.length) {
			svg.appendChild(s('polygon', { class: 'area', points: x(0) + ',' + y(0) + ' ' + pts.join(' ') + ' ' + x(g.points[g.points.length - 1][0]) + ',' + y(0) }));
			svg.appendChild(s('polyline', { class: 'line', points: pts.join(' ') }));
		}
		svg.appendChild(s('text', { class: 'grid-label', x: L, y: H - 6, text: 'entry 0' }));
		svg.appendChild(s('text', { class: 'grid-label', x: W - R, y: H - 6, 'text-anchor': 'end', text: 'entry ' + fmtInt(g.entries) }));
		var card = h('section', { class: 'card growth' }, [h('h3', { text: 'Size' }), svg,
			h('div', { class: 'muted', text: fmtBytes(g.totalBytes) + ' of JSON: ' + fmtBytes(g.headerBytes) + ' header, the rest in ' + plural(g.entries, 'entry', 'entries') + (g.compactions.length ? '; dashed lines mark compactions' : '') })]);
		if (g.largest.length) {
			card.appendChild(h('div', { class: 'label', text: 'largest entries' }));
			card.appendChild(h('ol', { class: 'largest' }, g.largest.map(function (e) {
				return h('li', {}, [h('button', { type: 'button', class: 'link mono', text: e.id, onclick: function () { revealEntry(e.index); } }), ' ' + fmtBytes(e.bytes)]);
			})));
		}
		return card;
	}

	var entryElements = new Map();

	function revealEntry(index) {
		var el = entryElements.get(index);
		if (!el) return;
		var tree = document.querySelector('.tree');
		if (tree && el.classList.contains('off-path')) tree.classList.remove('path-only');
		for (var p = el.parentElement; p; p = p.parentElement) if (p.tagName === 'DETAILS') p.open = true;
		el.scrollIntoView({ block: 'center' });
	}

	async function fetchEntry(sessionId, index, entryId) {
		var body = await api('GET', '/api/entry', { id: sessionId, index: index, entry: entryId });
		return body.entry;
	}

	function expandButton(length, load) {
		var button = h('button', { type: 'button', class: 'link expand', text: 'show all ' + plural(length, 'character') });
		button.addEventListener('click', async function () {
			button.disabled = true;
			try { await load(); button.remove(); } catch (e) { button.disabled = false; button.textContent = e.message; }
		});
		return button;
	}

	function textBlock(cls, preview, sessionId, full) {
		var el = h('div', { class: cls, 'data-truncated': preview.truncated ? 'true' : null, text: preview.text });
		if (!preview.truncated) return [el];
		var cut = h('span', { class: 'cut', text: '…' });
		el.appendChild(cut);
		return [el, expandButton(preview.length, async function () {
			el.textContent = await full();
			el.removeAttribute('data-truncated');
			el.setAttribute('data-expanded', 'true');
		})];
	}

	function toolCallElement(sessionId, row, call) {
		var r = call.result;
		var outcome = r ? (r.isError ? 'error, ' : '') + plural(r.lines, 'line') : 'no result next to it';
		var details = h('details', { class: 'tool-call' + (r && r.isError ? ' is-error' : ''), 'data-call-id': call.callId, 'data-result-entry-id': r ? r.id : null });
		details.appendChild(h('summary', { text: '⚙ ' + call.name + '(' + call.args.text + (call.args.truncated ? '…' : '') + ') → ' + outcome }));
		var body = h('div', { class: 'body' }, [h('div', { class: 'label', text: 'arguments' })]);
		append(body, textBlock('args mono', call.args, sessionId, async function () {
			var entry = await fetchEntry(sessionId, row.index, row.id);
			var part = (entry.message.content || []).filter(function (p) { return p && p.type === 'toolCall' && String(p.id) === call.callId; })[0];
			return part && typeof part.arguments === 'object' ? JSON.stringify(part.arguments, null, 2) : String(part ? part.arguments : '');
		}));
		if (r) {
			body.appendChild(h('div', { class: 'label', text: 'result · entry ' + r.id + ' · ' + fmtBytes(r.bytes) }));
			append(body, textBlock('result mono', r.text, sessionId, async function () {
				var entry = await fetchEntry(sessionId, r.index, r.id);
				return contentText(entry.message && entry.message.content);
			}));
		}
		details.appendChild(body);
		return details;
	}

	function entryElement(sessionId, row) {
		var classes = ['entry', 'type-' + classWord(row.type), row.onPath ? 'on-path' : 'off-path'];
		if (row.role) classes.push('role-' + classWord(row.role));
		if (row.leaf) classes.push('leaf');
		if (row.summarized) classes.push('summarized');
		if (row.unreachable) classes.push('unreachable');
		if (row.compaction) classes.push('compaction', 'boundary');
		var li = h('li', {
			class: classes.join(' '),
			'data-entry-id': row.id,
			'data-index': String(row.index),
			'data-on-path': row.onPath ? 'true' : 'false',
			'data-leaf': row.leaf ? 'true' : null,
			'data-folded': row.folded.length ? row.folded.join(' ') : null,
		}, [h('span', { class: 'mark', 'aria-hidden': 'true' })]);
		var label = row.compaction ? 'compaction' : row.branchSummary ? 'branch summary' : row.role || row.type;
		var jsonBox = null;
		var raw = h('button', { type: 'button', class: 'link raw', text: 'JSON', title: 'the entry as stored' });
		raw.addEventListener('click', async function () {
			if (jsonBox) { jsonBox.remove(); jsonBox = null; return; }
			try {
				var entry = await fetchEntry(sessionId, row.index, row.id);
				jsonBox = h('pre', { class: 'json', text: JSON.stringify(entry, null, 2) });
				head.after(jsonBox);
			} catch (e) { raw.textContent = e.message; }
		});
		var head = h('div', { class: 'row-head' }, [
			h('span', { class: 'eid', text: row.id }),
			h('span', { class: 'role', text: label }),
			row.leaf ? h('span', { class: 'leaf-tag', text: 'leaf' }) : null,
			row.summarized ? h('span', { class: 'summarized-tag', text: 'summarized by a compaction' }) : null,
			row.unreachable ? h('span', { class: 'badge warn', text: 'in a cycle of parent links' }) : null,
			row.timestamp ? h('span', { class: 'time', text: fmtTime(row.timestamp) }) : null,
			h('span', { class: 'bytes', text: fmtBytes(row.bytes) }),
			raw,
		]);
		li.appendChild(head);
		var full = async function () {
			var entry = await fetchEntry(sessionId, row.index, row.id);
			if (row.compaction || row.branchSummary) return String(entry.summary);
			if (row.role) return contentText(entry.message && entry.message.content);
			return JSON.stringify(entry, null, 2);
		};
		if (row.compaction) {
			var c = row.compaction;
			li.appendChild(h('div', { class: 'boundary-line', text: 'compaction' + (c.tokensBefore === null ? '' : ' · ' + fmtInt(c.tokensBefore) + ' tokens before') + (c.firstKeptEntryId ? ' · keeps ' + c.firstKeptEntryId + ' onward' : '') }));
		}
		if (row.branchSummary && row.branchSummary.fromId) li.appendChild(h('div', { class: 'muted', text: 'summary of the branch left at ' + row.branchSummary.fromId }));
		if (row.thinking) {
			var thinking = h('details', { class: 'thinking' }, [h('summary', { text: 'thinking' })]);
			append(thinking, textBlock('text', row.thinking, sessionId, async function () {
				var entry = await fetchEntry(sessionId, row.index, row.id);
				return (entry.message.content || []).filter(function (p) { return p && p.type === 'thinking'; }).map(function (p) { return p.thinking; }).join('\n');
			}));
			li.appendChild(thinking);
		}
		if (row.text && (row.text.text !== '' || row.toolCalls.length === 0)) append(li, textBlock('text', row.text, sessionId, full));
		if (row.json) append(li, textBlock('text mono', row.json, sessionId, full));
		if (row.error) li.appendChild(h('div', { class: 'error', text: row.error }));
		row.toolCalls.forEach(function (call) { li.appendChild(toolCallElement(sessionId, row, call)); });
		return li;
	}

	function renderTree(v) {
		entryElements = new Map();
		var root = h('ol', { class: 'chain', 'data-depth': '0' });
		var containers = [root];
		var forks = [];
		v.rows.forEach(function (row) {
			var depth = row.depth;
			if (row.branch) {
				var b = row.branch;
				var chain = h('ol', { class: 'chain', 'data-depth': String(depth) });
				var branch = h('details', { class: 'branch ' + (b.onPath ? 'on-path' : 'off-path'), open: true, 'data-branch': b.number + '/' + b.of, 'data-on-path': b.onPath ? 'true' : 'false' }, [
					h('summary', { text: 'branch ' + b.number + ' of ' + b.of + ' · ' + plural(b.entries, 'entry', 'entries') + (b.onPath ? ' · leaf path' : '') }),
					chain,
				]);
				(forks[depth - 1] || containers[containers.length - 1]).appendChild(branch);
				containers[depth] = chain;
				containers.length = depth + 1;
				forks.length = depth;
			}
			var container = containers[depth] || containers[containers.length - 1];
			if (row.kind === 'fork') {
				var fork = h('li', { class: 'fork', 'data-fork-of': row.from === null ? '' : row.from }, [
					h('div', { class: 'fork-head', text: (row.from === null ? 'The session has ' + row.branches + ' roots' : 'The conversation branches after ' + row.from + ' into ' + row.branches) + ':' }),
				]);
				container.appendChild(fork);
				forks[depth] = fork;
				return;
			}
			var el = entryElement(v.id, row);
			container.appendChild(el);
			entryElements.set(row.index, el);
			row.toolCalls.forEach(function (call) { if (call.result) entryElements.set(call.result.index, el); });
		});
		var onlyPath = h('input', { type: 'checkbox', id: 'path-only' });
		var tree = h('div', { class: 'tree' }, [root]);
		onlyPath.addEventListener('change', function () { tree.classList.toggle('path-only', onlyPath.checked); });
		var tools = h('div', { class: 'tree-tools' }, [
			h('label', {}, [onlyPath, ' only the path to the leaf']),
			v.stats.leafExists ? h('button', { type: 'button', class: 'link', text: 'go to the leaf', onclick: function () { var el = document.querySelector('li.entry.leaf'); if (el) el.scrollIntoView({ block: 'center' }); } }) : null,
			h('span', { text: 'tool calls are folded: click one to see its arguments and result' }),
		]);
		return h('section', { class: 'card conversation' }, [h('h3', { text: 'Conversation' }), tools, v.rows.length ? tree : h('p', { class: 'muted', text: 'No entries.' })]);
	}

	function renderSession(v) {
		var parts = renderHead(v);
		var article = h('article', { class: 'session', 'data-session-id': v.id }, parts);
		if (v.loadError) {
			article.appendChild(renderChecks(v));
			return article;
		}
		article.appendChild(h('div', { class: 'cards' }, [renderGrowth(v.growth), renderChecks(v)]));
		article.appendChild(renderTree(v));
		return article;
	}

	function showEmpty(text) {
		var pane = byId('detail');
		pane.setAttribute('data-state', 'empty');
		pane.replaceChildren(h('p', { class: 'empty', text: text }));
	}

	async function openSession(id) {
		state.sessionId = id;
		var gen = ++state.sessionGen;
		markSelected();
		var pane = byId('detail');
		pane.setAttribute('data-state', 'loading');
		try {
			var v = await api('GET', '/api/session', { id: id });
			if (gen !== state.sessionGen) return;
			pane.replaceChildren(renderSession(v));
			pane.setAttribute('data-state', 'ready');
			pane.scrollTop = 0;
		} catch (e) {
			if (gen !== state.sessionGen) return;
			pane.replaceChildren(h('div', { class: 'error', text: e.message }));
			pane.setAttribute('data-state', 'error');
		}
	}

	/* ---------- deleting ---------- */

	function askDelete(id) {
		var dialog = byId('confirm-delete');
		byId('confirm-id').textContent = id;
		byId('confirm-error').textContent = '';
		dialog.returnValue = '';
		dialog.onclose = async function () {
			if (dialog.returnValue !== 'delete') return;
			try {
				await api('DELETE', '/api/session', { id: id, confirm: id });
			} catch (e) {
				byId('confirm-error').textContent = e.message;
				dialog.showModal();
				return;
			}
			var rows = byId('session-rows').children;
			for (var i = rows.length - 1; i >= 0; i--) if (rows[i].getAttribute('data-session-id') === id) rows[i].remove();
			state.sessionId = null;
			if (location.hash) history.replaceState(null, '', location.pathname + location.search);
			showEmpty('Deleted ' + id + '.');
			byId('detail').setAttribute('data-state', 'deleted');
		};
		dialog.showModal();
	}
	byId('confirm-cancel').addEventListener('click', function () { byId('confirm-delete').close('cancel'); });
	byId('confirm-ok').addEventListener('click', function () { byId('confirm-delete').close('delete'); });

	/* ---------- start ---------- */

	function route() {
		var id = new URLSearchParams(location.hash.slice(1)).get('id');
		if (id) openSession(id);
		else {
			state.sessionId = null;
			markSelected();
			showEmpty('Pick a session on the left.');
		}
	}

	async function start() {
		try {
			state.info = await api('GET', '/api/info');
		} catch (e) {
			showEmpty(e.message);
			return;
		}
		byId('store').textContent = state.info.store;
		byId('store').title = state.info.store;
		var mode = byId('mode');
		mode.textContent = state.info.allowDelete ? 'deletes allowed' : 'read-only';
		mode.className = 'badge ' + (state.info.allowDelete ? 'writable' : 'readonly');
		window.addEventListener('hashchange', route);
		route();
		await loadList(true);
		try { showDoctor(await api('GET', '/api/doctor')); } catch (e) { byId('doctor-status').textContent = e.message; }
	}
	start();
})();
`;

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
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}
