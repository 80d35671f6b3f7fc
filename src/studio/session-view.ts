/**
 * A session turned into what the studio page draws: the tree as a flat list of rows (so that
 * neither the server nor the page recurses on a deep or branchy session), the leaf path, the
 * history a compaction summarized, tool calls folded with their results, texts cut to a preview,
 * and the size of the session entry by entry.
 *
 * The tree itself (parents, the leaf path, which tool result is folded into which call, the drawing
 * order, the counts) is the one `flue-persist show` draws, from src/tools/session-tree.ts; what is
 * here is only what the page adds to it.
 */
import type { Problem } from '../tools/doctor-types.js';
import { checkSessionData } from '../tools/doctor-session.js';
import { buildSessionTree, contentText, countLines, formatArgs, messageOf, roleOf, summaryOf, toolCallsOf, treeStats, walkSessionTree, type SessionStats } from '../tools/session-tree.js';
import type { SessionData, SessionEntry } from '../types.js';

export { contentText } from '../tools/session-tree.js';

/** How much of each text the first response carries; the page asks for the rest on demand. */
export interface PreviewLimits {
	/** Characters of a message, summary or tool result. */
	text: number;
	/** Characters of a tool call's arguments. */
	args: number;
}

/** The default preview sizes: a screenful per entry. */
export const DEFAULT_PREVIEW: PreviewLimits = { text: 1200, args: 300 };

/** A text cut to its preview length. */
export interface Preview {
	text: string;
	/** The full text is longer than `text`. */
	truncated: boolean;
	/** Characters in the full text. */
	length: number;
}

/** A tool call with the result folded into it. */
export interface ToolCallView {
	callId: string;
	name: string;
	args: Preview;
	/** The result entry when it follows the call directly; null when it is elsewhere or missing. */
	result: { index: number; id: string; text: Preview; isError: boolean; lines: number; bytes: number } | null;
}

/** One entry of the tree, in the order the page draws them. */
export interface EntryRow {
	kind: 'entry';
	/** Forks this row sits inside (0 on the trunk). */
	depth: number;
	/** Set on the first row of a branch: which branch of its fork it starts. */
	branch?: BranchStart;
	/** Position in `entries`, which is how `/api/entry` finds it again. */
	index: number;
	id: string;
	parentId: string | null;
	type: string;
	timestamp: string | null;
	/** `message` entries: user, assistant, toolResult, or whatever role a later Flue adds. */
	role: string | null;
	text: Preview | null;
	thinking: Preview | null;
	error: string | null;
	toolCalls: ToolCallView[];
	/** Ids of tool result entries drawn inside this row's tool calls. */
	folded: string[];
	compaction: { tokensBefore: number | null; firstKeptEntryId: string | null } | null;
	branchSummary: { fromId: string | null } | null;
	/** Unknown entry types: the entry as compact JSON, cut. */
	json: Preview | null;
	/** UTF-8 bytes of this entry's JSON, folded results not included. */
	bytes: number;
	onPath: boolean;
	leaf: boolean;
	/** On the path to a compaction, before the entry it keeps: the model sees only its summary. */
	summarized: boolean;
	/** Drawn after the tree because it is reachable from no root (a cycle of parent links). */
	unreachable: boolean;
}

/** The first row of a branch names the branch. */
export interface BranchStart {
	/** 1-based position among the fork's branches. */
	number: number;
	of: number;
	onPath: boolean;
	/** Entries in the branch, the start included. */
	entries: number;
}

/** An entry with several children (or a session with several roots): the branches follow. */
export interface ForkRow {
	kind: 'fork';
	depth: number;
	/** The entry the branches grow from; null for several roots. */
	from: string | null;
	branches: number;
}

/** A row of the tree. */
export type TreeRow = EntryRow | ForkRow;

/** How the session grew: cumulative JSON bytes, entry by entry, in stored order. */
export interface Growth {
	/** Bytes of the session without its entries (version, leaf, metadata, times). */
	headerBytes: number;
	/** `headerBytes` plus every entry. */
	totalBytes: number;
	entries: number;
	/** `[entry number (1-based), bytes so far]`, thinned to at most a few hundred points. */
	points: Array<[number, number]>;
	/** Entry numbers (1-based) of compactions. */
	compactions: number[];
	/** The largest entries, largest first. */
	largest: Array<{ index: number; id: string; bytes: number }>;
}

/** Everything the page shows about a session. */
export interface SessionView {
	id: string;
	stats: SessionStats;
	header: { version: unknown; createdAt: unknown; updatedAt: unknown; metadata: Preview | null; extraFields: string[] };
	rows: TreeRow[];
	growth: Growth;
	/** Damage visible in the loaded data itself (the checks doctor runs on every session). */
	problems: Problem[];
}

type Json = Record<string, unknown>;

const asObject = (value: unknown): Json | null => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : null);

const KNOWN_HEADER = new Set(['version', 'entries', 'leafId', 'metadata', 'createdAt', 'updatedAt']);
const MAX_POINTS = 400;

/** Cuts a text to `max` characters, never between the two halves of a surrogate pair. */
export function preview(text: string, max: number): Preview {
	if (text.length <= max) return { text, truncated: false, length: text.length };
	let end = max;
	const code = text.charCodeAt(end - 1);
	if (code >= 0xd800 && code <= 0xdbff) end--;
	return { text: text.slice(0, end), truncated: true, length: text.length };
}

function thinkingText(content: unknown): string {
	if (!Array.isArray(content)) return '';
	const out: string[] = [];
	for (const part of content) {
		const p = asObject(part);
		if (p?.type === 'thinking' && typeof p.thinking === 'string') out.push(p.thinking);
	}
	return out.join('\n');
}

const utf8Bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');

/** Builds the view of a loaded session. `tables` names where doctor would report damage. */
export function buildSessionView(id: string, data: SessionData, options: { preview?: PreviewLimits; tables?: { header: string; entries: string } } = {}): SessionView {
	const limits = options.preview ?? DEFAULT_PREVIEW;
	const tree = buildSessionTree(data);
	const { entries, nodes, byId } = tree;
	const stats = treeStats(tree);

	// History a compaction replaced: its ancestors above the entry it keeps.
	const summarized = new Set<number>();
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
		for (let i = nodes[keptIndex]!.parent; i !== null && !summarized.has(i); i = nodes[i]!.parent) summarized.add(i);
	});

	const sizes = entries.map((e) => utf8Bytes(e));

	// Subtree sizes, for the branch headers; children always come after their parent in a
	// depth-first order, so summing that order backwards adds each subtree before its parent.
	const order: number[] = [];
	{
		const reached = new Set<number>();
		const stack = [...tree.roots].reverse();
		while (stack.length > 0) {
			const i = stack.pop()!;
			if (reached.has(i)) continue;
			reached.add(i);
			order.push(i);
			for (let k = nodes[i]!.children.length - 1; k >= 0; k--) stack.push(nodes[i]!.children[k]!);
		}
	}
	const subtree = new Array<number>(nodes.length).fill(1);
	for (let k = order.length - 1; k >= 0; k--) {
		const i = order[k]!;
		const p = nodes[i]!.parent;
		if (p !== null) subtree[p]! += subtree[i]!;
	}

	const entryRow = (index: number, depth: number, branch: BranchStart | undefined, unreachable: boolean): EntryRow => {
		const e = entries[index] as SessionEntry & Json;
		const message = messageOf(e);
		const row: EntryRow = {
			kind: 'entry',
			depth,
			index,
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
			bytes: sizes[index]!,
			onPath: tree.onPath.has(index),
			leaf: index === tree.leafIndex,
			summarized: summarized.has(index),
			unreachable,
		};
		if (branch) row.branch = branch;
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
			const found = tree.results.get(index);
			for (const call of toolCallsOf(message)) {
				const r = found?.get(call.id);
				let result: ToolCallView['result'] = null;
				if (r !== undefined) {
					const m = messageOf(entries[r])!;
					const text = contentText(m.content);
					result = { index: r, id: String(entries[r]!.id), text: preview(text, limits.text), isError: m.isError === true, lines: countLines(text), bytes: sizes[r]! };
					row.folded.push(result.id);
				}
				row.toolCalls.push({ callId: call.id, name: call.name, args: preview(formatArgs(call.args), limits.args), result });
			}
		} else {
			row.json = preview(JSON.stringify(e) ?? String(e), limits.text);
		}
		return row;
	};

	const rows: TreeRow[] = [];
	type Place = { depth: number; branch?: BranchStart };
	walkSessionTree<Place>(
		tree,
		{ depth: 0 },
		{
			children: (children, { depth }, from) => {
				if (children.length === 1) return [{ depth }];
				rows.push({ kind: 'fork', depth, from: from === null ? null : String(entries[from]?.id ?? '?'), branches: children.length });
				// A branch is on the path when its first entry is: the path runs through one child only.
				return children.map((child, k) => ({ depth: depth + 1, branch: { number: k + 1, of: children.length, onPath: tree.onPath.has(child), entries: subtree[child]! } }));
			},
			// A folded result is an only child, so it never starts a branch and loses no branch header.
			entry: (index, { depth, branch }, unreachable) => {
				rows.push(entryRow(index, depth, branch, unreachable));
			},
		},
	);

	const { entries: _entries, ...rest } = data as SessionData & Json;
	const headerBytes = utf8Bytes(rest);
	let cumulative = headerBytes;
	const points: Array<[number, number]> = [[0, headerBytes]];
	const step = Math.max(1, Math.ceil(entries.length / MAX_POINTS));
	const compactions: number[] = [];
	entries.forEach((e, i) => {
		cumulative += sizes[i]!;
		if ((i + 1) % step === 0 || i === entries.length - 1) points.push([i + 1, cumulative]);
		if (e?.type === 'compaction') compactions.push(i + 1);
	});
	const largest = sizes
		.map((bytes, index) => ({ index, id: String(entries[index]?.id ?? '?'), bytes }))
		.sort((a, b) => b.bytes - a.bytes || a.index - b.index)
		.slice(0, 5);

	const metadata = asObject(data.metadata);
	const problems: Problem[] = [];
	checkSessionData(id, data, options.tables ?? { header: 'session', entries: 'session' }, (p) => {
		const { repair: _repair, ...problem } = p;
		problems.push(problem);
	});

	return {
		id,
		stats,
		header: {
			version: data.version,
			createdAt: data.createdAt,
			updatedAt: data.updatedAt,
			metadata: metadata && Object.keys(metadata).length > 0 ? preview(JSON.stringify(metadata), limits.text) : null,
			extraFields: Object.keys(data).filter((k) => !KNOWN_HEADER.has(k)),
		},
		rows,
		growth: { headerBytes, totalBytes: cumulative, entries: entries.length, points, compactions, largest },
		problems,
	};
}
