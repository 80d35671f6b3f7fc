/**
 * A session drawn as the tree it is: entries linked by `parentId`, branches where an entry has
 * several children, the path to the leaf marked, compactions as boundary lines, and each tool
 * call folded with its result into one line.
 *
 * The tree model (`buildSessionTree`, `walkSessionTree` and the message helpers) is also what the
 * studio draws from (src/studio/session-view.ts), so that `show` and the page cannot disagree on
 * which entry hangs where, which path is the leaf's, or which tool result is folded into which call.
 */
import type { SessionData, SessionEntry } from '../types.js';

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
}

/** How `renderSessionTree` draws. */
export interface TreeOptions {
	/** Longest line, in characters. Default 120. */
	width?: number;
}

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

/** Whitespace folded to single spaces, cut to `max` characters with an ellipsis. */
function oneLine(text: string, max: number): string {
	const flat = text.replace(/\s+/g, ' ').trim();
	if (max < 2) return '';
	return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
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
	/** Entries drawn as roots although they name a parent: it is not in the session, or it is the entry itself. */
	missingParents: Array<{ id: string; parentId: string }>;
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

/** Links a session's entries into a tree and works out what every drawing of it marks. */
export function buildSessionTree(data: SessionData): SessionTree {
	const entries: SessionEntry[] = Array.isArray(data.entries) ? data.entries : [];
	const byId = new Map<string, number>();
	entries.forEach((e, i) => {
		if (typeof e?.id === 'string' && !byId.has(e.id)) byId.set(e.id, i);
	});
	const nodes: TreeNode[] = entries.map((_, index) => ({ index, parent: null, children: [] }));
	const roots: number[] = [];
	const missingParents: Array<{ id: string; parentId: string }> = [];
	for (const node of nodes) {
		const entry = entries[node.index];
		const parentId = entry?.parentId;
		if (typeof parentId === 'string') {
			const p = byId.get(parentId);
			if (p !== undefined && p !== node.index) {
				node.parent = p;
				nodes[p]!.children.push(node.index);
				continue;
			}
			missingParents.push({ id: String(entry!.id), parentId });
		}
		roots.push(node.index);
	}

	const leafId = typeof data.leafId === 'string' ? data.leafId : null;
	const leafIndex = leafId === null ? undefined : byId.get(leafId);
	const onPath = new Set<number>();
	// A leaf inside a cycle of parent links would lead back to itself.
	for (let i = leafIndex ?? null; i !== null && !onPath.has(i); i = nodes[i]!.parent) onPath.add(i);

	// A result is folded only when it follows its call directly (an only child, in an unbroken run
	// of results to that message's calls), so a folded line never hides a branch. The leaf is never
	// folded: the drawing must show where the session stands.
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
	return { entries, nodes, byId, roots, missingParents, leafId, leafIndex, onPath, foldedInto, results };
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
	/** Called once, before the entries no root reaches, when there are any. */
	beforeUnreachable?(count: number): void;
}

/**
 * Visits every entry once, depth first, branches in stored order, from the roots; then the entries
 * no root reaches (caught in a cycle of parent links, or hanging from one), in stored order.
 * It keeps its own stack, so neither a deep nor a branchy session recurses.
 */
export function walkSessionTree<P>(tree: SessionTree, root: P, visitor: TreeVisitor<P>): void {
	const visited = new Set<number>();
	const stack: Array<{ index: number; place: P }> = [];
	const pushChildren = (children: number[], place: P, from: number | null) => {
		if (children.length === 0) return;
		const places = visitor.children(children, place, from);
		for (let k = children.length - 1; k >= 0; k--) stack.push({ index: children[k]!, place: places[k]! });
	};
	const walk = (start: number[], unreachable: boolean) => {
		pushChildren(start, root, null);
		while (stack.length > 0) {
			const { index, place } = stack.pop()!;
			if (visited.has(index)) continue;
			visited.add(index);
			if (!tree.foldedInto.has(index)) visitor.entry(index, place, unreachable);
			pushChildren(tree.nodes[index]!.children, place, index);
		}
	};
	walk(tree.roots, false);
	const unreached = tree.nodes.filter((n) => !visited.has(n.index)).map((n) => n.index);
	if (unreached.length > 0) visitor.beforeUnreachable?.(unreached.length);
	for (const i of unreached) if (!visited.has(i)) walk([i], true);
}

/** The counts of an already built tree (see `sessionStats`). */
export function treeStats(tree: SessionTree): SessionStats {
	let compactions = 0;
	let toolCalls = 0;
	for (const e of tree.entries) {
		if (e?.type === 'compaction') compactions++;
		const message = messageOf(e);
		if (message?.role === 'assistant') toolCalls += toolCallsOf(message).length;
	}
	return {
		entries: tree.entries.length,
		branches: tree.nodes.filter((n) => n.children.length === 0).length,
		compactions,
		toolCalls,
		leafId: tree.leafId,
		leafExists: tree.leafIndex !== undefined,
		missingParents: tree.missingParents,
	};
}

/** Counts what `show` prints in its header. */
export function sessionStats(data: SessionData): SessionStats {
	return treeStats(buildSessionTree(data));
}

/** Draws a session as a tree, one line per entry (tool calls folded), for a person to read. */
export function renderSessionTree(id: string, data: SessionData, options: TreeOptions = {}): string {
	const width = Math.max(40, options.width ?? 120);
	const tree = buildSessionTree(data);
	const { entries } = tree;
	const stats = treeStats(tree);
	const out: string[] = [];

	const head = [`session ${JSON.stringify(id)}`, plural(stats.entries, 'entry', 'entries'), plural(stats.branches, 'branch', 'branches')];
	if (stats.compactions > 0) head.push(plural(stats.compactions, 'compaction'));
	if (stats.toolCalls > 0) head.push(plural(stats.toolCalls, 'tool call'));
	out.push(head.join(' · '));
	const info: string[] = [];
	info.push(stats.leafId === null ? 'no leaf' : `leaf ${stats.leafId}${stats.leafExists ? '' : ' (missing)'}`);
	if (typeof data.createdAt === 'string') info.push(`created ${data.createdAt}`);
	if (typeof data.updatedAt === 'string') info.push(`updated ${data.updatedAt}`);
	out.push(info.join(' · '));
	const metadata = asObject(data.metadata);
	if (metadata && Object.keys(metadata).length > 0) out.push(oneLine(`metadata ${JSON.stringify(metadata)}`, width));
	if (stats.leafId !== null && !stats.leafExists) out.push(`⚠ the leaf ${stats.leafId} is not an entry of this session`);
	for (const m of stats.missingParents) out.push(`⚠ entry ${m.id}: its parent ${m.parentId} is missing; drawn as a root`);
	if (entries.length === 0) {
		out.push('(no entries)');
		return `${out.join('\n')}\n`;
	}
	out.push('');

	const describe = (index: number): string[] => {
		const e = entries[index] as SessionEntry & Json;
		if (e?.type === 'compaction') {
			const tokens = typeof e.tokensBefore === 'number' ? `${e.tokensBefore.toLocaleString('en-US')} tokens before` : 'compaction';
			return [`━━ compaction · ${tokens} · keeps ${String(e.firstKeptEntryId)} onward ━━ ${summaryOf(e)}`];
		}
		if (e?.type === 'branch_summary') return [`↳ branch summary (from ${String(e.fromId)}): ${summaryOf(e)}`];
		const message = messageOf(e);
		if (!message) return [`${String(e?.type ?? 'entry')} ${JSON.stringify(e)}`];
		const role = roleOf(message);
		const text = contentText(message.content);
		if (role === 'assistant') {
			const lines: string[] = [];
			const calls = toolCallsOf(message);
			if (text.trim() !== '' || calls.length === 0) {
				const error = message.stopReason === 'error' && typeof message.errorMessage === 'string' ? ` [error: ${message.errorMessage}]` : '';
				lines.push(`assistant: ${text}${error}`);
			}
			const found = tree.results.get(index);
			for (const call of calls) {
				const r = found?.get(call.id);
				lines.push(`⚙ ${call.name}(${formatArgs(call.args)}) → ${resultSummary(r === undefined ? null : messageOf(entries[r]))}`);
			}
			return lines;
		}
		if (role === 'toolResult') return [`⚙ result of ${String(message.toolName ?? 'a tool')}: ${resultSummary(message)}`];
		return [`${role}: ${text}`];
	};

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
				const mark = tree.onPath.has(index) ? '●' : '○';
				const idText = String(entries[index]?.id ?? '?');
				const tail = index === tree.leafIndex ? '  ◀ leaf' : '';
				describe(index).forEach((text, i) => {
					const prefix = i === 0 ? `${linePrefix}${mark} ${idText}  ` : `${childPrefix}${' '.repeat(idText.length + 4)}`;
					const room = width - prefix.length - (i === 0 ? tail.length : 0);
					out.push(`${prefix}${oneLine(text, room)}${i === 0 ? tail : ''}`);
				});
			},
			beforeUnreachable: (count) => out.push('', `⚠ ${plural(count, 'entry', 'entries')} in a cycle of parent links:`),
		},
	);
	return `${out.join('\n')}\n`;
}
