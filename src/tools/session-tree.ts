/**
 * A session drawn as the tree it is: entries linked by `parentId`, branches where an entry has
 * several children, the path to the leaf marked, compactions as boundary lines, and each tool
 * call folded with its result into one line.
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

/** The plain text of a message's content: a string, or the text parts of an array. */
function contentText(content: unknown): string {
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

function toolCallsOf(message: Json): Array<{ id: string; name: string; args: unknown }> {
	if (!Array.isArray(message.content)) return [];
	const calls: Array<{ id: string; name: string; args: unknown }> = [];
	for (const part of message.content) {
		const p = asObject(part);
		if (p?.type === 'toolCall') calls.push({ id: String(p.id ?? ''), name: String(p.name ?? 'tool'), args: p.arguments });
	}
	return calls;
}

/** Whitespace folded to single spaces, cut to `max` characters with an ellipsis. */
function oneLine(text: string, max: number): string {
	const flat = text.replace(/\s+/g, ' ').trim();
	if (max < 2) return '';
	return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function countLines(text: string): number {
	if (text === '') return 0;
	return text.replace(/\n$/, '').split('\n').length;
}

function plural(n: number, word: string, many = `${word}s`): string {
	return `${n.toLocaleString('en-US')} ${n === 1 ? word : many}`;
}

/** A tool call's arguments in a few characters: the command of a shell call, or compact JSON. */
function formatArgs(args: unknown): string {
	const o = asObject(args);
	if (o) {
		const values = Object.values(o);
		if (typeof o.command === 'string') return o.command;
		if (values.length === 1 && typeof values[0] === 'string') return values[0];
	}
	if (args === undefined) return '';
	return JSON.stringify(args) ?? '';
}

function resultSummary(result: Json | undefined): string {
	if (!result) return 'no result';
	const text = contentText(result.content);
	const lines = plural(countLines(text), 'line');
	return result.isError === true ? `error, ${lines}` : lines;
}

interface Node {
	entry: SessionEntry;
	index: number;
	children: number[];
	parent: number | null;
}

/** Builds the nodes; the first entry with an id wins if ids repeat (doctor reports that). */
function buildNodes(entries: SessionEntry[]): { nodes: Node[]; byId: Map<string, number>; roots: number[]; missingParents: Array<{ id: string; parentId: string }> } {
	const byId = new Map<string, number>();
	entries.forEach((e, i) => {
		if (typeof e?.id === 'string' && !byId.has(e.id)) byId.set(e.id, i);
	});
	const nodes: Node[] = entries.map((entry, index) => ({ entry, index, children: [], parent: null }));
	const roots: number[] = [];
	const missingParents: Array<{ id: string; parentId: string }> = [];
	for (const node of nodes) {
		const parentId = node.entry?.parentId;
		if (typeof parentId === 'string') {
			const p = byId.get(parentId);
			if (p !== undefined && p !== node.index) {
				node.parent = p;
				nodes[p]!.children.push(node.index);
				continue;
			}
			missingParents.push({ id: String(node.entry.id), parentId });
		}
		roots.push(node.index);
	}
	return { nodes, byId, roots, missingParents };
}

/** Counts what `show` prints in its header. */
export function sessionStats(data: SessionData): SessionStats {
	const entries = Array.isArray(data.entries) ? data.entries : [];
	const { nodes, byId, missingParents } = buildNodes(entries);
	let compactions = 0;
	let toolCalls = 0;
	for (const e of entries) {
		if (e?.type === 'compaction') compactions++;
		const message = asObject((e as { message?: unknown })?.message);
		if (e?.type === 'message' && message?.role === 'assistant') toolCalls += toolCallsOf(message).length;
	}
	const leafId = typeof data.leafId === 'string' ? data.leafId : null;
	return {
		entries: entries.length,
		branches: nodes.filter((n) => n.children.length === 0).length,
		compactions,
		toolCalls,
		leafId,
		leafExists: leafId !== null && byId.has(leafId),
		missingParents,
	};
}

/** Draws a session as a tree, one line per entry (tool calls folded), for a person to read. */
export function renderSessionTree(id: string, data: SessionData, options: TreeOptions = {}): string {
	const width = Math.max(40, options.width ?? 120);
	const entries = Array.isArray(data.entries) ? data.entries : [];
	const { nodes, byId, roots } = buildNodes(entries);
	const stats = sessionStats(data);
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

	// The leaf path: the leaf and its ancestors.
	const onPath = new Set<number>();
	for (let i = stats.leafId === null ? undefined : byId.get(stats.leafId), guard = 0; i !== undefined && guard <= nodes.length; guard++) {
		if (onPath.has(i)) break;
		onPath.add(i);
		const p = nodes[i]!.parent;
		i = p === null ? undefined : p;
	}

	const leafIndex = stats.leafId === null ? undefined : byId.get(stats.leafId);
	// Fold each tool result into the call that asked for it when it follows the call directly
	// (the leaf itself stays a line of its own, so the tree shows where the session stands).
	const folded = new Set<number>();
	const results = new Map<number, Map<string, Json>>();
	for (const node of nodes) {
		const message = asObject((node.entry as { message?: unknown })?.message);
		if (node.entry?.type !== 'message' || message?.role !== 'assistant') continue;
		const calls = new Set(toolCallsOf(message).map((c) => c.id));
		if (calls.size === 0) continue;
		const found = new Map<string, Json>();
		for (let cur = node; cur.children.length === 1; ) {
			const child = nodes[cur.children[0]!]!;
			const m = asObject((child.entry as { message?: unknown })?.message);
			const callId = typeof m?.toolCallId === 'string' ? m.toolCallId : undefined;
			if (child.index === leafIndex || child.entry?.type !== 'message' || m?.role !== 'toolResult' || callId === undefined || !calls.has(callId) || found.has(callId)) break;
			found.set(callId, m!);
			folded.add(child.index);
			cur = child;
		}
		results.set(node.index, found);
	}

	const describe = (node: Node): string[] => {
		const e = node.entry as SessionEntry & Json;
		if (e?.type === 'compaction') {
			const tokens = typeof e.tokensBefore === 'number' ? `${e.tokensBefore.toLocaleString('en-US')} tokens before` : 'compaction';
			return [`━━ compaction · ${tokens} · keeps ${String(e.firstKeptEntryId)} onward ━━ ${typeof e.summary === 'string' ? e.summary : ''}`];
		}
		if (e?.type === 'branch_summary') return [`↳ branch summary (from ${String(e.fromId)}): ${typeof e.summary === 'string' ? e.summary : ''}`];
		const message = asObject(e?.message);
		if (e?.type !== 'message' || !message) return [`${String(e?.type ?? 'entry')} ${JSON.stringify(e)}`];
		const role = String(message.role ?? 'message');
		const text = contentText(message.content);
		if (role === 'assistant') {
			const lines: string[] = [];
			const calls = toolCallsOf(message);
			if (text.trim() !== '' || calls.length === 0) {
				const error = message.stopReason === 'error' && typeof message.errorMessage === 'string' ? ` [error: ${message.errorMessage}]` : '';
				lines.push(`assistant: ${text}${error}`);
			}
			const found = results.get(node.index);
			for (const call of calls) lines.push(`⚙ ${call.name}(${formatArgs(call.args)}) → ${resultSummary(found?.get(call.id))}`);
			return lines;
		}
		if (role === 'toolResult') return [`⚙ result of ${String(message.toolName ?? 'a tool')}: ${resultSummary(message)}`];
		return [`${role}: ${text}`];
	};

	const visited = new Set<number>();
	const emit = (node: Node, linePrefix: string, childPrefix: string) => {
		const mark = onPath.has(node.index) ? '●' : '○';
		const idText = String(node.entry?.id ?? '?');
		const tail = node.index === leafIndex ? '  ◀ leaf' : '';
		describe(node).forEach((text, i) => {
			const prefix = i === 0 ? `${linePrefix}${mark} ${idText}  ` : `${childPrefix}${' '.repeat(idText.length + 4)}`;
			const room = width - prefix.length - (i === 0 ? tail.length : 0);
			out.push(`${prefix}${oneLine(text, room)}${i === 0 ? tail : ''}`);
		});
	};
	type Frame = { index: number; linePrefix: string; childPrefix: string };
	const stack: Frame[] = [];
	const pushChildren = (children: number[], prefix: string) => {
		if (children.length === 1) {
			stack.push({ index: children[0]!, linePrefix: prefix, childPrefix: prefix });
			return;
		}
		for (let i = children.length - 1; i >= 0; i--) {
			const last = i === children.length - 1;
			stack.push({ index: children[i]!, linePrefix: `${prefix}${last ? '└─ ' : '├─ '}`, childPrefix: `${prefix}${last ? '   ' : '│  '}` });
		}
	};
	const walk = (start: number[]) => {
		pushChildren(start, '');
		while (stack.length > 0) {
			const frame = stack.pop()!;
			if (visited.has(frame.index)) continue;
			visited.add(frame.index);
			const node = nodes[frame.index]!;
			if (!folded.has(node.index)) emit(node, frame.linePrefix, frame.childPrefix);
			pushChildren(node.children, frame.childPrefix);
		}
	};
	walk(roots);
	// Entries caught in a cycle of parent links are reachable from no root.
	const unreached = nodes.filter((n) => !visited.has(n.index)).map((n) => n.index);
	if (unreached.length > 0) {
		out.push('', `⚠ ${plural(unreached.length, 'entry', 'entries')} in a cycle of parent links:`);
		for (const i of unreached) if (!visited.has(i)) walk([i]);
	}
	return `${out.join('\n')}\n`;
}
