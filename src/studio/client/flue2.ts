/**
 * The page on a Flue 2 database: the list of agent instances, and one instance as its
 * conversations, a tree of turns with each child task drawn inside the tool call that started it,
 * with its sizes (how much of the stream is per-token delta records) and doctor's findings. The
 * page offers no change: the studio only reads a Flue 2 database.
 */
import type {
	Flue2ConversationView,
	Flue2InstanceAnswer,
	Flue2InstancePage,
	Flue2InstanceRow,
	Flue2ItemView,
	Flue2PartView,
	Preview,
	ProblemView,
} from '../api-types.js';
import { api } from './api.js';
import { problemElement } from './doctor.js';
import { byId, chip, h, s } from './dom.js';
import { classWord, fmtBytes, fmtInt, fmtTime, plural } from './format.js';
import { listRow, setListStatus, wireFilters } from './list.js';
import { openInDetail } from './session.js';

const getInstances = (params: Record<string, string>) => api<Flue2InstancePage>('GET', '/api/instances', params);
const getInstance = (id: string) => api<Flue2InstanceAnswer>('GET', '/api/instance', { id });

/** Share of a whole, as the page prints it. */
const percent = (part: number, whole: number): string => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '0%');

function instanceRow(item: Flue2InstanceRow): HTMLTableRowElement {
	const detail = h('div', {
		class: 'muted small',
		text: `${plural(item.conversations, 'conversation')} · ${plural(item.records, 'record')} · ${percent(item.deltaRecords, item.records)} deltas`,
	});
	return listRow(item, item.lastActivity ? fmtTime(item.lastActivity) : '-', detail);
}

let listGen = 0;

/** Loads the instance list with the filters as they stand. */
export async function loadInstances(): Promise<void> {
	const gen = ++listGen;
	setListStatus('loading', 'Loading…');
	const q = byId<HTMLInputElement>('q').value.trim();
	const since = byId<HTMLInputElement>('since').value.trim();
	const sort = byId<HTMLSelectElement>('sort').value;
	let page: Flue2InstancePage;
	try {
		page = await getInstances({ q, since, sort });
	} catch (e) {
		if (gen === listGen) setListStatus('error', (e as Error).message);
		return;
	}
	if (gen !== listGen) return;
	byId('session-rows').replaceChildren(...page.instances.map(instanceRow));
	const filtered = q !== '' || since !== '';
	let text = `${plural(page.matches, 'instance')}${filtered ? ` match, of ${fmtInt(page.total)}` : ''}`;
	if (page.instances.length < page.matches) text += `; the first ${fmtInt(page.instances.length)} shown`;
	setListStatus('ready', `${text}, ${sort === 'time' ? 'latest activity first' : sort === 'size' ? 'largest first' : 'by id'}`);
}

/** Turns the session list into the instance list: its headings, and filters that reload it. */
export function wireInstanceList(): void {
	const headings = Array.from(document.querySelectorAll('table.sessions thead th'));
	for (const [i, text] of ['Instance', 'Last activity (UTC)', 'Size'].entries()) {
		const heading = headings[i];
		if (heading) heading.textContent = text;
	}
	const q = byId<HTMLInputElement>('q');
	q.placeholder = 'Search agent/instance';
	q.setAttribute('aria-label', 'Search agent/instance');
	byId('prefix').hidden = true;
	byId('more').hidden = true;
	wireFilters([q, byId<HTMLInputElement>('since')], () => void loadInstances());
	byId('sort').addEventListener('change', () => void loadInstances());
}

/** A text cut by the server: its preview, and how long it is. */
function previewText(cls: string, p: Preview): HTMLElement {
	return h(
		'div',
		{ class: cls, 'data-truncated': p.truncated ? 'true' : null, block: p.text },
		p.truncated ? [h('span', { class: 'cut', text: ` … (${plural(p.length, 'character')} in all)` })] : [],
	);
}

function partElement(part: Flue2PartView): HTMLElement {
	switch (part.type) {
		case 'text':
			return h('div', { class: 'part text-part' }, [
				previewText('text', part.text),
				part.streaming ? h('span', { class: 'muted', text: ' (cut off while streaming)' }) : null,
			]);
		case 'reasoning':
			return h('details', { class: 'thinking part' }, [
				h('summary', { text: `thinking · ${plural(part.text.length, 'character')}` }),
				previewText('text', part.text),
			]);
		case 'file':
			return h('div', {
				class: 'part file-part muted',
				text: `file ${part.mediaType}${part.filename ? ` ${part.filename}` : ''}${part.size !== null ? `, ${fmtBytes(part.size)}` : ''}${part.id ? ` · ${part.id}` : ''}`,
			});
		case 'tool': {
			const outcome =
				part.state === 'input-available'
					? 'no result'
					: part.state === 'output-error'
						? 'error'
						: part.output
							? plural(part.output.length, 'character')
							: 'done';
			const details = h('details', {
				class: `tool-call part${part.state === 'output-error' ? ' is-error' : ''}`,
				'data-call-id': part.callId,
				'data-tool': part.name,
			});
			details.appendChild(
				h('summary', {
					text: `⚙ ${part.name}(${part.input.text}${part.input.truncated ? '…' : ''}) → ${outcome}${part.durationMs !== null ? ` · ${fmtInt(part.durationMs)} ms` : ''}`,
				}),
			);
			const body = h('div', { class: 'body' }, [h('div', { class: 'label', text: 'arguments' }), previewText('args mono', part.input)]);
			if (part.output)
				body.append(h('div', { class: 'label', text: part.state === 'output-error' ? 'error' : 'result' }), previewText('result mono', part.output));
			details.appendChild(body);
			const wrap = h('div', { class: 'tool-wrap' }, [details]);
			if (part.child) wrap.appendChild(conversationElement(part.child));
			return wrap;
		}
	}
}

function itemElement(item: Flue2ItemView): HTMLElement {
	switch (item.kind) {
		case 'message': {
			const role = item.role === 'system' ? `${item.purpose}${item.display === 'visible' ? '' : `, ${item.display}`}` : item.role;
			return h('div', { class: `message role-${classWord(item.role)} display-${classWord(item.display)}`, 'data-message-id': item.id }, [
				h('div', { class: 'row-head' }, [h('span', { class: 'role', text: role }), h('span', { class: 'eid', text: item.id })]),
				item.parts.length === 0 ? h('div', { class: 'muted', text: '(empty)' }) : item.parts.map(partElement),
			]);
		}
		case 'compaction':
			return h('div', { class: 'compaction', 'data-record-id': item.recordId }, [
				h('div', { class: 'boundary-line', text: `compaction${item.tokensBefore !== null ? ` of ${fmtInt(item.tokensBefore)} tokens` : ''}` }),
				previewText('text', item.summary),
			]);
		case 'child':
			return item.conversation
				? conversationElement(item.conversation)
				: h('div', { class: 'muted', text: `↳ ${item.type} ${item.taskId ?? ''} → conversation ${item.conversationId} (no records)` });
		case 'unknown':
			return h('div', {
				class: 'unknown muted',
				'data-record-type': item.type,
				text: `unknown (${item.type}${item.v !== '1' ? `, v ${item.v}` : ''}) ${item.recordId}`,
			});
	}
}

/** A conversation: its turns in order, child tasks nested where they ran. */
function conversationElement(c: Flue2ConversationView): HTMLElement {
	const root = c.kind === 'root';
	const title = root ? `conversation ${c.conversationId}` : `${c.kind}${c.taskId ? ` ${c.taskId}` : ''}${c.agent ? ` (${c.agent})` : ''}`;
	const head = h('div', { class: 'conversation-head' }, [
		h('span', { class: 'title', text: title }),
		h('span', {
			class: 'muted',
			text: `${root ? '' : `conversation ${c.conversationId} · `}${c.session ? `session ${c.session} · ` : ''}${plural(c.turns.length, 'turn')} · ${plural(c.records, 'record')}`,
		}),
	]);
	const turns = h(
		'ol',
		{ class: 'turns' },
		c.turns.map((t, i) =>
			h('li', { class: 'turn', 'data-turn': String(i + 1) }, [h('div', { class: 'turn-label', text: `turn ${i + 1}` }), t.items.map(itemElement)]),
		),
	);
	return h('section', { class: `conversation ${root ? 'root' : 'child-task'}`, 'data-conversation-id': c.conversationId, 'data-kind': c.kind }, [head, turns]);
}

/** The delta share: records and bytes of the stream that are one streamed piece of text each. */
function sizesCard(v: Flue2InstanceAnswer): HTMLElement {
	const it = v.item;
	const W = 400;
	const bar = (y: number, part: number, whole: number, label: string) => [
		s('rect', { class: 'bar-whole', x: 0, y, width: W, height: 18 }),
		s('rect', { class: 'bar-part', x: 0, y, width: whole > 0 ? ((W * part) / whole).toFixed(1) : 0, height: 18 }),
		s('text', { class: 'bar-label', x: 6, y: y + 13, text: label }),
	];
	const chart = s(
		'svg',
		{
			viewBox: `0 0 ${W} 42`,
			class: 'delta-chart',
			role: 'img',
			'aria-label': `${percent(it.deltaRecords, it.records)} of the records and ${percent(it.deltaBytes, it.streamBytes)} of the stream's bytes are per-token deltas`,
		},
		[
			bar(0, it.deltaRecords, it.records, `records: ${percent(it.deltaRecords, it.records)} deltas`),
			bar(24, it.deltaBytes, it.streamBytes, `stream bytes: ${percent(it.deltaBytes, it.streamBytes)} deltas`),
		],
	);
	return h(
		'section',
		{
			class: 'card sizes',
			'data-delta-records': String(it.deltaRecords),
			'data-records': String(it.records),
			'data-delta-bytes': String(it.deltaBytes),
			'data-stream-bytes': String(it.streamBytes),
		},
		[
			h('h3', { text: 'Size' }),
			h('p', {
				class: 'delta-share',
				text: `${fmtInt(it.deltaRecords)} of ${plural(it.records, 'record')} (${percent(it.deltaRecords, it.records)}) are per-token delta records; they take ${fmtBytes(it.deltaBytes)} of the stream's ${fmtBytes(it.streamBytes)} (${percent(it.deltaBytes, it.streamBytes)}).`,
			}),
			chart,
			h('p', {
				class: 'muted',
				text: `Flue 2 stores assistant text only as deltas, one record per streamed piece, and keeps every record: the stream grows with each token. ${plural(it.batches, 'batch', 'batches')}${it.attachments ? `; ${plural(it.attachments, 'attachment')}, ${fmtBytes(it.bytes - it.streamBytes)}` : ''}.`,
			}),
		],
	);
}

function checksCard(v: Flue2InstanceAnswer): HTMLElement {
	const problems: ProblemView[] = v.doctor.problems;
	const card = h('section', { class: 'card checks', 'data-problems': String(problems.length) }, [h('h3', { text: 'Checks' })]);
	if (v.loadError) card.appendChild(h('div', { class: 'error', block: `This instance cannot be read whole (${v.loadError.code}): ${v.loadError.message}` }));
	if (v.item.unreadable > 0)
		card.appendChild(h('p', { class: 'error', text: `${plural(v.item.unreadable, 'batch or attachment', 'batches or attachments')} could not be read.` }));
	if (v.unsupported > 0)
		card.appendChild(
			h('p', { class: 'muted', text: `${plural(v.unsupported, 'record')} of a record version this flue-persist does not decode (shown as unknown).` }),
		);
	if (problems.length) card.appendChild(h('ul', { class: 'problems' }, problems.map(problemElement)));
	const d = v.doctor.state;
	const note =
		d === 'done'
			? problems.length === 0
				? 'The last doctor run found no damage in this instance.'
				: 'Found by the last doctor run. The studio never changes a Flue 2 database.'
			: d === 'running'
				? 'Doctor is checking the database.'
				: 'Doctor checks every batch, part, offset and attachment: Run doctor, above.';
	card.appendChild(h('p', { class: d === 'done' && problems.length === 0 ? 'ok' : 'muted', text: note }));
	return card;
}

function instanceElement(v: Flue2InstanceAnswer): HTMLElement {
	const it = v.item;
	const chips = h('div', { class: 'chips' }, [
		chip('conversations', fmtInt(it.conversations)),
		chip('records', fmtInt(it.records)),
		chip('batches', fmtInt(it.batches)),
		chip('stored', fmtBytes(it.bytes)),
		chip('last activity', it.lastActivity ? fmtTime(it.lastActivity) : '-'),
		it.openSubmissions ? chip('open submissions', fmtInt(it.openSubmissions)) : null,
		chip('next offset', fmtInt(v.stream.nextOffset)),
	]);
	const article = h('article', { class: 'session instance', 'data-session-id': v.id }, [
		h('div', { class: 'session-head' }, [h('h2', { class: 'session-id', text: v.id }), h('span', { class: 'muted mono', text: v.stream.path })]),
		chips,
		h('div', { class: 'cards' }, [sizesCard(v), checksCard(v)]),
	]);
	article.append(...v.conversations.map(conversationElement));
	return article;
}

/** Opens an instance in the detail pane; a later call wins over one still loading. */
export async function openInstance(id: string): Promise<void> {
	await openInDetail(id, () => getInstance(id), instanceElement);
}
