/**
 * Drives real Flue agents against a store, offline, on any Flue release with a session store.
 *
 * A local HTTP server speaks the OpenAI chat-completions streaming protocol and records every
 * request, so a test can see exactly what Flue sent to the model (and therefore what it restored
 * from the store). The scenarios at the bottom take a store factory and a release (default: the
 * @flue/sdk the library's tests install; see flue-releases.ts for the others), so every backend
 * runs the same Flue flows on every release: restore (in one process and across two), parallel
 * tasks, and context-overflow recovery.
 */
import { rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { ExpectStatic } from 'vitest';
import type { SessionData, SessionEntry, SessionStore } from '../../src/types.js';
import { bundleForNode } from './bundle.js';
import { type AgentOptions, type FlueAgentLike, type FlueRelease, installedSdkSpec, loadRelease, withoutPreamble } from './flue-releases.js';
import type { TurnWorkerConfig, TurnWorkerResult, WorkerStoreConfig } from './flue-turn-worker.js';
import { root } from './paths.js';
import { capture } from './spawn.js';

export { type AgentOptions, FAKE_CONTEXT_WINDOW, type FlueRelease } from './flue-releases.js';

// ---------------------------------------------------------------------------------------------
// The fake model server

/** One message of a recorded request, flattened to text. */
export interface SeenMessage {
	role: string;
	text: string;
}

/** A request Flue sent to the model. */
export interface ModelRequest {
	/** The parsed JSON body, as sent. */
	body: Record<string, any>;
	/** The system prompt, '' when none was sent. */
	system: string;
	/** Every non-system message in order; assistant tool calls appear as `call name(args)`. */
	messages: SeenMessage[];
	/** Text of the last message (what the model is asked to answer). */
	last: SeenMessage;
}

export type FakeReply =
	| { text: string }
	| { toolCalls: Array<{ name: string; arguments: Record<string, unknown> }> }
	| { error: { status: number; message: string; type?: string; code?: string } };

export type Responder = (request: ModelRequest, index: number) => FakeReply;

export interface FakeModel {
	/** The model string to pass to Flue, `<provider>/<model-id>`. */
	readonly model: string;
	/** The provider name it is registered under. */
	readonly provider: string;
	/** The Flue release it is registered with; agents started on it use that release. */
	readonly release: FlueRelease;
	readonly baseUrl: string;
	/** Every request received, in arrival order. */
	readonly requests: ModelRequest[];
	respond(responder: Responder): void;
	close(): Promise<void>;
}

const contentText = (content: unknown): string => {
	if (typeof content === 'string') return content;
	if (!Array.isArray(content)) return '';
	return content.map((part: { text?: unknown }) => (typeof part?.text === 'string' ? part.text : '')).join('');
};

function flatten(message: Record<string, any>): SeenMessage {
	let text = withoutPreamble(contentText(message.content));
	if (Array.isArray(message.tool_calls)) {
		const calls = message.tool_calls.map((c: any) => `call ${c.function?.name}(${c.function?.arguments})`);
		text = [text, ...calls].filter(Boolean).join(' ');
	}
	return { role: String(message.role), text };
}

/** The default model: it repeats the last message, so a test can tell replies apart. */
export const echo: Responder = (request) => ({ text: `ACK: ${request.last.text}` });

let providerCount = 0;

/**
 * Starts the fake model and registers it with `release` (default: the library's @flue/sdk) as a
 * provider of its own, so that several servers in one process never share a registration.
 */
export async function startFakeModel(responder: Responder = echo, release?: FlueRelease): Promise<FakeModel> {
	const flue = release ?? (await loadRelease(installedSdkSpec));
	let respond = responder;
	const requests: ModelRequest[] = [];
	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			let reply: FakeReply;
			try {
				const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, any>;
				const all = (body.messages ?? []) as Array<Record<string, any>>;
				const system = all
					.filter((m) => m.role === 'system' || m.role === 'developer')
					.map((m) => contentText(m.content))
					.join('\n');
				const messages = all.filter((m) => m.role !== 'system' && m.role !== 'developer').map(flatten);
				const request: ModelRequest = { body, system, messages, last: messages.at(-1) ?? { role: 'none', text: '' } };
				requests.push(request);
				reply = respond(request, requests.length - 1);
			} catch (error) {
				reply = { error: { status: 500, message: `fake model failed: ${(error as Error).message}` } };
			}
			writeReply(res, reply);
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	const provider = `fake-${process.pid}-${++providerCount}`;
	const baseUrl = `http://127.0.0.1:${port}/v1`;
	return {
		model: flue.registerModel(provider, baseUrl),
		provider,
		release: flue,
		baseUrl,
		requests,
		respond(next) {
			respond = next;
		},
		close: () => new Promise<void>((resolve) => server.close(() => resolve())),
	};
}

function writeReply(res: http.ServerResponse, reply: FakeReply): void {
	if ('error' in reply) {
		// The shape OpenAI uses for a rejected request; the client turns it into "<status> <message>".
		const { status, message, type = 'invalid_request_error', code } = reply.error;
		res.writeHead(status, { 'content-type': 'application/json' });
		res.end(JSON.stringify({ error: { message, type, param: null, code: code ?? null } }));
		return;
	}
	const base = { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 0, model: 'fake-chat-1' };
	const events: unknown[] = [];
	if ('text' in reply) {
		events.push({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: reply.text }, finish_reason: null }] });
		events.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
	} else {
		const toolCalls = reply.toolCalls.map((call, index) => ({
			index,
			id: `call_${index}_${Math.random().toString(36).slice(2, 10)}`,
			type: 'function',
			function: { name: call.name, arguments: JSON.stringify(call.arguments) },
		}));
		events.push({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: null, tool_calls: toolCalls }, finish_reason: null }] });
		events.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] });
	}
	events.push({ ...base, choices: [], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } });
	res.writeHead(200, { 'content-type': 'text/event-stream' });
	for (const event of events) res.write(`data: ${JSON.stringify(event)}\n\n`);
	res.end('data: [DONE]\n\n');
}

// ---------------------------------------------------------------------------------------------
// Flue agents

/**
 * A fresh Flue context (what one request or one process gets) of the model's release, with
 * `store` as `persist`. Nothing is shared with an earlier context except the store and the model
 * server.
 */
export function startAgent(model: FakeModel, store: SessionStore, options: AgentOptions): Promise<FlueAgentLike> {
	return model.release.startAgent(model.model, store, options);
}

/** The storage key the library's @flue/sdk (0.4.1) uses for a session of an agent. */
export const sessionKey = (agentId: string, sessionId: string): string => `agent-session:${JSON.stringify([agentId, sessionId])}`;

// ---------------------------------------------------------------------------------------------
// Watching the store

export interface StoreCall {
	op: 'save' | 'load' | 'delete';
	key: string;
	/** save: entry ids of the snapshot, in order. */
	entryIds?: string[];
	leafId?: string | null;
	/** save: the storage keys listed in `metadata.taskSessions` at call time. */
	taskKeys?: string[];
	/** save: other saves of the same key still running when this one was called. */
	overlapping?: number;
	/** Set when the call settles. */
	outcome?: 'ok' | { error: string; code?: string };
}

export interface RecordingStore {
	/** The recording store, to hand to Flue. */
	store: SessionStore;
	/** The store it wraps, to close. */
	inner: SessionStore;
	calls: StoreCall[];
	/** The saves only, optionally of one key. */
	saves(key?: string): StoreCall[];
	/** Resolves when every call made so far has settled. */
	settled(): Promise<void>;
}

/**
 * Wraps a store and records each call as Flue makes it. The snapshot is summarised at call time,
 * because Flue keeps mutating the same objects (`metadata.taskSessions`) after `save` returns.
 */
export function recordCalls(
	inner: SessionStore,
	hooks: { onSave?: (call: StoreCall) => void; onSaveSettled?: (call: StoreCall) => Promise<void> } = {},
): RecordingStore {
	const { onSave, onSaveSettled } = hooks;
	const calls: StoreCall[] = [];
	const pending = new Set<Promise<unknown>>();
	const running = new Map<string, number>();
	const track = <T>(call: StoreCall, promise: Promise<T>, after?: () => Promise<void>): Promise<T> => {
		const done = promise.then(
			async (value) => {
				call.outcome = 'ok';
				if (after) await after();
				return value;
			},
			(error: unknown) => {
				call.outcome = { error: error instanceof Error ? error.message : String(error), code: (error as { code?: string })?.code };
				throw error;
			},
		);
		pending.add(done);
		done.then(
			() => pending.delete(done),
			() => pending.delete(done),
		);
		return done;
	};
	const store: SessionStore = {
		save(key, data) {
			const taskSessions: unknown[] = Array.isArray(data.metadata?.taskSessions) ? data.metadata.taskSessions : [];
			const call: StoreCall = {
				op: 'save',
				key,
				entryIds: data.entries.map((e) => e.id),
				leafId: data.leafId,
				taskKeys: taskSessions.map((t) => (t as { storageKey?: string }).storageKey ?? '?'),
				overlapping: running.get(key) ?? 0,
			};
			calls.push(call);
			onSave?.(call);
			running.set(key, (running.get(key) ?? 0) + 1);
			const result = inner.save(key, data).finally(() => running.set(key, (running.get(key) ?? 1) - 1));
			return track(call, result, onSaveSettled && (() => onSaveSettled(call)));
		},
		load(key) {
			const call: StoreCall = { op: 'load', key };
			calls.push(call);
			return track(call, inner.load(key));
		},
		delete(key) {
			const call: StoreCall = { op: 'delete', key };
			calls.push(call);
			return track(call, inner.delete(key));
		},
	};
	return {
		store,
		inner,
		calls,
		saves: (key) => calls.filter((c) => c.op === 'save' && (key === undefined || c.key === key)),
		settled: async () => {
			while (pending.size > 0) await Promise.allSettled([...pending]);
		},
	};
}

/** Collects Flue's `[flue:…]` diagnostics (printed with console.error) while `fn` runs. */
export async function captureFlueLog<T>(fn: () => PromiseLike<T>): Promise<{ result: T; log: string[] }> {
	const log: string[] = [];
	const original = console.error;
	console.error = (...args: unknown[]) => {
		const line = args.map(String).join(' ');
		if (line.startsWith('[flue')) log.push(line);
		else original(...args);
	};
	try {
		return { result: await fn(), log };
	} finally {
		console.error = original;
	}
}

// ---------------------------------------------------------------------------------------------
// Reading sessions

type AnyEntry = SessionEntry & { message?: { role?: string; content?: unknown; stopReason?: string; errorMessage?: string }; source?: string };

/** The text of an entry's message (tool calls included), '' for other entry types. */
export function entryText(entry: SessionEntry): string {
	const message = (entry as AnyEntry).message;
	if (!message) return (entry as { summary?: string }).summary ?? '';
	if (typeof message.content === 'string') return withoutPreamble(message.content);
	if (!Array.isArray(message.content)) return '';
	return withoutPreamble(
		message.content
			.map((part: { type?: string; text?: string; name?: string; arguments?: unknown }) =>
				// Keys sorted: Postgres jsonb (blob layout) keeps values, not key order.
				part.type === 'toolCall' ? `call ${part.name}(${sortedJson(part.arguments)})` : (part.text ?? ''),
			)
			.join(' '),
	);
}

function sortedJson(value: unknown): string {
	if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
	if (value && typeof value === 'object') {
		return `{${Object.keys(value)
			.sort()
			.map((k) => `${JSON.stringify(k)}:${sortedJson((value as Record<string, unknown>)[k])}`)
			.join(',')}}`;
	}
	return JSON.stringify(value);
}

export const entryRole = (entry: SessionEntry): string => (entry as AnyEntry).message?.role ?? entry.type;

/** `role: text` of every entry, in stored order. */
export const transcript = (data: SessionData): string[] => data.entries.map((e) => `${entryRole(e)}: ${entryText(e)}`);

/** The entries from the root to the leaf. */
export function activePath(data: SessionData): SessionEntry[] {
	const byId = new Map(data.entries.map((e) => [e.id, e] as const));
	const path: SessionEntry[] = [];
	for (let at = data.leafId ? byId.get(data.leafId) : undefined; at; at = at.parentId ? byId.get(at.parentId) : undefined) path.unshift(at);
	return path;
}

// ---------------------------------------------------------------------------------------------
// Scenarios, shared by every backend

export interface StoreUnderTest {
	/**
	 * A new store instance over the test's database. Each call must return a new instance (a
	 * restarted process), not the same object: the scenarios prove that data outlives one.
	 */
	openStore: () => SessionStore | Promise<SessionStore>;
	closeStore: (store: SessionStore) => Promise<void>;
	expect: ExpectStatic;
	/**
	 * Whether the two child-session saves of a task resolve in the same tick, so that Flue calls
	 * the second metadata-only parent save while the first is in flight. True for a local SQLite
	 * file; a networked database answers each on its own schedule, so the overlap may not happen
	 * (overlapping saves of one key are covered by the conformance suite on every backend).
	 * Default true.
	 */
	overlapExpected?: boolean;
	/** The Flue release to drive. Default: the library's @flue/sdk. */
	release?: FlueRelease;
}

const releaseOf = (target: StoreUnderTest): Promise<FlueRelease> => (target.release ? Promise.resolve(target.release) : loadRelease(installedSdkSpec));

/** Opens stores for a scenario and closes whatever is still open at the end. */
async function withStores(
	target: StoreUnderTest,
	fn: (open: () => Promise<SessionStore>, close: (s: SessionStore) => Promise<void>) => Promise<void>,
): Promise<void> {
	const open = new Set<SessionStore>();
	try {
		await fn(
			async () => {
				const store = await target.openStore();
				open.add(store);
				return store;
			},
			async (store) => {
				open.delete(store);
				await target.closeStore(store);
			},
		);
	} finally {
		for (const store of open) await target.closeStore(store).catch(() => {});
	}
}

/**
 * Restore: a conversation written by one context and store instance is what a fresh context with
 * a fresh store instance sends to the model on the next turn.
 */
export async function restoreScenario(target: StoreUnderTest): Promise<void> {
	const { expect } = target;
	const release = await releaseOf(target);
	const model = await startFakeModel(echo, release);
	const agentId = 'agent-restore';
	const key = release.sessionKey(agentId, 'thread-1');
	try {
		await withStores(target, async (open, close) => {
			const first = recordCalls(await open());
			const agent1 = await startAgent(model, first.store, { agentId });
			const turn1 = await (await agent1.session('thread-1')).prompt('remember X=42');
			expect(turn1.text).toBe('ACK: remember X=42');
			// session() on a new id saves an empty session; the turn saves user + assistant at once.
			const saves1 = first.saves(key);
			expect(saves1.map((s) => s.entryIds!.length)).toEqual([0, 2]);
			expect(saves1.every((s) => s.outcome === 'ok')).toBe(true);
			await close(first.inner);

			const second = await open();
			const agent2 = await startAgent(model, second, { agentId });
			const turn2 = await (await agent2.session('thread-1')).prompt('what is X?');
			expect(turn2.text).toBe('ACK: what is X?');
			expect(model.requests).toHaveLength(2);
			// The second context knew nothing but the store: the history it sent came from there.
			expect(model.requests[1]!.messages).toEqual([
				{ role: 'user', text: 'remember X=42' },
				{ role: 'assistant', text: 'ACK: remember X=42' },
				{ role: 'user', text: 'what is X?' },
			]);
			await close(second);

			const third = await open();
			const stored = await third.load(key);
			expect(stored).not.toBeNull();
			expect(transcript(stored!)).toEqual(['user: remember X=42', 'assistant: ACK: remember X=42', 'user: what is X?', 'assistant: ACK: what is X?']);
			expect(activePath(stored!).map((e) => e.id)).toEqual(stored!.entries.map((e) => e.id));
			expect(stored!.leafId).toBe(stored!.entries.at(-1)!.id);
			expect(stored!.entries.map((e) => (e as AnyEntry).source)).toEqual(['prompt', 'prompt', 'prompt', 'prompt']);
			expect(stored!.version).toBe(release.sessionVersion);
			// What the store holds is the prompt as Flue made it: 0.3 prefixes its headless preamble.
			const firstUserText = ((stored!.entries[0] as AnyEntry).message!.content as Array<{ text: string }>)[0]!.text;
			if (release.prefixesPrompts) expect(firstUserText).toMatch(/^You are running in headless mode.*\n\nremember X=42$/s);
			else expect(firstUserText).toBe('remember X=42');
		});
	} finally {
		await model.close();
	}
}

let turnWorker: Promise<string> | undefined;

/**
 * The turn worker bundled into one ESM file, so a process starts in a fraction of the time tsx
 * needs to compile the sources. One file per test process (files run in parallel), inside the
 * repository so that the drivers resolve from its node_modules; removed when the process exits.
 */
function turnWorkerFile(): Promise<string> {
	turnWorker ??= (async () => {
		const outfile = join(root, '.tmp', 'flue-workers', `turn-${process.pid}.mjs`);
		process.on('exit', () => rmSync(outfile, { force: true }));
		return bundleForNode(join(root, 'test', 'support', 'flue-turn-worker.ts'), outfile);
	})();
	return turnWorker;
}

/** Runs one Flue turn in a new process (see flue-turn-worker.ts). */
async function turnInProcess(config: TurnWorkerConfig): Promise<TurnWorkerResult> {
	const run = await capture(process.execPath, [await turnWorkerFile(), JSON.stringify(config)], { cwd: root, env: process.env });
	const line = run.stdout.trim().split('\n').at(-1) ?? '';
	if (run.code !== 0 || !line.startsWith('{')) throw new Error(`the turn process exited with ${run.code}:\n${run.stderr}${run.stdout}`);
	return JSON.parse(line) as TurnWorkerResult;
}

/** A store that processes can open from plain data, and the test process can read. */
export interface ProcessStoreUnderTest extends StoreUnderTest {
	/** What a worker process opens; the same database as `openStore`. */
	worker: WorkerStoreConfig;
}

/**
 * Restore across processes: one process writes a turn and exits; a second process, which shares
 * nothing with the first but the database, continues the session, and the request the fake
 * model receives from it carries the first turn.
 */
export async function processRestoreScenario(target: ProcessStoreUnderTest): Promise<void> {
	const { expect } = target;
	const release = await releaseOf(target);
	const model = await startFakeModel(echo, release);
	const agentId = 'agent-processes';
	const key = release.sessionKey(agentId, 'thread-1');
	const turn = (prompt: string) =>
		turnInProcess({ release: release.spec, provider: model.provider, baseUrl: model.baseUrl, store: target.worker, agentId, sessionId: 'thread-1', prompt });
	try {
		const first = await turn('remember X=42');
		expect(first.text).toBe('ACK: remember X=42');
		// A new session: an empty save, then the turn's save of user + assistant.
		expect(first.saves).toEqual([
			{ key, entries: 0 },
			{ key, entries: 2 },
		]);

		const second = await turn('what is X?');
		expect(second.text).toBe('ACK: what is X?');
		// The session was found, so no empty save: only the turn's.
		expect(second.saves).toEqual([{ key, entries: 4 }]);
		expect(model.requests).toHaveLength(2);
		expect(model.requests[1]!.messages).toEqual([
			{ role: 'user', text: 'remember X=42' },
			{ role: 'assistant', text: 'ACK: remember X=42' },
			{ role: 'user', text: 'what is X?' },
		]);

		await withStores(target, async (open) => {
			const stored = await (await open()).load(key);
			expect(stored?.version).toBe(release.sessionVersion);
			expect(transcript(stored!)).toEqual(['user: remember X=42', 'assistant: ACK: remember X=42', 'user: what is X?', 'assistant: ACK: what is X?']);
			expect(activePath(stored!).map((e) => e.id)).toEqual(stored!.entries.map((e) => e.id));
		});
	} finally {
		await model.close();
	}
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The task tool call the fake model makes, and what each child answers. */
const TOPICS = ['alpha', 'beta'] as const;

const taskResponder: Responder = (request) => {
	if (request.last.role === 'tool') {
		const results = request.messages.filter((m) => m.role === 'tool').map((m) => m.text);
		return { text: `Both done: ${results.join(' | ')}` };
	}
	const topic = /^Look up (\w+)$/.exec(request.last.text)?.[1];
	if (topic) return { text: `Result for ${topic}` };
	if (request.last.text.startsWith('Delegate')) {
		return { toolCalls: TOPICS.map((t) => ({ name: 'task', arguments: { description: `look up ${t}`, prompt: `Look up ${t}` } })) };
	}
	return echo(request, 0);
};

/**
 * Tasks: two `task` tool calls in one assistant message make Flue run two child sessions in
 * parallel, each recorded in the parent's `metadata.taskSessions` by its own metadata-only save.
 */
export async function taskScenario(target: StoreUnderTest): Promise<void> {
	const { expect } = target;
	const release = await releaseOf(target);
	const model = await startFakeModel(taskResponder, release);
	const agentId = 'agent-tasks';
	const parentKey = release.sessionKey(agentId, 'thread-1');
	// The child keys: the parent's key shape with a task:<parent>:<uuid> session id.
	const [keyHead, keyTail] = release.sessionKey(agentId, 'task:thread-1:UUID').split('UUID') as [string, string];
	const childKeyPattern = new RegExp(`^${escapeRegExp(keyHead)}[0-9a-f-]{36}${escapeRegExp(keyTail)}$`);
	try {
		await withStores(target, async (open, close) => {
			const watcher = await open();
			const storedTaskCounts: number[] = [];
			const first = recordCalls(await open(), {
				// After each parent save settles, a second instance reads what landed: an older
				// snapshot landing after a newer one would make this count go down.
				onSaveSettled: async (call) => {
					if (call.key !== parentKey) return;
					const now = await watcher.load(parentKey);
					storedTaskCounts.push(Array.isArray(now?.metadata.taskSessions) ? now.metadata.taskSessions.length : 0);
				},
			});
			const agent1 = await startAgent(model, first.store, { agentId });
			const parent = await agent1.session('thread-1');
			await parent.prompt('hello');
			const reply = await parent.prompt('Delegate two lookups');
			await first.settled();
			expect(reply.text).toBe('Both done: Result for alpha | Result for beta');

			const parentSaves = first.saves(parentKey);
			const failed = first.calls.filter((c) => c.outcome !== 'ok');
			expect(failed).toEqual([]);
			// session(), turn 1, one metadata-only save per task (same entries, one more task key), turn 2.
			expect(parentSaves.map((s) => [s.entryIds!.length, s.taskKeys!.length])).toEqual([
				[0, 0],
				[2, 0],
				[2, 1],
				[2, 2],
				[7, 2],
			]);
			// Both tasks start in one tick, so the second metadata save is called while the first
			// is still being written: the overlap Flue really produces.
			if (target.overlapExpected ?? true) expect(parentSaves[3]!.overlapping).toBeGreaterThanOrEqual(1);
			expect(storedTaskCounts).toEqual([...storedTaskCounts].sort((a, b) => a - b));
			expect(storedTaskCounts.at(-1)).toBe(2);

			const childKeys = parentSaves.at(-1)!.taskKeys!;
			for (const childKey of childKeys) {
				expect(childKey).toMatch(childKeyPattern);
				// A child is saved empty (with its metadata) before it runs, then once after its turn.
				expect(first.saves(childKey).map((s) => s.entryIds!.length)).toEqual([0, 2]);
			}
			expect(new Set(childKeys).size).toBe(2);
			await close(first.inner);
			await close(watcher);

			// A restarted process: fresh store instance, fresh Flue context.
			const second = recordCalls(await open());
			const agent2 = await startAgent(model, second.store, { agentId });
			const stored = await second.store.load(parentKey);
			expect(transcript(stored!)).toEqual([
				'user: hello',
				'assistant: ACK: hello',
				'user: Delegate two lookups',
				`assistant: ${TOPICS.map((t) => `call task(${JSON.stringify({ description: `look up ${t}`, prompt: `Look up ${t}` })})`).join(' ')}`,
				'toolResult: Result for alpha',
				'toolResult: Result for beta',
				'assistant: Both done: Result for alpha | Result for beta',
			]);
			const tasks = stored!.metadata.taskSessions as Array<Record<string, string>>;
			expect(tasks.map((t) => t.storageKey).sort()).toEqual([...childKeys].sort());
			for (const task of tasks) {
				const childSession = task[release.taskSessionField]!;
				expect(childSession).toBe(`task:thread-1:${task.taskId}`);
				expect(task.storageKey).toBe(release.sessionKey(agentId, childSession));
				const child = await second.store.load(task.storageKey!);
				expect(child?.metadata).toMatchObject({ [release.parentField]: 'thread-1', taskId: task.taskId, depth: 1 });
				expect(child?.version).toBe(release.sessionVersion);
				expect(transcript(child!)).toHaveLength(2);
				expect(transcript(child!)[0]).toMatch(/^user: Look up (alpha|beta)$/);
				// Flue itself can open the child by its session id in the new context.
				await expect(agent2.sessions.get(childSession)).resolves.toBeDefined();
			}
			await expect(agent2.sessions.get('thread-1')).resolves.toBeDefined();

			// Deleting the parent deletes its children first (Flue walks metadata.taskSessions).
			await agent2.sessions.delete('thread-1');
			const deletes = second.calls.filter((c) => c.op === 'delete').map((c) => c.key);
			expect(deletes.slice(0, 2).sort()).toEqual([...childKeys].sort());
			expect(deletes.at(-1)).toBe(parentKey);
			await close(second.inner);

			const third = await open();
			expect(await third.load(parentKey)).toBeNull();
			for (const childKey of childKeys) expect(await third.load(childKey)).toBeNull();
		});
	} finally {
		await model.close();
	}
}

/** How OpenAI rejects a request over the context window; Flue matches such text to detect overflow. */
export const OVERFLOW_ERROR = {
	status: 400,
	code: 'context_length_exceeded',
	message: "This model's maximum context length is 128000 tokens. However, your messages resulted in 131072 tokens. Please reduce the length of the messages.",
};

/**
 * The fake model rejects `trigger` once as over the context window, answers Flue's summarization
 * request, and otherwise echoes.
 */
function overflowResponder(trigger: string): Responder {
	let rejected = false;
	return (request) => {
		if (request.system.includes('context summarization assistant')) return { text: 'SUMMARY of the earlier turns' };
		if (request.last.text === trigger && !rejected) {
			rejected = true;
			return { error: OVERFLOW_ERROR };
		}
		return echo(request, 0);
	};
}

const OVERFLOW_COMPACTION = { enabled: true, keepRecentTokens: 1 };

/**
 * Makes the next `crypto.randomUUID()` start with `prefix`. Flue 0.4.1 takes an entry id from the
 * first 8 characters of a random UUID and may hand out the id of an entry it removed; this makes
 * that happen on purpose. Returns a function that restores the original.
 */
function armNextEntryId(): { arm: (prefix: string) => void; restore: () => void } {
	const original = crypto.randomUUID;
	let armed: string | null = null;
	crypto.randomUUID = function randomUUID() {
		const fresh = original.call(crypto);
		if (armed === null) return fresh;
		const forced = `${armed}${fresh.slice(armed.length)}` as ReturnType<typeof crypto.randomUUID>;
		armed = null;
		return forced;
	};
	return {
		arm: (prefix) => {
			armed = prefix;
		},
		restore: () => {
			crypto.randomUUID = original;
		},
	};
}

/**
 * Overflow recovery: the model rejects a turn as over its context window. Flue saves the failed
 * assistant message, removes it (the leaf moves back to the user message) and saves again, then
 * compacts, saves, retries the turn and saves the retried reply. The optimistic store must accept
 * that removal as Flue's own, not as a stale snapshot.
 *
 * With `reuseRemovedId`, the compaction entry gets the id of the removed message, which Flue
 * allows: the store must treat it as a new entry, not as the old one.
 */
export async function overflowScenario(target: StoreUnderTest, options: { reuseRemovedId?: boolean } = {}): Promise<void> {
	const { expect } = target;
	const trigger = 'a question too large for the window';
	const release = await releaseOf(target);
	const model = await startFakeModel(overflowResponder(trigger), release);
	const agentId = 'agent-overflow';
	const key = release.sessionKey(agentId, 'thread-1');
	const ids = options.reuseRemovedId ? armNextEntryId() : null;
	try {
		await withStores(target, async (open, close) => {
			const first = recordCalls(await open(), {
				onSave: (call) => {
					// The removal save: the previous snapshot minus its leaf. The next entry Flue
					// creates is the compaction.
					const previous = first.saves(call.key).at(-2);
					if (ids && previous?.leafId && call.entryIds!.length === previous.entryIds!.length - 1 && !call.entryIds!.includes(previous.leafId))
						ids.arm(previous.leafId);
				},
			});
			// keepRecentTokens 1 gives Flue a cut point in a short conversation, so it can compact.
			const agent1 = await startAgent(model, first.store, { agentId, compaction: OVERFLOW_COMPACTION });
			const session = await agent1.session('thread-1');
			await session.prompt('first question');
			const { result, log: stderr } = await captureFlueLog(() => session.prompt(trigger));
			const log = [...stderr, ...agent1.log];
			await first.settled();
			ids?.restore();
			expect(result.text).toBe(`ACK: ${trigger}`);
			expect(log.some((l) => l.includes('Overflow detected'))).toBe(true);
			expect(log.some((l) => l.includes('Retrying after overflow recovery'))).toBe(true);

			const saves = first.saves(key);
			expect(saves.map((s) => s.outcome)).toEqual(saves.map(() => 'ok'));
			const [empty, turn1, failed, removed, compacted, retried] = saves;
			expect(saves).toHaveLength(6);
			expect(empty!.entryIds).toEqual([]);
			const [u1, a1] = turn1!.entryIds!;
			expect(turn1!.leafId).toBe(a1);
			// 1. the turn as it ended: the user message and the failed assistant message
			const [, , u2, err] = failed!.entryIds!;
			expect(failed!.entryIds).toEqual([u1, a1, u2, err]);
			expect(failed!.leafId).toBe(err);
			// 2. the failed message removed, the leaf back on its parent
			expect(removed!.entryIds).toEqual([u1, a1, u2]);
			expect(removed!.leafId).toBe(u2);
			// 3. a compaction entry appended after the user message
			const compaction = compacted!.entryIds![3]!;
			expect(compacted!.entryIds).toEqual([u1, a1, u2, compaction]);
			expect(compacted!.leafId).toBe(compaction);
			if (options.reuseRemovedId) expect(compaction).toBe(err);
			else expect(compaction).not.toBe(err);
			// 4. the retried reply
			const retry = retried!.entryIds![4]!;
			expect(retried!.entryIds).toEqual([u1, a1, u2, compaction, retry]);
			expect(retried!.leafId).toBe(retry);
			await close(first.inner);

			const second = await open();
			const stored = await second.load(key);
			expect(stored!.entries.map((e) => e.id)).toEqual([u1, a1, u2, compaction, retry]);
			expect(stored!.entries.filter((e) => (e as AnyEntry).message?.stopReason === 'error')).toEqual([]);
			expect(stored!.leafId).toBe(retry);
			const byId = new Map(stored!.entries.map((e) => [e.id, e as AnyEntry] as const));
			expect(byId.get(compaction)).toMatchObject({ type: 'compaction', parentId: u2, firstKeptEntryId: u2, summary: 'SUMMARY of the earlier turns' });
			expect(byId.get(retry)).toMatchObject({ type: 'message', parentId: compaction, source: 'retry' });
			expect(activePath(stored!).map((e) => e.id)).toEqual([u1, a1, u2, compaction, retry]);

			// A fresh context resumes from the compacted history: summary, kept message, retried reply.
			const agent2 = await startAgent(model, second, { agentId, compaction: OVERFLOW_COMPACTION });
			await (await agent2.session('thread-1')).prompt('after recovery');
			expect(model.requests.at(-1)!.messages).toEqual([
				{ role: 'user', text: expect.stringContaining('SUMMARY of the earlier turns') },
				{ role: 'user', text: trigger },
				{ role: 'assistant', text: `ACK: ${trigger}` },
				{ role: 'user', text: 'after recovery' },
			]);
		});
	} finally {
		ids?.restore();
		await model.close();
	}
}

/**
 * Overflow with nothing to compact (the first turn of a session): Flue saves the failed message,
 * removes it and saves again, finds no cut point, and the prompt fails. The user message stays
 * as the leaf, and the session goes on from there.
 */
export async function overflowFirstTurnScenario(target: StoreUnderTest): Promise<void> {
	const { expect } = target;
	const trigger = 'too large on the first turn';
	const release = await releaseOf(target);
	const model = await startFakeModel(overflowResponder(trigger), release);
	const agentId = 'agent-overflow-first';
	const key = release.sessionKey(agentId, 'thread-1');
	try {
		await withStores(target, async (open, close) => {
			const first = recordCalls(await open());
			const agent1 = await startAgent(model, first.store, { agentId, compaction: OVERFLOW_COMPACTION });
			const session = await agent1.session('thread-1');
			const { log: stderr } = await captureFlueLog(() => expect(session.prompt(trigger)).rejects.toThrow(/prompt failed: 400 .*maximum context length/));
			const log = [...stderr, ...agent1.log];
			await first.settled();
			expect(log.some((l) => l.includes('Overflow detected'))).toBe(true);
			expect(log.some((l) => l.includes('Nothing to compact'))).toBe(true);

			const saves = first.saves(key);
			expect(saves.map((s) => s.outcome)).toEqual(saves.map(() => 'ok'));
			expect(saves).toHaveLength(3);
			const [u, err] = saves[1]!.entryIds!;
			expect(saves.map((s) => [s.entryIds, s.leafId])).toEqual([
				[[], null],
				[[u, err], err],
				[[u], u],
			]);
			await close(first.inner);

			const second = await open();
			const stored = await second.load(key);
			expect(transcript(stored!)).toEqual([`user: ${trigger}`]);
			expect(stored!.leafId).toBe(u);
			const agent2 = await startAgent(model, second, { agentId, compaction: OVERFLOW_COMPACTION });
			await (await agent2.session('thread-1')).prompt('shorter');
			// Flue keeps the unanswered user message in the history it sends.
			expect(model.requests.at(-1)!.messages).toEqual([
				{ role: 'user', text: trigger },
				{ role: 'user', text: 'shorter' },
			]);
		});
	} finally {
		await model.close();
	}
}
