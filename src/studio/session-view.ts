/**
 * A session turned into what the studio page draws: the tree as a flat list of rows (so that
 * neither the server nor the page recurses on a deep or branchy session), handed out a page at a
 * time, the leaf path, the history a compaction summarized, tool calls folded with their results,
 * texts cut to a preview, and the size of the session entry by entry.
 *
 * The tree itself (parents, the leaf path, which tool result is folded into which call, the drawing
 * order, the forks too deep to draw, the counts) is the one `flue-persist show` draws, from
 * src/tools/session-tree.ts; what is here is only what the page adds to it.
 */

import { checkSessionShape } from '../tools/doctor-session.js';
import {
	buildSessionTree,
	contentText,
	countLines,
	cutText,
	formatArgs,
	MAX_FORK_DEPTH,
	messageOf,
	roleOf,
	type SessionTree,
	summaryOf,
	thinkingText,
	toolCallsOf,
	treeStats,
	walkSessionTree,
} from '../tools/session-tree.js';
import type { SessionData, SessionEntry } from '../types.js';
import type { BranchStart, EntryRow, Growth, Preview, ProblemView, RowPage, SessionView, ToolCallView, TreeRow } from './api-types.js';

export type { BranchStart, CollapsedRow, EntryRow, ForkRow, Growth, Preview, SessionView, ToolCallView, TreeRow } from './api-types.js';

/** How much of each text the first response carries; the page asks for the rest on demand. */
export interface PreviewLimits {
	/** Characters of a message, summary or tool result. */
	text: number;
	/** Characters of a tool call's arguments. */
	args: number;
}

/** The default preview sizes: a screenful per entry. */
export const DEFAULT_PREVIEW: PreviewLimits = { text: 1200, args: 300 };

/** Rows in one page of the tree: enough to fill a screen several times, little enough to draw at once. */
export const ROW_PAGE = 300;

type Json = Record<string, unknown>;

const asObject = (value: unknown): Json | null => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : null);

const KNOWN_HEADER = new Set(['version', 'entries', 'leafId', 'metadata', 'createdAt', 'updatedAt']);
const MAX_POINTS = 400;

/** Cuts a text to `max` characters, never between the two halves of a surrogate pair. */
export function preview(text: string, max: number): Preview {
	if (text.length <= max) return { text, truncated: false, length: text.length };
	return { text: cutText(text, max), truncated: true, length: text.length };
}

const utf8Bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');

/** History a compaction replaced: the ancestors of the entry it keeps, when that entry is on its path. */
function summarizedEntries(tree: SessionTree): Uint8Array {
	const { entries, nodes, byId } = tree;
	const summarized = new Uint8Array(entries.length);
	entries.forEach((e, c) => {
		if (e?.type !== 'compaction') return;
		const kept = (e as { firstKeptEntryId?: unknown }).firstKeptEntryId;
		const keptIndex = typeof kept === 'string' ? byId.get(kept) : undefined;
		if (keptIndex === undefined) return;
		let found = false;
		const seen = new Set<number>();
		for (let i = nodes[c]!.parent; i !== null && !seen.has(i); i = nodes[i]!.parent) {
			seen.add(i);
			if (i === keptIndex) {
				found = true;
				break;
			}
		}
		if (!found) return;
		// An ancestor already marked has its own ancestors marked: stop there.
		for (let i = nodes[keptIndex]!.parent; i !== null && !summarized[i]; i = nodes[i]!.parent) summarized[i] = 1;
	});
	return summarized;
}

/** Where a row of the tree goes, before its content is filled in (only for the page asked for). */
type Placement =
	| { kind: 'entry'; index: number; depth: number; branch?: BranchStart; unreachable: boolean }
	| { kind: 'fork'; depth: number; from: number | null; branches: number }
	| { kind: 'collapsed'; index: number; depth: number; branch?: BranchStart };

/** The drawing order of the whole tree, or of the branch at `from`: where each row goes. */
function placeRows(tree: SessionTree, from: number | null): Placement[] {
	const placements: Placement[] = [];
	type Place = { depth: number; branch?: BranchStart };
	walkSessionTree<Place>(
		tree,
		{ depth: 0 },
		{
			children: (children, { depth }, parent) => {
				if (children.length === 1) return [{ depth }];
				placements.push({ kind: 'fork', depth, from: parent, branches: children.length });
				// A branch is on the path when its first entry is: the path runs through one child only.
				return children.map((child, k) => ({
					depth: depth + 1,
					branch: { number: k + 1, of: children.length, onPath: tree.onPath.has(child), entries: tree.subtreeSize[child]! },
				}));
			},
			// A folded result is an only child, so it never starts a branch and loses no branch header.
			entry: (index, { depth, branch }, unreachable) => void placements.push({ kind: 'entry', index, depth, branch, unreachable }),
			collapsed: (index, { depth, branch }) => void placements.push({ kind: 'collapsed', index, depth, branch }),
		},
		from === null ? {} : { from },
	);
	return placements;
}

/** What every row of one session needs: the tree, the sizes, what is summarized, the preview sizes. */
interface RowContext {
	tree: SessionTree;
	sizes: number[];
	summarized: Uint8Array;
	limits: PreviewLimits;
}

/** The tool calls of an assistant message, each with the result folded into it. */
function toolCallViews(ctx: RowContext, index: number, message: Json, row: EntryRow): void {
	const { tree, sizes, limits } = ctx;
	const found = tree.results.get(index);
	for (const call of toolCallsOf(message)) {
		const r = found?.get(call.id);
		let result: ToolCallView['result'] = null;
		if (r !== undefined) {
			const m = messageOf(tree.entries[r])!;
			const text = contentText(m.content);
			result = {
				index: r,
				id: String(tree.entries[r]!.id),
				text: preview(text, limits.text),
				isError: m.isError === true,
				lines: countLines(text),
				bytes: sizes[r]!,
			};
			row.folded.push(result.id);
		}
		row.toolCalls.push({ callId: call.id, name: call.name, args: preview(formatArgs(call.args), limits.args), result });
	}
}

/** One entry as a row, its texts cut to previews. */
function entryRow(ctx: RowContext, p: Extract<Placement, { kind: 'entry' }>): EntryRow {
	const { tree, limits } = ctx;
	const e = tree.entries[p.index] as SessionEntry & Json;
	const message = messageOf(e);
	const row: EntryRow = {
		kind: 'entry',
		depth: p.depth,
		index: p.index,
		id: String(e?.id ?? '?'),
		parentId: typeof e?.parentId === 'string' ? e.parentId : null,
		type: String(e?.type ?? 'entry'),
		timestamp: typeof e?.timestamp === 'string' ? e.timestamp : null,
		role: message ? roleOf(message) : null,
		text: null,
		thinking: null,
		error: null,
		toolCalls: [],
		folded: [],
		compaction: null,
		branchSummary: null,
		json: null,
		bytes: ctx.sizes[p.index]!,
		onPath: tree.onPath.has(p.index),
		leaf: p.index === tree.leafIndex,
		summarized: ctx.summarized[p.index] === 1,
		unreachable: p.unreachable,
	};
	if (p.branch) row.branch = p.branch;
	if (e?.type === 'compaction') {
		row.compaction = {
			tokensBefore: typeof e.tokensBefore === 'number' ? e.tokensBefore : null,
			firstKeptEntryId: typeof e.firstKeptEntryId === 'string' ? e.firstKeptEntryId : null,
		};
		row.text = preview(summaryOf(e), limits.text);
	} else if (e?.type === 'branch_summary') {
		row.branchSummary = { fromId: typeof e.fromId === 'string' ? e.fromId : null };
		row.text = preview(summaryOf(e), limits.text);
	} else if (message) {
		row.text = preview(contentText(message.content), limits.text);
		const thinking = thinkingText(message.content);
		if (thinking !== '') row.thinking = preview(thinking, limits.text);
		if (message.stopReason === 'error' && typeof message.errorMessage === 'string') row.error = message.errorMessage;
		if (message.role === 'toolResult' && message.isError === true) row.error = 'the tool reported an error';
		toolCallViews(ctx, p.index, message, row);
	} else {
		row.json = preview(JSON.stringify(e) ?? String(e), limits.text);
	}
	return row;
}

function toRow(ctx: RowContext, p: Placement): TreeRow {
	if (p.kind === 'entry') return entryRow(ctx, p);
	const idOf = (i: number) => String(ctx.tree.entries[i]?.id ?? '?');
	if (p.kind === 'fork') return { kind: 'fork', depth: p.depth, from: p.from === null ? null : idOf(p.from), branches: p.branches };
	const row: TreeRow = {
		kind: 'collapsed',
		depth: p.depth,
		index: p.index,
		id: idOf(p.index),
		entries: ctx.tree.subtreeSize[p.index]!,
		onPath: ctx.tree.onPath.has(p.index),
	};
	if (p.branch) row.branch = p.branch;
	return row;
}

/** The size of the session entry by entry, thinned for a chart, and its largest entries. */
function growthOf(data: SessionData, tree: SessionTree, sizes: number[]): Growth {
	const { entries: _entries, ...rest } = data as SessionData & Json;
	const headerBytes = utf8Bytes(rest);
	let cumulative = headerBytes;
	const points: Array<[number, number]> = [[0, headerBytes]];
	const step = Math.max(1, Math.ceil(tree.entries.length / MAX_POINTS));
	const compactions: number[] = [];
	tree.entries.forEach((e, i) => {
		cumulative += sizes[i]!;
		if ((i + 1) % step === 0 || i === tree.entries.length - 1) points.push([i + 1, cumulative]);
		if (e?.type === 'compaction') compactions.push(i + 1);
	});
	const largest: Growth['largest'] = [];
	sizes.forEach((bytes, index) => {
		// Five kept in order as they come: sorting 100,000 sizes for five of them would cost more.
		if (largest.length === 5 && bytes <= largest[4]!.bytes) return;
		largest.push({ index, id: String(tree.entries[index]?.id ?? '?'), bytes });
		largest.sort((a, b) => b.bytes - a.bytes || a.index - b.index);
		if (largest.length > 5) largest.pop();
	});
	return { headerBytes, totalBytes: cumulative, entries: tree.entries.length, points, compactions, largest };
}

/** Entries up the leaf's path that "go to the leaf" draws when the leaf is not drawn yet. */
const LEAF_TAIL = 50;

/** The ancestor `LEAF_TAIL` entries up the leaf's path (or its root), and how many entries that is. */
function leafTailOf(tree: SessionTree): SessionView['leafTail'] {
	if (tree.leafIndex === undefined) return null;
	let from = tree.leafIndex;
	let entries = 1;
	const seen = new Set<number>([from]);
	for (let p = tree.nodes[from]!.parent; p !== null && entries < LEAF_TAIL && !seen.has(p); p = tree.nodes[p]!.parent) {
		seen.add(p);
		from = p;
		entries++;
	}
	return { from, entries };
}

/** The checks doctor runs on every session, on the loaded data. */
function problemsOf(id: string, data: SessionData, tables: { header: string; entries: string }): ProblemView[] {
	const problems: ProblemView[] = [];
	checkSessionShape(id, data, tables, (p) => {
		const { repair: _repair, ...problem } = p;
		problems.push(problem);
	});
	return problems;
}

/** The header fields of a session, the metadata cut to a preview. */
function headerOf(data: SessionData, limits: PreviewLimits): SessionView['header'] {
	const metadata = asObject(data.metadata);
	return {
		version: data.version,
		createdAt: data.createdAt,
		updatedAt: data.updatedAt,
		metadata: metadata && Object.keys(metadata).length > 0 ? preview(JSON.stringify(metadata), limits.text) : null,
		extraFields: Object.keys(data).filter((k) => !KNOWN_HEADER.has(k)),
	};
}

/** Options of a session view. */
export interface ViewOptions {
	preview?: PreviewLimits;
	/** Where doctor would report damage. */
	tables?: { header: string; entries: string };
	/** Rows in the first page of the tree. Default `ROW_PAGE`. */
	rows?: number;
	/** Identifies this revision of the session in row pages. Default: its `updatedAt`. */
	rev?: string;
}

/**
 * A loaded session, laid out once, from which the page's view and any page of its rows are cut.
 * The studio keeps a few of these, so that paging through a large tree does not load it again.
 */
export class SessionLayout {
	readonly rev: string;
	private readonly ctx: RowContext;
	private readonly placements = new Map<number | null, Placement[]>();

	constructor(
		readonly id: string,
		private readonly data: SessionData,
		private readonly options: ViewOptions = {},
	) {
		const tree = buildSessionTree(data);
		this.rev = options.rev ?? String(data.updatedAt ?? '');
		this.ctx = { tree, sizes: tree.entries.map((e) => utf8Bytes(e)), summarized: summarizedEntries(tree), limits: options.preview ?? DEFAULT_PREVIEW };
	}

	/** The position of an entry of this session, if `index` is one. */
	has(index: number): boolean {
		return Number.isInteger(index) && index >= 0 && index < this.ctx.tree.entries.length;
	}

	/** A page of the rows of the whole tree (`from` null) or of the branch that starts at entry `from`. */
	rows(from: number | null, offset: number, limit: number): RowPage {
		let placements = this.placements.get(from);
		if (!placements) {
			placements = placeRows(this.ctx.tree, from);
			this.placements.set(from, placements);
		}
		const rows = placements.slice(offset, offset + limit).map((p) => toRow(this.ctx, p));
		return { rev: this.rev, from, offset, rows, total: placements.length };
	}

	/** The view of the session with the first page of its tree. */
	view(): SessionView {
		const { tree, sizes } = this.ctx;
		return {
			id: this.id,
			stats: treeStats(tree),
			header: headerOf(this.data, this.ctx.limits),
			tree: this.rows(null, 0, this.options.rows ?? ROW_PAGE),
			maxForkDepth: MAX_FORK_DEPTH,
			leafTail: leafTailOf(tree),
			growth: growthOf(this.data, tree, sizes),
			problems: problemsOf(this.id, this.data, this.options.tables ?? { header: 'session', entries: 'session' }),
		};
	}
}

/** Builds the view of a loaded session, with the first page of its rows. */
export function buildSessionView(id: string, data: SessionData, options: ViewOptions = {}): SessionView {
	return new SessionLayout(id, data, options).view();
}
