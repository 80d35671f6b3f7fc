/**
 * A session drawn as the tree it is: entries linked by `parentId`, branches where an entry has
 * several children, the path to the leaf marked, compactions as boundary lines, and each tool
 * call folded with its result into one line.
 *
 * The tree model (`buildSessionTree`, `walkSessionTree` and the message helpers) is also what the
 * studio draws from (src/studio/session-view.ts), so that `show` and the page cannot disagree on
 * which entry hangs where, which path is the leaf's, or which tool result is folded into which call.
 */

import { InvalidInputError } from '../errors.js';
import type { SessionData, SessionEntry } from '../types.js';
import { escapeText } from './format.js';

/** What `show` prints above the tree, and `--json` callers may want. */
export interface SessionStats {
	entries: number;
	/** Tips of the tree (entries without children): 1 for a single line of conversation. */
	branches: number;
	compactions: number;
	toolCalls: number;
	leafId: string | null;
	leafExists: boolean;
	/** Entries whose `parentId` names no entry of the session. */
	missingParents: Array<{ id: string; parentId: string }>;
	/** Entries whose `parentId` is their own id. */
	selfParents: string[];
	/** Ids of the entries no root reaches (caught in a cycle of parent links, or hanging from one), in stored order. */
	unreachable: string[];
}

/** How `renderSessionTree` draws. */
export interface TreeOptions {
	/** Longest line, in characters. Default 120. */
	width?: number;
	/** Draw only the branch that starts at this entry id. */
	from?: string;
	/** Entries drawn before the first one printed (paging). Default 0. */
	skip?: number;
	/** Most entries printed. Default: all. */
	limit?: number;
}

/**
 * Forks nested deeper than this are not drawn: each of their branches becomes one collapsed line
 * (or row, in the studio) that says how to draw it on its own. Indentation grows with every fork,
 * so without a bound 20,000 nested forks would make lines of 60,000 characters.
 */
export const MAX_FORK_DEPTH = 16;

type Json = Record<string, unknown>;

const asObject = (value: unknown): Json | null => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : null);

/** The plain text of a message's content: a string, or the text parts of an array (images as a marker). */
export function contentText(content: unknown): string {
	if (typeof content === 'string') return content;
	if (!Array.isArray(content)) return '';
	const out: string[] = [];
	for (const part of content) {
		const p = asObject(part);
		if (!p) continue;
		if (p.type === 'text' && typeof p.text === 'string') out.push(p.text);
		else if (p.type === 'image') out.push('[image]');
	}
	return out.join('\n');
}

/** The thinking parts of a message's content, as one text. */
export function thinkingText(content: unknown): string {
	if (!Array.isArray(content)) return '';
	const out: string[] = [];
	for (const part of content) {
		const p = asObject(part);
		if (p?.type === 'thinking' && typeof p.thinking === 'string') out.push(p.thinking);
	}
	return out.join('\n');
}

/**
 * The message of a `message` entry; null for any other entry, and for a `message` entry whose
 * message is not an object (both renderers then show the entry as raw JSON).
 */
export function messageOf(entry: SessionEntry | undefined): Json | null {
	return entry?.type === 'message' ? asObject((entry as { message?: unknown }).message) : null;
}

/** A message's role as the renderers name it; a message without one is just a "message". */
export function roleOf(message: Json): string {
	return String(message.role ?? 'message');
}

/** The `summary` of a compaction or branch summary entry; empty when it has none. */
export function summaryOf(entry: SessionEntry): string {
	const summary = (entry as { summary?: unknown }).summary;
	return typeof summary === 'string' ? summary : '';
}

/** A `toolCall` part of a message's content. */
export interface ToolCall {
	/** The id its result names in `toolCallId`; empty when the part has none. */
	id: string;
	name: string;
	args: unknown;
}

/** The tool calls in a message's content, in order. */
export function toolCallsOf(message: Json): ToolCall[] {
	if (!Array.isArray(message.content)) return [];
	const calls: ToolCall[] = [];
	for (const part of message.content) {
		const p = asObject(part);
		if (p?.type === 'toolCall') calls.push({ id: String(p.id ?? ''), name: String(p.name ?? 'tool'), args: p.arguments });
	}
	return calls;
}

/** A tool call's arguments as one string: a shell call reads best as its command, anything else as compact JSON. */
export function formatArgs(args: unknown): string {
	const o = asObject(args);
	if (o) {
		if (typeof o.command === 'string') return o.command;
		const values = Object.values(o);
		if (values.length === 1 && typeof values[0] === 'string') return values[0];
	}
	if (args === undefined) return '';
	return JSON.stringify(args) ?? '';
}

/** Lines of a text, not counting an empty line after a final newline. */
export function countLines(text: string): number {
	if (text === '') return 0;
	return text.replace(/\n$/, '').split('\n').length;
}

/** Cuts a text to `max` UTF-16 units, never between the two halves of a surrogate pair. */
export function cutText(text: string, max: number): string {
	if (text.length <= max) return text;
	let end = Math.max(0, max);
	const code = text.charCodeAt(end - 1);
	if (code >= 0xd800 && code <= 0xdbff) end--;
	return text.slice(0, end);
}

/** Characters as a terminal counts them: a surrogate pair is one. */
const HAS_SURROGATE = /[\ud800-\udfff]/;
const columnsOf = (text: string): number => (HAS_SURROGATE.test(text) ? [...text].length : text.length);

/**
 * Stored text as one line for a person: whitespace folded to single spaces, control characters
 * escaped (`escapeText`), cut to `max` columns with an ellipsis.
 */
function oneLine(text: string, max: number): string {
	if (max < 2) return '';
	// Only a bounded slice is ever shown: a 50 MB tool result is not folded and escaped whole.
	const flat = escapeText(
		text
			.slice(0, max * 8 + 64)
			.replace(/\s+/g, ' ')
			.trim(),
	);
	if (columnsOf(flat) <= max) return flat;
	return `${cutText(flat, max - 1)}…`;
}

function plural(n: number, word: string, many = `${word}s`): string {
	return `${n.toLocaleString('en-US')} ${n === 1 ? word : many}`;
}

function resultSummary(result: Json | null): string {
	if (!result) return 'no result';
	const text = contentText(result.content);
	const lines = plural(countLines(text), 'line');
	return result.isError === true ? `error, ${lines}` : lines;
}

/** An entry's place in the tree, by positions in `entries`. */
export interface TreeNode {
	index: number;
	/** Null for a root. */
	parent: number | null;
	/** In stored order, which is the order the branches are drawn in. */
	children: number[];
}

/** The shape of a session that `show` and the studio both draw. */
export interface SessionTree {
	/** `data.entries`, or none when it is not an array. */
	entries: SessionEntry[];
	/** One per entry, at the entry's position. */
	nodes: TreeNode[];
	/** Position of the first entry with each id: when ids repeat the first wins (doctor reports the repeat). */
	byId: Map<string, number>;
	/** Entries without a parent in the session, in stored order. */
	roots: number[];
	/** Entries drawn as roots although they name a parent that is not in the session. */
	missingParents: Array<{ id: string; parentId: string }>;
	/** Entries drawn as roots because they name themselves as their parent. */
	selfParents: number[];
	/** Entries no root reaches (a cycle of parent links, or hanging from one), in stored order. */
	unreachable: number[];
	/** Entries in each entry's branch, the entry included (1 for entries no root reaches). */
	subtreeSize: Int32Array;
	leafId: string | null;
	/** Undefined when there is no leaf or it names no entry. */
	leafIndex: number | undefined;
	/** The leaf and its ancestors. */
	onPath: Set<number>;
	/** Tool results drawn inside the call that asked for them: result position → the calling entry's position. */
	foldedInto: Map<number, number>;
	/** For each assistant entry with tool calls: call id → position of the result folded into it. */
	results: Map<number, Map<string, number>>;
}

const NO_CHILDREN: number[] = [];

/** Links every entry to its parent; entries without one in the session become roots. */
function linkEntries(entries: SessionEntry[]) {
	const byId = new Map<string, number>();
	entries.forEach((e, i) => {
		if (typeof e?.id === 'string' && !byId.has(e.id)) byId.set(e.id, i);
	});
	// Most entries have no child: they share one empty list until they get one.
	const nodes: TreeNode[] = entries.map((_, index) => ({ index, parent: null, children: NO_CHILDREN }));
	const roots: number[] = [];
	const missingParents: Array<{ id: string; parentId: string }> = [];
	const selfParents: number[] = [];
	for (const node of nodes) {
		const entry = entries[node.index];
		const parentId = entry?.parentId;
		if (typeof parentId === 'string') {
			const p = byId.get(parentId);
			if (p !== undefined && p !== node.index) {
				node.parent = p;
				const parent = nodes[p]!;
				if (parent.children === NO_CHILDREN) parent.children = [node.index];
				else parent.children.push(node.index);
				continue;
			}
			if (p === node.index) selfParents.push(node.index);
			else missingParents.push({ id: String(entry!.id), parentId });
		}
		roots.push(node.index);
	}
	return { byId, nodes, roots, missingParents, selfParents };
}

/**
 * The entries the roots reach, depth first in drawing order, and the size of each entry's branch.
 * Children come after their parent in that order, so summing it backwards adds each branch before
 * its parent.
 */
function measureBranches(nodes: TreeNode[], roots: number[]): { unreachable: number[]; subtreeSize: Int32Array } {
	const reached = new Uint8Array(nodes.length);
	const order: number[] = [];
	const stack = [...roots].reverse();
	while (stack.length > 0) {
		const i = stack.pop()!;
		if (reached[i]) continue;
		reached[i] = 1;
		order.push(i);
		const children = nodes[i]!.children;
		for (let k = children.length - 1; k >= 0; k--) stack.push(children[k]!);
	}
	const subtreeSize = new Int32Array(nodes.length).fill(1);
	for (let k = order.length - 1; k >= 0; k--) {
		const p = nodes[order[k]!]!.parent;
		if (p !== null) subtreeSize[p]! += subtreeSize[order[k]!]!;
	}
	const unreachable: number[] = [];
	for (let i = 0; i < nodes.length; i++) if (!reached[i]) unreachable.push(i);
	return { unreachable, subtreeSize };
}

/**
 * Tool results drawn inside their calls. A result is folded only when it follows its call directly
 * (an only child, in an unbroken run of results to that message's calls), so a folded line never
 * hides a branch. The leaf is never folded: the drawing must show where the session stands.
 */
function foldToolResults(entries: SessionEntry[], nodes: TreeNode[], leafIndex: number | undefined) {
	const foldedInto = new Map<number, number>();
	const results = new Map<number, Map<string, number>>();
	for (const node of nodes) {
		const message = messageOf(entries[node.index]);
		if (message?.role !== 'assistant') continue;
		const calls = new Set(toolCallsOf(message).map((c) => c.id));
		if (calls.size === 0) continue;
		const found = new Map<string, number>();
		for (let cur = node; cur.children.length === 1; ) {
			const child = nodes[cur.children[0]!]!;
			const m = messageOf(entries[child.index]);
			const callId = typeof m?.toolCallId === 'string' ? m.toolCallId : undefined;
			if (child.index === leafIndex || m?.role !== 'toolResult' || callId === undefined || !calls.has(callId) || found.has(callId)) break;
			found.set(callId, child.index);
			foldedInto.set(child.index, node.index);
			cur = child;
		}
		results.set(node.index, found);
	}
	return { foldedInto, results };
}

/** Links a session's entries into a tree and works out what every drawing of it marks. */
export function buildSessionTree(data: SessionData): SessionTree {
	const entries: SessionEntry[] = Array.isArray(data.entries) ? data.entries : [];
	const { byId, nodes, roots, missingParents, selfParents } = linkEntries(entries);
	const { unreachable, subtreeSize } = measureBranches(nodes, roots);
	const leafId = typeof data.leafId === 'string' ? data.leafId : null;
	const leafIndex = leafId === null ? undefined : byId.get(leafId);
	const onPath = new Set<number>();
	// A leaf inside a cycle of parent links would lead back to itself.
	for (let i = leafIndex ?? null; i !== null && !onPath.has(i); i = nodes[i]!.parent) onPath.add(i);
	const { foldedInto, results } = foldToolResults(entries, nodes, leafIndex);
	return { entries, nodes, byId, roots, missingParents, selfParents, unreachable, subtreeSize, leafId, leafIndex, onPath, foldedInto, results };
}

/** How `walkSessionTree` hands the tree to a renderer; `P` is where the renderer draws an entry (indent, depth). */
export interface TreeVisitor<P> {
	/**
	 * Places for the children of an entry (`from`, its position) or for the roots (`from` null), one
	 * per child in the same order. Called once per entry with children, before any child is drawn,
	 * so a renderer can draw the fork there.
	 */
	children(children: number[], place: P, from: number | null): P[];
	/** Draws an entry; folded tool results are not drawn (their children are). */
	entry(index: number, place: P, unreachable: boolean): void;
	/** A branch not entered because its fork is nested deeper than `maxForkDepth`: `index` starts it. */
	collapsed(index: number, place: P): void;
	/** Called once, before the entries no root reaches, when there are any. */
	beforeUnreachable?(count: number): void;
}

/** Where `walkSessionTree` starts and how deep it goes. */
export interface WalkOptions {
	/** Walk only the branch that starts at this entry (a position), as if it were the only root. */
	from?: number;
	/** Forks nested deeper than this are not entered. Default `MAX_FORK_DEPTH`. */
	maxForkDepth?: number;
}

/**
 * Visits every entry once, depth first, branches in stored order, from the roots; then the entries
 * no root reaches, in stored order. A fork nested more than `maxForkDepth` forks deep is not
 * entered: each of its branches is handed to `collapsed`. It keeps its own stack, so neither a deep
 * nor a branchy session recurses.
 */
export function walkSessionTree<P>(tree: SessionTree, root: P, visitor: TreeVisitor<P>, options: WalkOptions = {}): void {
	const maxDepth = options.maxForkDepth ?? MAX_FORK_DEPTH;
	const visited = new Uint8Array(tree.nodes.length);
	const stack: Array<{ index: number; place: P; depth: number }> = [];
	const pushChildren = (children: number[], place: P, from: number | null, depth: number) => {
		if (children.length === 0) return;
		const places = visitor.children(children, place, from);
		const childDepth = children.length > 1 ? depth + 1 : depth;
		for (let k = children.length - 1; k >= 0; k--) stack.push({ index: children[k]!, place: places[k]!, depth: childDepth });
	};
	const walk = (start: number[], unreachable: boolean) => {
		pushChildren(start, root, null, 0);
		while (stack.length > 0) {
			const { index, place, depth } = stack.pop()!;
			if (visited[index]) continue;
			if (depth > maxDepth) {
				visitor.collapsed(index, place);
				continue;
			}
			visited[index] = 1;
			if (!tree.foldedInto.has(index)) visitor.entry(index, place, unreachable);
			pushChildren(tree.nodes[index]!.children, place, index, depth);
		}
	};
	if (options.from !== undefined) {
		walk([options.from], tree.unreachable.includes(options.from));
		return;
	}
	walk(tree.roots, false);
	if (tree.unreachable.length > 0) visitor.beforeUnreachable?.(tree.unreachable.length);
	for (const i of tree.unreachable) if (!visited[i]) walk([i], true);
}

/** The counts of an already built tree (see `sessionStats`). */
export function treeStats(tree: SessionTree): SessionStats {
	let compactions = 0;
	let toolCalls = 0;
	let branches = 0;
	for (const e of tree.entries) {
		if (e?.type === 'compaction') compactions++;
		const message = messageOf(e);
		if (message?.role === 'assistant') toolCalls += toolCallsOf(message).length;
	}
	for (const n of tree.nodes) if (n.children.length === 0) branches++;
	const idOf = (i: number) => String(tree.entries[i]?.id ?? '?');
	return {
		entries: tree.entries.length,
		branches,
		compactions,
		toolCalls,
		leafId: tree.leafId,
		leafExists: tree.leafIndex !== undefined,
		missingParents: tree.missingParents,
		selfParents: tree.selfParents.map(idOf),
		unreachable: tree.unreachable.map(idOf),
	};
}

/** Counts what `show` prints in its header. */
export function sessionStats(data: SessionData): SessionStats {
	return treeStats(buildSessionTree(data));
}

/** What a drawing held, for the caller to say how to go on. */
export interface DrawnTree {
	/** Entries (and collapsed branches) in the whole drawing. */
	total: number;
	/** Printed: `skip` onward, at most `limit`. */
	printed: number;
	/** Branches not drawn because they are nested too deep. */
	collapsed: number;
}

/** The text `show` prints for one entry, before escaping and cutting: one string per line. */
function describeEntry(tree: SessionTree, index: number): string[] {
	const e = tree.entries[index] as SessionEntry & Json;
	if (e?.type === 'compaction') {
		const tokens = typeof e.tokensBefore === 'number' ? `${e.tokensBefore.toLocaleString('en-US')} tokens before` : 'compaction';
		return [`━━ compaction · ${tokens} · keeps ${String(e.firstKeptEntryId)} onward ━━ ${summaryOf(e)}`];
	}
	if (e?.type === 'branch_summary') return [`↳ branch summary (from ${String(e.fromId)}): ${summaryOf(e)}`];
	const message = messageOf(e);
	if (!message) return [`${String(e?.type ?? 'entry')} ${JSON.stringify(e)}`];
	const role = roleOf(message);
	if (role === 'assistant') {
		const text = contentText(message.content);
		const lines: string[] = [];
		const calls = toolCallsOf(message);
		if (text.trim() !== '' || calls.length === 0) {
			const error = message.stopReason === 'error' && typeof message.errorMessage === 'string' ? ` [error: ${message.errorMessage}]` : '';
			lines.push(`assistant: ${text}${error}`);
		}
		const found = tree.results.get(index);
		for (const call of calls) {
			const r = found?.get(call.id);
			lines.push(`⚙ ${call.name}(${formatArgs(call.args)}) → ${resultSummary(r === undefined ? null : messageOf(tree.entries[r]))}`);
		}
		return lines;
	}
	if (role === 'toolResult') return [`⚙ result of ${String(message.toolName ?? 'a tool')}: ${resultSummary(message)}`];
	return [`${role}: ${contentText(message.content)}`];
}

/** The lines above the tree: counts, leaf and times, metadata, and what is wrong with the shape. */
function headerLines(id: string, data: SessionData, tree: SessionTree, stats: SessionStats, width: number): string[] {
	const out: string[] = [];
	const head = [`session "${escapeText(id)}"`, plural(stats.entries, 'entry', 'entries'), plural(stats.branches, 'branch', 'branches')];
	if (stats.compactions > 0) head.push(plural(stats.compactions, 'compaction'));
	if (stats.toolCalls > 0) head.push(plural(stats.toolCalls, 'tool call'));
	out.push(head.join(' · '));
	const info: string[] = [];
	info.push(stats.leafId === null ? 'no leaf' : `leaf ${escapeText(stats.leafId)}${stats.leafExists ? '' : ' (missing)'}`);
	if (typeof data.createdAt === 'string') info.push(`created ${escapeText(data.createdAt)}`);
	if (typeof data.updatedAt === 'string') info.push(`updated ${escapeText(data.updatedAt)}`);
	out.push(info.join(' · '));
	const metadata = asObject(data.metadata);
	if (metadata && Object.keys(metadata).length > 0) out.push(oneLine(`metadata ${JSON.stringify(metadata)}`, width));
	const warn = (text: string) => out.push(oneLine(`⚠ ${text}`, width));
	if (stats.leafId !== null && !stats.leafExists) warn(`the leaf ${stats.leafId} is not an entry of this session`);
	for (const m of stats.missingParents) warn(`entry ${m.id}: its parent ${m.parentId} is missing; drawn as a root`);
	for (const s of stats.selfParents) warn(`entry ${s} names itself as its parent; drawn as a root`);
	if (tree.unreachable.length > 0) {
		const shown = stats.unreachable.slice(0, 5).join(', ') + (stats.unreachable.length > 5 ? ', …' : '');
		warn(`${plural(tree.unreachable.length, 'entry is', 'entries are')} in a cycle of parent links and reach no root (${shown}); drawn after the tree`);
	}
	return out;
}

/**
 * Draws a session as a tree, one line per entry (tool calls folded), for a person to read, and
 * hands the text to `write` in pieces as it goes: neither the text nor any line of it grows with
 * the depth of the tree. Stored text is escaped (`escapeText`) and cut to `width`.
 */
export function writeSessionTree(id: string, data: SessionData, options: TreeOptions, write: (text: string) => void): DrawnTree {
	const width = Math.max(40, options.width ?? 120);
	const skip = options.skip ?? 0;
	const limit = options.limit ?? Infinity;
	const tree = buildSessionTree(data);
	const stats = treeStats(tree);
	let from: number | undefined;
	if (options.from !== undefined) {
		from = tree.byId.get(options.from);
		if (from === undefined)
			throw new InvalidInputError(`entry "${escapeText(options.from)}" is not in session "${escapeText(id)}"; draw the whole session without --from`, {
				sessionId: id,
			});
	}

	let pending: string[] = headerLines(id, data, tree, stats, width);
	const flush = (force: boolean) => {
		if (pending.length === 0 || (!force && pending.length < 2000)) return;
		write(`${pending.join('\n')}\n`);
		pending = [];
	};
	if (from !== undefined) pending.push(`from ${escapeText(options.from!)}: a branch of ${plural(tree.subtreeSize[from]!, 'entry', 'entries')}`);
	if (tree.entries.length === 0) {
		pending.push('(no entries)');
		flush(true);
		return { total: 0, printed: 0, collapsed: 0 };
	}
	pending.push('');

	let seen = 0;
	let printed = 0;
	let collapsed = 0;
	let cycleNote: string | null = null;
	/** Counts a row of the drawing and says whether this page prints it. */
	const onPage = () => {
		const index = seen++;
		if (index < skip || printed >= limit) return false;
		printed++;
		if (cycleNote !== null) {
			if (pending.at(-1) !== '') pending.push('');
			pending.push(cycleNote);
			cycleNote = null;
		}
		return true;
	};
	const line = (prefix: string, text: string, tail = '') => {
		pending.push(`${prefix}${oneLine(text, width - columnsOf(prefix) - columnsOf(tail))}${tail}`);
		flush(false);
	};
	const mark = (index: number) => (tree.onPath.has(index) ? '●' : '○');
	const idText = (index: number) => escapeText(String(tree.entries[index]?.id ?? '?'));

	type Place = { linePrefix: string; childPrefix: string };
	walkSessionTree<Place>(
		tree,
		{ linePrefix: '', childPrefix: '' },
		{
			children: (children, { childPrefix: prefix }) =>
				children.length === 1
					? [{ linePrefix: prefix, childPrefix: prefix }]
					: children.map((_, i) => {
							const last = i === children.length - 1;
							return { linePrefix: `${prefix}${last ? '└─ ' : '├─ '}`, childPrefix: `${prefix}${last ? '   ' : '│  '}` };
						}),
			entry: (index, { linePrefix, childPrefix }) => {
				if (!onPage()) return;
				const shownId = idText(index);
				const tail = index === tree.leafIndex ? '  ◀ leaf' : '';
				describeEntry(tree, index).forEach((text, i) => {
					if (i === 0) line(`${linePrefix}${mark(index)} ${shownId}  `, text, tail);
					else line(`${childPrefix}${' '.repeat(columnsOf(shownId) + 4)}`, text);
				});
			},
			collapsed: (index, { linePrefix }) => {
				collapsed++;
				if (!onPage()) return;
				const size = plural(tree.subtreeSize[index]!, 'entry', 'entries');
				line(`${linePrefix}${mark(index)} ${idText(index)}  `, `⋯ ${size} deeper than ${MAX_FORK_DEPTH} forks: --from ${idText(index)}`);
			},
			beforeUnreachable: (count) => {
				cycleNote = `⚠ ${plural(count, 'entry', 'entries')} in a cycle of parent links:`;
			},
		},
		{ from },
	);
	if (collapsed > 0 && printed > 0 && seen <= skip + limit) {
		pending.push(
			'',
			`⚠ ${plural(collapsed, 'branch', 'branches')} deeper than ${MAX_FORK_DEPTH} forks ${collapsed === 1 ? 'is' : 'are'} not drawn; --from <entry id> draws one`,
		);
	}
	flush(true);
	return { total: seen, printed, collapsed };
}

/** Draws a session as a tree into one string (see `writeSessionTree`, which `show` uses). */
export function renderSessionTree(id: string, data: SessionData, options: TreeOptions = {}): string {
	const parts: string[] = [];
	writeSessionTree(id, data, options, (text) => parts.push(text));
	return parts.join('');
}
