/**
 * A session's tree, drawn a page of rows at a time: branches as boxes nested in their fork, the
 * leaf path marked, tool calls folded, long texts cut with a "show all". The server sends the
 * first page with the session and the rest on request ("Show more", or on its own when the end
 * of the drawing scrolls into view). A branch nested deeper than the server draws comes as one
 * collapsed row, which opens into a drawing of its own.
 */

import { contentText, formatArgs, thinkingText } from '../../tools/session-tree.js';
import type { CollapsedRow, EntryRow, ForkRow, Preview, RowPage, SessionView, ToolCallView, TreeRow } from '../api-types.js';
import { getEntry, getRows, type StoredEntry } from './api.js';
import { append, h, shown, shownBlock } from './dom.js';
import { classWord, fmtBytes, fmtInt, fmtTime, plural } from './format.js';

/** Rows asked for at a time after the first page. */
const MORE_ROWS = 300;

/** The element of each drawn entry (and of each result folded into one), for "largest entries". */
let entryElements = new Map<number, HTMLElement>();
/** The drawing of the session's whole tree, whose footer says what is not drawn yet. */
let mainDrawing: Drawing | null = null;

/** Scrolls to an entry, opening the boxes around it; says so under the tree when its row is not drawn yet. */
export function revealEntry(index: number): void {
	const el = entryElements.get(index);
	if (!el) {
		mainDrawing?.note(`Entry ${fmtInt(index + 1)} is not drawn yet: show more rows, or open the branch it is in.`);
		return;
	}
	const tree = document.querySelector('.tree');
	if (tree && el.classList.contains('off-path')) tree.classList.remove('path-only');
	for (let p = el.parentElement; p; p = p.parentElement) if (p instanceof HTMLDetailsElement) p.open = true;
	el.scrollIntoView({ block: 'center' });
}

function expandButton(length: number, load: () => Promise<void>): HTMLButtonElement {
	const button = h('button', { type: 'button', class: 'link expand', text: `show all ${plural(length, 'character')}` });
	button.addEventListener('click', async () => {
		button.disabled = true;
		try {
			await load();
			button.remove();
		} catch (e) {
			button.disabled = false;
			button.textContent = shown((e as Error).message);
		}
	});
	return button;
}

function textBlock(cls: string, preview: Preview, full: () => Promise<string>): HTMLElement[] {
	const el = h('div', { class: cls, 'data-truncated': preview.truncated ? 'true' : null, block: preview.text });
	if (!preview.truncated) return [el];
	el.appendChild(h('span', { class: 'cut', text: '…' }));
	return [
		el,
		expandButton(preview.length, async () => {
			el.textContent = shownBlock(await full());
			el.removeAttribute('data-truncated');
			el.setAttribute('data-expanded', 'true');
		}),
	];
}

type Part = { type?: unknown; id?: unknown; arguments?: unknown };
const partsOf = (entry: StoredEntry): Part[] => (Array.isArray(entry.message?.content) ? (entry.message.content as Part[]) : []);

function toolCallElement(sessionId: string, row: EntryRow, call: ToolCallView): HTMLElement {
	const r = call.result;
	const outcome = r ? (r.isError ? 'error, ' : '') + plural(r.lines, 'line') : 'no result next to it';
	const details = h('details', { class: `tool-call${r?.isError ? ' is-error' : ''}`, 'data-call-id': call.callId, 'data-result-entry-id': r ? r.id : null });
	details.appendChild(h('summary', { text: `⚙ ${call.name}(${call.args.text}${call.args.truncated ? '…' : ''}) → ${outcome}` }));
	const body = h('div', { class: 'body' }, [h('div', { class: 'label', text: 'arguments' })]);
	append(
		body,
		// The whole of what the preview was cut from.
		textBlock('args mono', call.args, async () => {
			const part = partsOf(await getEntry(sessionId, row.index, row.id)).find((p) => p?.type === 'toolCall' && String(p.id) === call.callId);
			return formatArgs(part?.arguments);
		}),
	);
	if (r) {
		body.appendChild(h('div', { class: 'label', text: `result · entry ${r.id} · ${fmtBytes(r.bytes)}` }));
		append(
			body,
			textBlock('result mono', r.text, async () => contentText((await getEntry(sessionId, r.index, r.id)).message?.content)),
		);
	}
	details.appendChild(body);
	return details;
}

function rowHead(sessionId: string, row: EntryRow, li: HTMLElement): HTMLElement {
	const label = row.compaction ? 'compaction' : row.branchSummary ? 'branch summary' : (row.role ?? row.type);
	let jsonBox: HTMLElement | null = null;
	const raw = h('button', { type: 'button', class: 'link raw', text: 'JSON', title: 'the entry as stored' });
	const head = h('div', { class: 'row-head' }, [
		h('span', { class: 'eid', text: row.id }),
		h('span', { class: 'role', text: label }),
		row.leaf ? h('span', { class: 'leaf-tag', text: 'leaf' }) : null,
		row.summarized ? h('span', { class: 'summarized-tag', text: 'summarized by a compaction' }) : null,
		row.unreachable ? h('span', { class: 'badge warn', text: 'in a cycle of parent links' }) : null,
		row.timestamp ? h('span', { class: 'time', text: fmtTime(row.timestamp) }) : null,
		h('span', { class: 'bytes', text: fmtBytes(row.bytes) }),
		raw,
	]);
	raw.addEventListener('click', async () => {
		if (jsonBox) {
			jsonBox.remove();
			jsonBox = null;
			return;
		}
		try {
			jsonBox = h('pre', { class: 'json', block: JSON.stringify(await getEntry(sessionId, row.index, row.id), null, 2) });
			head.after(jsonBox);
		} catch (e) {
			raw.textContent = shown((e as Error).message);
		}
	});
	li.appendChild(head);
	return head;
}

function entryElement(sessionId: string, row: EntryRow): HTMLElement {
	const classes = ['entry', `type-${classWord(row.type)}`, row.onPath ? 'on-path' : 'off-path'];
	if (row.role) classes.push(`role-${classWord(row.role)}`);
	if (row.leaf) classes.push('leaf');
	if (row.summarized) classes.push('summarized');
	if (row.unreachable) classes.push('unreachable');
	if (row.compaction) classes.push('compaction', 'boundary');
	const li = h(
		'li',
		{
			class: classes.join(' '),
			'data-entry-id': row.id,
			'data-index': String(row.index),
			'data-on-path': row.onPath ? 'true' : 'false',
			'data-leaf': row.leaf ? 'true' : null,
			'data-folded': row.folded.length ? row.folded.join(' ') : null,
		},
		[h('span', { class: 'mark', 'aria-hidden': 'true' })],
	);
	rowHead(sessionId, row, li);
	const full = async () => {
		const entry = await getEntry(sessionId, row.index, row.id);
		if (row.compaction || row.branchSummary) return String(entry.summary);
		if (row.role) return contentText(entry.message?.content);
		return JSON.stringify(entry, null, 2);
	};
	if (row.compaction) {
		const c = row.compaction;
		li.appendChild(
			h('div', {
				class: 'boundary-line',
				text: `compaction${c.tokensBefore === null ? '' : ` · ${fmtInt(c.tokensBefore)} tokens before`}${c.firstKeptEntryId ? ` · keeps ${c.firstKeptEntryId} onward` : ''}`,
			}),
		);
	}
	if (row.branchSummary?.fromId) li.appendChild(h('div', { class: 'muted', text: `summary of the branch left at ${row.branchSummary.fromId}` }));
	if (row.thinking) {
		const thinking = h('details', { class: 'thinking' }, [h('summary', { text: 'thinking' })]);
		append(
			thinking,
			textBlock('text', row.thinking, async () => thinkingText((await getEntry(sessionId, row.index, row.id)).message?.content)),
		);
		li.appendChild(thinking);
	}
	if (row.text && (row.text.text !== '' || row.toolCalls.length === 0)) append(li, textBlock('text', row.text, full));
	if (row.json) append(li, textBlock('text mono', row.json, full));
	if (row.error) li.appendChild(h('div', { class: 'error', block: row.error }));
	for (const call of row.toolCalls) li.appendChild(toolCallElement(sessionId, row, call));
	return li;
}

/**
 * One drawing: the whole tree, or the branch a collapsed row opens. It keeps where the next row
 * goes (the chain of each depth, the fork each branch belongs to) from one page to the next.
 */
class Drawing {
	private readonly containers: HTMLElement[];
	private readonly forks: HTMLElement[] = [];
	private drawn = 0;
	private total: number;
	private loading = false;
	private readonly footer: HTMLElement;
	private readonly status: HTMLElement;
	private readonly button: HTMLButtonElement;

	constructor(
		private readonly sessionId: string,
		private readonly rev: string,
		private readonly from: number | null,
		readonly root: HTMLOListElement,
		first: RowPage,
	) {
		this.containers = [root];
		this.total = first.total;
		this.status = h('span', { class: 'muted' });
		this.button = h('button', { type: 'button', 'data-action': 'more-rows', text: 'Show more', onclick: () => void this.more() });
		this.footer = h('div', { class: 'tree-more' }, [this.status, ' ', this.button]);
		this.add(first.rows);
		// The next page comes on its own when the end of the drawing scrolls into view.
		if (typeof IntersectionObserver === 'function') {
			new IntersectionObserver((seen) => {
				if (seen.some((e) => e.isIntersecting)) void this.more();
			}).observe(this.footer);
		}
	}

	/** The line under the drawing: how much of it is drawn, and the button for more. */
	get end(): HTMLElement {
		return this.footer;
	}

	/** Says something under the drawing, shown even when every row is drawn. */
	note(text: string): void {
		this.status.textContent = shown(text);
		this.footer.setAttribute('data-state', 'note');
	}

	/** Draws the next page of rows. */
	async more(): Promise<void> {
		if (this.loading || this.drawn >= this.total || !this.footer.isConnected) return;
		this.loading = true;
		this.button.disabled = true;
		try {
			const page = await getRows(this.sessionId, this.rev, this.from, this.drawn, MORE_ROWS);
			this.total = page.total;
			this.add(page.rows);
		} catch (e) {
			this.status.textContent = shown((e as Error).message);
			this.footer.setAttribute('data-state', 'error');
		} finally {
			this.loading = false;
			this.button.disabled = false;
		}
	}

	private add(rows: TreeRow[]): void {
		for (const row of rows) this.place(row);
		this.drawn += rows.length;
		const done = this.drawn >= this.total;
		this.footer.setAttribute('data-state', done ? 'complete' : 'partial');
		this.footer.setAttribute('data-drawn', String(this.drawn));
		this.status.textContent = done ? '' : `Showing ${fmtInt(this.drawn)} of ${plural(this.total, 'row')}.`;
		this.button.hidden = done;
	}

	private place(row: TreeRow): void {
		const depth = row.depth;
		if (row.kind !== 'fork' && row.branch) {
			const b = row.branch;
			const chain = h('ol', { class: 'chain', 'data-depth': String(depth) });
			const branch = h(
				'details',
				{ class: `branch ${b.onPath ? 'on-path' : 'off-path'}`, open: true, 'data-branch': `${b.number}/${b.of}`, 'data-on-path': b.onPath ? 'true' : 'false' },
				[h('summary', { text: `branch ${b.number} of ${b.of} · ${plural(b.entries, 'entry', 'entries')}${b.onPath ? ' · leaf path' : ''}` }), chain],
			);
			(this.forks[depth - 1] ?? this.containers[this.containers.length - 1]!).appendChild(branch);
			this.containers[depth] = chain;
			this.containers.length = depth + 1;
			this.forks.length = depth;
		}
		const container = this.containers[depth] ?? this.containers[this.containers.length - 1]!;
		if (row.kind === 'fork') {
			this.placeFork(container, row);
			return;
		}
		if (row.kind === 'collapsed') {
			container.appendChild(this.collapsedElement(row));
			return;
		}
		const el = entryElement(this.sessionId, row);
		container.appendChild(el);
		entryElements.set(row.index, el);
		for (const call of row.toolCalls) if (call.result) entryElements.set(call.result.index, el);
	}

	private placeFork(container: HTMLElement, row: ForkRow): void {
		const fork = h('li', { class: 'fork', 'data-fork-of': row.from === null ? '' : row.from }, [
			h('div', {
				class: 'fork-head',
				text: `${row.from === null ? `The session has ${row.branches} roots` : `The conversation branches after ${row.from} into ${row.branches}`}:`,
			}),
		]);
		container.appendChild(fork);
		this.forks[row.depth] = fork;
	}

	/** A branch too deep to draw here: a line that says how big it is, and opens it. */
	private collapsedElement(row: CollapsedRow): HTMLElement {
		const li = h(
			'li',
			{
				class: `entry collapsed ${row.onPath ? 'on-path' : 'off-path'}`,
				'data-entry-id': row.id,
				'data-index': String(row.index),
				'data-on-path': row.onPath ? 'true' : 'false',
			},
			[h('span', { class: 'mark', 'aria-hidden': 'true' })],
		);
		const open = h('button', { type: 'button', class: 'link', 'data-action': 'open-branch', text: 'draw this branch' });
		li.appendChild(
			h('div', { class: 'row-head' }, [
				h('span', { class: 'eid', text: row.id }),
				h('span', { text: `⋯ ${plural(row.entries, 'entry', 'entries')} nested too deep to draw here` }),
				open,
			]),
		);
		open.addEventListener('click', async () => {
			open.disabled = true;
			try {
				const first = await getRows(this.sessionId, this.rev, row.index, 0, MORE_ROWS);
				const drawing = new Drawing(this.sessionId, this.rev, row.index, h('ol', { class: 'chain', 'data-depth': '0' }), first);
				li.classList.add('opened');
				open.replaceWith(h('span', { class: 'muted', text: 'drawn below' }));
				li.append(drawing.root, drawing.end);
			} catch (e) {
				open.disabled = false;
				open.textContent = shown((e as Error).message);
			}
		});
		return li;
	}
}

/**
 * Scrolls to the leaf; when the rows drawn so far do not reach it, draws the last entries up to it
 * on their own first, above the tree, rather than every row before it.
 */
async function goToLeaf(v: SessionView, tree: HTMLElement): Promise<void> {
	const drawn = () => tree.parentElement?.querySelector<HTMLElement>('li.entry.leaf') ?? null;
	let leaf = drawn();
	if (!leaf && v.leafTail) {
		const first = await getRows(v.id, v.tree.rev, v.leafTail.from, 0, MORE_ROWS);
		const drawing = new Drawing(v.id, v.tree.rev, v.leafTail.from, h('ol', { class: 'chain', 'data-depth': '0' }), first);
		tree.before(
			h('div', { class: 'leaf-tail' }, [
				h('div', { class: 'label', text: `the last ${plural(v.leafTail.entries, 'entry', 'entries')} up to the leaf` }),
				drawing.root,
				drawing.end,
			]),
		);
		leaf = drawn();
	}
	leaf?.scrollIntoView({ block: 'center' });
}

/** The conversation card of a session. */
export function renderTree(v: SessionView): HTMLElement {
	entryElements = new Map();
	const drawing = new Drawing(v.id, v.tree.rev, null, h('ol', { class: 'chain', 'data-depth': '0' }), v.tree);
	mainDrawing = drawing;
	const onlyPath = h('input', { type: 'checkbox', id: 'path-only' });
	const tree = h('div', { class: 'tree' }, [drawing.root, drawing.end]);
	onlyPath.addEventListener('change', () => tree.classList.toggle('path-only', onlyPath.checked));
	const warnings = [
		...v.stats.selfParents.map((id) => `Entry ${id} names itself as its parent; it is drawn as a root.`),
		...(v.stats.unreachable.length
			? [`${plural(v.stats.unreachable.length, 'entry is', 'entries are')} in a cycle of parent links and reach no root; drawn after the tree.`]
			: []),
	];
	const tools = h('div', { class: 'tree-tools' }, [
		h('label', {}, [onlyPath, ' only the path to the leaf']),
		v.stats.leafExists
			? h('button', {
					type: 'button',
					class: 'link',
					'data-action': 'go-to-leaf',
					text: 'go to the leaf',
					onclick: async (event: Event) => {
						// One load at a time; a failed one says why on the button, which stays to try again.
						const button = event.currentTarget as HTMLButtonElement;
						button.disabled = true;
						try {
							await goToLeaf(v, tree);
						} catch (e) {
							button.textContent = shown(`go to the leaf (${(e as Error).message})`);
						} finally {
							button.disabled = false;
						}
					},
				})
			: null,
		h('span', { text: 'tool calls are folded: click one to see its arguments and result' }),
	]);
	return h('section', { class: 'card conversation' }, [
		h('h3', { text: 'Conversation' }),
		tools,
		warnings.length
			? h(
					'ul',
					{ class: 'tree-warnings' },
					warnings.map((text) => h('li', { class: 'problem', text })),
				)
			: null,
		v.tree.total ? tree : h('p', { class: 'muted', text: 'No entries.' }),
	]);
}
