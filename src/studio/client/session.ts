/** One session: its head (counts, times), its checks, its size chart, and its tree (tree.ts). */
import type { Growth, ProblemView, SessionAnswer, SessionView } from '../api-types.js';
import { getSession } from './api.js';
import { problemElement } from './doctor.js';
import { byId, chip, h, s } from './dom.js';
import { fmtBytes, fmtInt, fmtTime, plural } from './format.js';
import { markSelected } from './list.js';
import { askDelete } from './remove.js';
import { state } from './state.js';
import { renderTree, revealEntry } from './tree.js';

type Answer = SessionAnswer;
const isView = (v: Answer): v is Extract<Answer, SessionView> => !('loadError' in v);

function renderHead(v: Answer): HTMLElement[] {
	const head = h('div', { class: 'session-head' }, [h('h2', { class: 'session-id', text: v.id })]);
	if (state.info?.allowDelete)
		head.appendChild(h('button', { type: 'button', class: 'danger', 'data-action': 'delete', text: 'Delete session…', onclick: () => askDelete(v.id) }));
	const chips = h('div', { class: 'chips' });
	if (isView(v)) {
		chips.append(chip('entries', fmtInt(v.stats.entries)), chip('branches', fmtInt(v.stats.branches)));
		if (v.stats.compactions) chips.appendChild(chip('compactions', fmtInt(v.stats.compactions)));
		if (v.stats.toolCalls) chips.appendChild(chip('tool calls', fmtInt(v.stats.toolCalls)));
		chips.appendChild(chip('leaf', v.stats.leafId === null ? 'none' : v.stats.leafId + (v.stats.leafExists ? '' : ' (missing)')));
	}
	if (v.item) chips.append(chip('stored', fmtBytes(v.item.bytes)), chip('last write', fmtTime(v.item.updatedAt)));
	const out: HTMLElement[] = [head, chips];
	if (isView(v)) {
		if (typeof v.header.createdAt === 'string') chips.appendChild(chip('created', fmtTime(v.header.createdAt)));
		chips.appendChild(chip('version', String(v.header.version)));
		if (v.header.extraFields.length) chips.appendChild(chip('other fields', v.header.extraFields.join(', ')));
		if (v.header.metadata)
			out.push(
				h('div', { class: 'card' }, [
					h('h3', { text: 'Metadata' }),
					h('pre', { class: 'json', block: v.header.metadata.text + (v.header.metadata.truncated ? '…' : '') }),
				]),
			);
	}
	return out;
}

function renderChecks(v: Answer): HTMLElement {
	const seen = new Set<string>();
	const problems: ProblemView[] = [];
	for (const p of [...(isView(v) ? v.problems : []), ...v.doctor.problems]) {
		const key = `${p.kind}\u0000${p.detail}`;
		if (!seen.has(key)) {
			seen.add(key);
			problems.push(p);
		}
	}
	const card = h('section', { class: 'card checks', 'data-problems': String(problems.length) }, [h('h3', { text: 'Checks' })]);
	if (!isView(v)) card.appendChild(h('div', { class: 'error', block: `The store refuses to load this session (${v.loadError.code}): ${v.loadError.message}` }));
	if (problems.length) card.appendChild(h('ul', { class: 'problems' }, problems.map(problemElement)));
	else if (isView(v)) card.appendChild(h('p', { class: 'ok', text: 'No damage in this session’s data.' }));
	const d = v.doctor.state;
	const note =
		d === 'done'
			? 'Includes the last doctor run over every stored row.'
			: d === 'running'
				? 'Doctor is checking the database.'
				: d === 'unavailable'
					? 'Only the loaded data was checked.'
					: 'The loaded data was checked; doctor checks the stored rows too (parts, chunks, counters): Run doctor, above.';
	card.appendChild(h('p', { class: 'muted', text: note }));
	return card;
}

function renderGrowth(g: Growth): HTMLElement {
	const W = 640;
	const H = 120;
	const L = 58;
	const R = 10;
	const T = 8;
	const B = 20;
	const maxX = Math.max(1, g.entries);
	const maxY = Math.max(1, g.totalBytes);
	const x = (n: number) => (L + ((W - L - R) * n) / maxX).toFixed(1);
	const y = (b: number) => (T + (H - T - B) * (1 - b / maxY)).toFixed(1);
	const svg = s('svg', {
		viewBox: `0 0 ${W} ${H}`,
		class: 'growth-chart',
		role: 'img',
		'aria-label': `Size after each entry: ${fmtBytes(g.totalBytes)} after ${plural(g.entries, 'entry', 'entries')}`,
	});
	for (const f of [0, 0.5, 1]) {
		svg.appendChild(s('line', { class: 'axis', x1: L, x2: W - R, y1: y(maxY * f), y2: y(maxY * f) }));
		svg.appendChild(s('text', { class: 'grid-label', x: L - 6, y: Number(y(maxY * f)) + 3, 'text-anchor': 'end', text: fmtBytes(Math.round(maxY * f)) }));
	}
	for (const n of g.compactions)
		svg.appendChild(s('line', { class: 'compaction-mark', x1: x(n), x2: x(n), y1: T, y2: H - B }, [s('title', { text: `compaction at entry ${n}` })]));
	const pts = g.points.map(([n, b]) => `${x(n)},${y(b)}`);
	if (pts.length) {
		svg.appendChild(s('polygon', { class: 'area', points: `${x(0)},${y(0)} ${pts.join(' ')} ${x(g.points[g.points.length - 1]![0])},${y(0)}` }));
		svg.appendChild(s('polyline', { class: 'line', points: pts.join(' ') }));
	}
	svg.appendChild(s('text', { class: 'grid-label', x: L, y: H - 6, text: 'entry 0' }));
	svg.appendChild(s('text', { class: 'grid-label', x: W - R, y: H - 6, 'text-anchor': 'end', text: `entry ${fmtInt(g.entries)}` }));
	const card = h('section', { class: 'card growth' }, [
		h('h3', { text: 'Size' }),
		svg,
		h('div', {
			class: 'muted',
			text: `${fmtBytes(g.totalBytes)} of JSON: ${fmtBytes(g.headerBytes)} header, the rest in ${plural(g.entries, 'entry', 'entries')}${g.compactions.length ? '; dashed lines mark compactions' : ''}`,
		}),
	]);
	if (g.largest.length) {
		card.appendChild(h('div', { class: 'label', text: 'largest entries' }));
		card.appendChild(
			h(
				'ol',
				{ class: 'largest' },
				g.largest.map((e) =>
					h('li', {}, [h('button', { type: 'button', class: 'link mono', text: e.id, onclick: () => revealEntry(e.index) }), ` ${fmtBytes(e.bytes)}`]),
				),
			),
		);
	}
	return card;
}

function renderSession(v: Answer): HTMLElement {
	const article = h('article', { class: 'session', 'data-session-id': v.id }, renderHead(v));
	if (!isView(v)) {
		article.appendChild(renderChecks(v));
		return article;
	}
	article.appendChild(h('div', { class: 'cards' }, [renderGrowth(v.growth), renderChecks(v)]));
	article.appendChild(renderTree(v));
	return article;
}

/** Shows a message where the session would be. */
export function showEmpty(text: string): void {
	const pane = byId('detail');
	pane.setAttribute('data-state', 'empty');
	pane.replaceChildren(h('p', { class: 'empty', text }));
}

/** Opens a session in the detail pane; a later call wins over one still loading. */
export async function openSession(id: string): Promise<void> {
	await openInDetail(id, () => getSession(id), renderSession);
}

/**
 * Shows `id` in the detail pane (a session, or a Flue 2 instance), or the error of loading it. An
 * answer that arrives after another item was opened is dropped before it is drawn, so it never
 * touches the newer one's state.
 */
export async function openInDetail<T>(id: string, load: () => Promise<T>, render: (answer: T) => Node): Promise<void> {
	state.sessionId = id;
	const gen = ++state.sessionGen;
	markSelected();
	const pane = byId('detail');
	pane.setAttribute('data-state', 'loading');
	try {
		const answer = await load();
		if (gen !== state.sessionGen) return;
		pane.replaceChildren(render(answer));
		pane.setAttribute('data-state', 'ready');
		pane.scrollTop = 0;
	} catch (e) {
		if (gen !== state.sessionGen) return;
		pane.replaceChildren(h('div', { class: 'error', text: (e as Error).message }));
		pane.setAttribute('data-state', 'error');
	}
}
