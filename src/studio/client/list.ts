/** The session list: filters, pages read in bounded steps, the selected row. */
import type { SessionListPage, SessionListRow } from '../api-types.js';
import { getSessions } from './api.js';
import { byId, h, shown } from './dom.js';
import { fmtBytes, fmtInt, fmtTime, plural } from './format.js';
import { state } from './state.js';

/** Ids one click may read while searching. */
const AUTO_SCAN = 100_000;
const PAGE = 100;

const filters = () => ({
	q: byId<HTMLInputElement>('q'),
	prefix: byId<HTMLInputElement>('prefix'),
	since: byId<HTMLInputElement>('since'),
	sort: byId<HTMLSelectElement>('sort'),
});

/** The line under the list: loading, what it shows, or why it failed. */
export function setListStatus(kind: 'loading' | 'ready' | 'error', text: string): void {
	const el = byId('list-status');
	el.setAttribute('data-state', kind);
	el.classList.toggle('error', kind === 'error');
	el.textContent = shown(text);
}

/**
 * A row of the list (a session, or a Flue 2 instance): its id, which opens it, with doctor's count
 * when the last run found problems in it and `detail` below; when it was last written; its size.
 */
export function listRow(item: { id: string; problems: number; bytes: number }, time: string, detail: HTMLElement | null = null): HTMLTableRowElement {
	const link = h('a', { href: `#id=${encodeURIComponent(item.id)}`, class: 'open', text: item.id });
	const mark =
		item.problems > 0 ? h('span', { class: 'badge warn', title: `doctor found ${plural(item.problems, 'problem')}`, text: `⚠ ${item.problems}` }) : null;
	return h('tr', { 'data-session-id': item.id, class: item.id === state.sessionId ? 'selected' : null }, [
		h('td', { class: 'id' }, [link, mark, detail]),
		h('td', { class: 'time', text: time }),
		h('td', { class: 'size num', text: fmtBytes(item.bytes) }),
	]);
}

const sessionRow = (item: SessionListRow): HTMLTableRowElement => listRow(item, fmtTime(item.updatedAt));

/** Marks the row of the open session. */
export function markSelected(): void {
	for (const row of Array.from(byId('session-rows').children)) row.classList.toggle('selected', row.getAttribute('data-session-id') === state.sessionId);
}

/** Removes a session's row (after a delete). */
export function dropRow(id: string): void {
	for (const row of Array.from(byId('session-rows').children)) if (row.getAttribute('data-session-id') === id) row.remove();
}

function statusText(sort: string, searching: boolean, page: SessionListPage, scanned: number): string {
	if (sort === 'id') {
		let text = plural(state.list.shown, 'session') + (page.cursor ? ' shown, more to read' : searching ? ' match' : '');
		if (page.cursor && searching) text += ` (searched ${fmtInt(scanned)} ids this time)`;
		return text;
	}
	let text = `${plural(page.matches ?? 0, 'session')}${searching ? ' match' : ''}, ${sort === 'time' ? 'newest first' : 'largest first'}`;
	if (!page.complete)
		text += `. Sorted among the first ${fmtInt(state.info?.limits.sortScan ?? 0)} sessions in id order only; narrow with a prefix or sort by id to see the rest.`;
	return text;
}

/** Loads the list from the start (`reset`) or its next page. */
export async function loadList(reset: boolean): Promise<void> {
	const L = state.list;
	const f = filters();
	if (reset) {
		L.gen++;
		L.cursor = null;
		L.shown = 0;
		byId('session-rows').replaceChildren();
	}
	const gen = L.gen;
	const sort = f.sort.value;
	let found = 0;
	let scanned = 0;
	let page: SessionListPage;
	byId('more').hidden = true;
	setListStatus('loading', 'Loading…');
	try {
		do {
			page = await getSessions({ q: f.q.value.trim(), prefix: f.prefix.value, since: f.since.value.trim(), sort, cursor: L.cursor, limit: PAGE });
			if (gen !== L.gen) return;
			const body = byId('session-rows');
			for (const item of page.sessions) body.appendChild(sessionRow(item));
			found += page.sessions.length;
			scanned += page.scanned;
			L.cursor = page.cursor;
			L.shown += page.sessions.length;
			// A search reads the ids in bounded steps; keep reading until a page is full, up to a bound per click.
		} while (sort === 'id' && page.cursor && found < PAGE && scanned < AUTO_SCAN);
	} catch (e) {
		if (gen === L.gen) setListStatus('error', (e as Error).message);
		return;
	}
	const searching = f.q.value.trim() !== '' || f.since.value.trim() !== '';
	setListStatus('ready', statusText(sort, searching, page, scanned));
	const more = byId<HTMLButtonElement>('more');
	more.hidden = !page.cursor;
	more.textContent = sort === 'id' && searching && found === 0 ? 'Keep searching' : 'Load more';
}

/** Wires filter inputs to `reload`: typing reloads after a pause, Enter at once. */
export function wireFilters(inputs: HTMLInputElement[], reload: () => void): void {
	let timer: ReturnType<typeof setTimeout> | undefined;
	for (const input of inputs) {
		input.addEventListener('input', () => {
			clearTimeout(timer);
			timer = setTimeout(reload, 250);
		});
		input.addEventListener('keydown', (e) => {
			if (e.key === 'Enter') {
				clearTimeout(timer);
				reload();
			}
		});
	}
}

/** Wires the session list's filters, its sort and "Load more". */
export function wireList(): void {
	const f = filters();
	wireFilters([f.q, f.prefix, f.since], () => void loadList(true));
	f.sort.addEventListener('change', () => void loadList(true));
	byId('more').addEventListener('click', () => void loadList(false));
}
