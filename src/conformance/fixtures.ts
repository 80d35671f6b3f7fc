/**
 * Flue-shaped sessions for tests and benchmarks: the same shapes Flue 0.4 writes (messages with
 * content parts and usage, tool calls and results, compactions, branch summaries).
 */
import type { SessionData, SessionEntry } from '../types.js';

const BASE_TIME = Date.UTC(2026, 0, 1);

/** Deterministic 8-hex-character entry ids, as Flue makes them. */
export function entryId(n: number): string {
	return (0x10000000 + n).toString(16).slice(-8);
}

function iso(n: number): string {
	return new Date(BASE_TIME + n * 1000).toISOString();
}

/** An empty session, as Flue saves it when `agent.session(id)` misses. */
export function emptySession(extra: Record<string, unknown> = {}): SessionData {
	return { version: 2, entries: [], leafId: null, metadata: {}, createdAt: iso(0), updatedAt: iso(0), ...extra };
}

/** A message entry. */
export function messageEntry(id: string, parentId: string | null, role: 'user' | 'assistant' | 'toolResult', text: string, n = 0): SessionEntry {
	const message: Record<string, unknown> =
		role === 'assistant'
			? {
					role,
					content: [{ type: 'text', text }],
					api: 'openai-completions',
					provider: 'fake',
					model: 'canned-1',
					usage: { input: 10, output: 5, cacheRead: 0, cacheWrite: 0, totalTokens: 15, cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 } },
					stopReason: 'stop',
					timestamp: BASE_TIME + n,
				}
			: role === 'toolResult'
				? { role, toolCallId: `call_${id}`, toolName: 'bash', content: [{ type: 'text', text }], isError: false, timestamp: BASE_TIME + n }
				: { role, content: [{ type: 'text', text }], timestamp: BASE_TIME + n };
	return { type: 'message', id, parentId, timestamp: iso(n), message, source: 'prompt' };
}

/** Text of a given length that is not all one character (compresses like real tool output). */
export function filler(bytes: number, seed = 1): string {
	const words = ['alpha', 'beta', 'gamma', 'delta', 'ls -la', 'src/index.ts', '{"ok":true}', 'error: retry', '42', 'λ'];
	let out = '';
	let x = seed;
	while (out.length < bytes) {
		x = (x * 1103515245 + 12345) & 0x7fffffff;
		out += words[x % words.length] + (x % 7 === 0 ? '\n' : ' ');
	}
	return out.slice(0, bytes);
}

/**
 * A conversation of `turns` turns, 4 entries each (user, assistant with a tool call, tool result,
 * assistant reply) in one chain, as Flue saves it after each `prompt()`.
 */
export function conversation(
	turns: number,
	options: { toolBytes?: number | ((turn: number) => number); startAt?: number; base?: SessionData } = {},
): SessionData {
	const data: SessionData = options.base ? structuredClone(options.base) : emptySession();
	const start = options.startAt ?? data.entries.length;
	let parent = data.leafId;
	for (let t = 0; t < turns; t++) {
		const k = start + t * 4;
		const toolBytes = typeof options.toolBytes === 'function' ? options.toolBytes(t) : (options.toolBytes ?? 200);
		const ids = [entryId(k), entryId(k + 1), entryId(k + 2), entryId(k + 3)] as const;
		const user = messageEntry(ids[0], parent, 'user', `question ${k}: what does step ${t} print?`, k);
		const call = messageEntry(ids[1], ids[0], 'assistant', '', k + 1);
		(call as { message: Record<string, unknown> }).message.content = [
			{ type: 'toolCall', id: `call_${ids[2]}`, name: 'bash', arguments: { command: `echo step ${t}` } },
		];
		const result = messageEntry(ids[2], ids[1], 'toolResult', filler(toolBytes, k), k + 2);
		const reply = messageEntry(ids[3], ids[2], 'assistant', `step ${t} printed its output.`, k + 3);
		data.entries.push(user, call, result, reply);
		parent = ids[3];
	}
	data.leafId = parent;
	data.updatedAt = iso(start + turns * 4);
	return data;
}

/** A deep copy (what a second reader of the same session would hold). */
export function copy<T>(value: T): T {
	return JSON.parse(JSON.stringify(value)) as T;
}

/** One more exchange (a user message and a reply) on top of `data`, with entry ids unique to `tag`; `data` is not changed. */
export function exchange(data: SessionData, tag: string): SessionData {
	const next = structuredClone(data);
	const user = messageEntry(`${tag}-u`, next.leafId, 'user', `question ${tag}`);
	const reply = messageEntry(`${tag}-a`, user.id, 'assistant', `answer ${tag}`);
	next.entries.push(user, reply);
	next.leafId = reply.id;
	return next;
}
