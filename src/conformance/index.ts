/**
 * The conformance suite: the executable specification of a flue-persist store.
 *
 * It imports no test framework: pass your runner's `describe`, `it` and `expect` (vitest, jest,
 * or anything with the same shape). Groups switch on by the store's declared `capabilities` and by
 * whether the target can open a second instance on the same database.
 *
 * @example
 * import { describe, it, expect } from 'vitest'
 * import { runConformance } from 'flue-persist/conformance'
 * runConformance({ name: 'my store', create: async () => myStore() }, { describe, it, expect })
 */
import { computeDelta } from '../core/delta.js';
import { isFluePersistError, type ErrorCode } from '../errors.js';
import type { ConcurrencyMode, FluePersistStore, SessionData, SessionEntry, SessionStore, StoreCapabilities } from '../types.js';
import { conversation, copy, emptySession, entryId, filler, messageEntry } from './fixtures.js';

export * from './fixtures.js';

/** The part of a jest/vitest `expect` the suite uses. */
export interface ExpectLike {
	(actual: unknown): {
		toEqual(expected: unknown): void;
		toBe(expected: unknown): void;
		toBeNull(): void;
		toBeGreaterThan(n: number): void;
	};
}

export interface ConformanceRunner {
	describe(name: string, fn: () => void): void;
	it(name: string, fn: () => Promise<void>, timeoutMs?: number): void;
	expect: ExpectLike;
}

export interface StoreOpenOptions {
	concurrency?: ConcurrencyMode;
}

/** A store under test. */
export type TestStore = SessionStore & Partial<Pick<FluePersistStore, 'saveDelta' | 'list' | 'close' | 'capabilities'>>;

export interface ConformanceTarget<S extends TestStore = TestStore> {
	name: string;
	/** A store over a fresh, empty, isolated database. */
	create(options?: StoreOpenOptions): Promise<S>;
	/** A second store instance over the same database as `store` (another process, in effect). */
	reopen?(store: S, options?: StoreOpenOptions): Promise<S>;
	/** Releases a store made by `create` or `reopen`. Default: `store.close()` when present. */
	destroy?(store: S): Promise<void>;
	/** Overrides for what the store declares (for stores that declare nothing). */
	capabilities?: Partial<StoreCapabilities>;
	/** Per-test timeout in milliseconds for the large-session cases. Default 120000. */
	largeTimeoutMs?: number;
}

const MB = 1024 * 1024;

/** The model message of an entry, typed loosely for edits in tests. */
const messageOf = (entry: unknown) => (entry as { message: { content: unknown[] | unknown } }).message as { content: any };

/** Registers the suite with the runner. */
export function runConformance<S extends TestStore>(target: ConformanceTarget<S>, runner: ConformanceRunner): void {
	const { describe, it, expect } = runner;
	const large = target.largeTimeoutMs ?? 120_000;

	/** Opens stores for one test and always releases them. */
	async function withStores(fn: (open: (o?: StoreOpenOptions) => Promise<S>, reopen: (s: S, o?: StoreOpenOptions) => Promise<S>) => Promise<void>): Promise<void> {
		const opened: S[] = [];
		const track = (s: S) => (opened.push(s), s);
		try {
			await fn(
				async (o) => track(await target.create(o)),
				async (s, o) => track(await target.reopen!(s, o)),
			);
		} finally {
			for (const s of opened.reverse()) await (target.destroy ? target.destroy(s) : s.close?.());
		}
	}
	const test = (name: string, fn: (store: S) => Promise<void>, timeout?: number) =>
		it(name, () => withStores(async (open) => fn(await open())), timeout);

	async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<Error> {
		let caught: unknown;
		try {
			await promise;
		} catch (e) {
			caught = e;
		}
		expect(caught instanceof Error).toBe(true);
		expect(isFluePersistError(caught)).toBe(true);
		expect((caught as { code: string }).code).toBe(code);
		return caught as Error;
	}

	async function roundTrip(store: S, id: string, data: SessionData): Promise<void> {
		await store.save(id, data);
		expect(await store.load(id)).toEqual(copy(data));
	}

	const flueKey = (session: string, agent = 'support-agent') => `agent-session:${JSON.stringify([agent, session])}`;

	describe(`flue-persist conformance: ${target.name}`, () => {
		describe('basics', () => {
			test('load(id) returns null for an unknown id', async (store) => {
				expect(await store.load(flueKey('never-saved'))).toBeNull();
			});
			test('save then load returns a deep-equal copy of a Flue session', async (store) => {
				await roundTrip(store, flueKey('t1'), conversation(3));
			});
			test('an empty session (no entries, leafId null) round-trips', async (store) => {
				await roundTrip(store, flueKey('empty'), emptySession());
			});
			test('save replaces the header and the changed entries of the previous snapshot', async (store) => {
				const id = flueKey('replace');
				await store.save(id, conversation(2));
				const next = conversation(2, { base: emptySession({ metadata: { second: true }, version: 3 }) });
				(next.entries[1] as { message: unknown }).message = { role: 'assistant', content: [{ type: 'text', text: 'changed' }] };
				await roundTrip(store, id, next);
			});
			test('the store keeps copies: changing the saved or the loaded object changes nothing stored', async (store) => {
				const id = flueKey('copies');
				const data = conversation(1);
				const expected = copy(data);
				await store.save(id, data);
				data.entries.pop();
				data.metadata.mutated = true;
				messageOf(data.entries[0]).content.push({ type: 'text', text: 'late' });
				const loaded = (await store.load(id))!;
				expect(loaded).toEqual(expected);
				loaded.entries.length = 0;
				loaded.metadata.x = 1;
				expect(await store.load(id)).toEqual(expected);
			});
		});

		describe('fidelity', () => {
			test('Unicode, emoji, control characters and JSON-looking text round-trip', async (store) => {
				const data = conversation(1);
				const texts = ['héllo wörld — ünïcödé', '👩‍👩‍👧‍👦 🏳️‍🌈 😀', '日本語のテキスト', 'tab\tnew\nline\r\n\u0001\u001f', '"quoted" \\backslash\\ \'single\'', '{"not":"parsed"}', "'); DROP TABLE flue_sessions; --", '\u2028\u2029', ''];
				data.metadata = { texts, nested: { 'key with spaces': texts, '': 'empty key', 'ключ': 'значение' } };
				messageOf(data.entries[0]).content = texts.map((text) => ({ type: 'text', text }));
				await roundTrip(store, flueKey('unicode'), data);
			});
			test('sessions from later Flue versions (version 3 and 5, new fields, unknown entry types) round-trip unchanged', async (store) => {
				for (const version of [3, 5]) {
					const data = conversation(1) as SessionData & Record<string, unknown>;
					data.version = version;
					data.agentId = 'a-1';
					data.config = { tools: ['bash'], limits: { turns: 10 } };
					data.entries.push({ type: 'future_kind', id: 'ffff0001', parentId: data.leafId, timestamp: '2026-05-01T00:00:00.000Z', payload: { deep: [1, { x: null }] } } as SessionEntry);
					data.leafId = 'ffff0001';
					await roundTrip(store, flueKey(`v${version}`), data);
				}
			});
			test('numbers, nulls, booleans and empty containers round-trip', async (store) => {
				const data = emptySession({ metadata: { big: 2 ** 53 - 1, neg: -12.5, tiny: 1e-300, exp: 6.02e23, zero: 0, t: true, f: false, n: null, a: [], o: {}, s: '' } });
				await roundTrip(store, flueKey('numbers'), data);
			});
			test('deeply nested content (depth 400) round-trips', async (store) => {
				let deep: Record<string, unknown> = { leaf: 'bottom' };
				for (let i = 0; i < 400; i++) deep = { level: i, child: i % 2 ? [deep] : deep };
				const data = conversation(1);
				data.metadata.deep = deep;
				await roundTrip(store, flueKey('deep'), data);
			});
			test('a 1 MB session round-trips', async (store) => {
				const data = conversation(40, { toolBytes: 26_000 });
				expect(JSON.stringify(data).length).toBeGreaterThan(MB);
				await roundTrip(store, flueKey('1mb'), data);
			}, large);
			test('a 10 MB session round-trips', async (store) => {
				const data = conversation(100, { toolBytes: 105_000 });
				expect(JSON.stringify(data).length).toBeGreaterThan(10 * MB);
				await roundTrip(store, flueKey('10mb'), data);
			}, large);
		});

		describe('ids', () => {
			test('Flue keys with quotes, brackets and colons, and task keys, round-trip', async (store) => {
				for (const id of [flueKey('thread-1'), flueKey('task:parent-1:0b7c1f42-9f1e-4c55-a7a5-1b2c3d4e5f60'), 'agent-session:["a\\"b","c]d"]']) {
					await roundTrip(store, id, conversation(1, { base: emptySession({ metadata: { id } }) }));
				}
			});
			test('ids with newlines, tabs, spaces, wildcards, backslashes and emoji round-trip', async (store) => {
				for (const id of ['line1\nline2', 'tab\there', ' spaced ', '100%_done', "it's", 'back\\slash', '🧵 thread', 'Ω≈ç√', "x'); DELETE FROM flue_sessions; --"]) {
					await roundTrip(store, id, emptySession({ metadata: { id } }));
				}
			});
			test('ids that differ only in case, quotes, brackets or a prefix are separate sessions', async (store) => {
				const ids = ['Thread', 'thread', 'THREAD', '"thread"', "'thread'", '[thread]', 'thread:', 'thread:child', 'thread ', 'thread\n'];
				for (const id of ids) await store.save(id, emptySession({ metadata: { id } }));
				for (const id of ids) expect((await store.load(id))!.metadata.id).toBe(id);
				await store.delete('thread');
				expect(await store.load('thread')).toBeNull();
				for (const id of ids.filter((i) => i !== 'thread')) expect((await store.load(id))!.metadata.id).toBe(id);
			});
		});

		describe('delete', () => {
			test('delete removes a stored session', async (store) => {
				const id = flueKey('to-delete');
				await store.save(id, conversation(2));
				expect((await store.load(id))!.entries.length).toBe(8);
				await store.delete(id);
				expect(await store.load(id)).toBeNull();
			});
			test('delete of an id that was never saved resolves and leaves other sessions alone', async (store) => {
				const keep = flueKey('keep');
				await store.save(keep, conversation(1));
				await store.delete(flueKey('absent'));
				expect(await store.load(keep)).toEqual(conversation(1));
			});
			test('a deleted id can be saved again from scratch', async (store) => {
				const id = flueKey('again');
				await store.save(id, conversation(3));
				await store.delete(id);
				await roundTrip(store, id, conversation(1, { base: emptySession({ metadata: { fresh: true } }) }));
			});
		});

		describe('history changes', () => {
			test("removing the leaf (Flue's context-overflow path) persists and is not a conflict", async (store) => {
				const id = flueKey('overflow');
				const data = conversation(2);
				await store.save(id, data);
				const failed = messageEntry('aaaa0001', data.leafId, 'user', 'too long', 100);
				const failedReply = messageEntry('aaaa0002', 'aaaa0001', 'assistant', 'context overflow', 101);
				data.entries.push(failed, failedReply);
				data.leafId = 'aaaa0002';
				await store.save(id, data);
				data.entries.pop();
				data.leafId = 'aaaa0001';
				await roundTrip(store, id, data);
				data.entries.push({ type: 'compaction', id: 'aaaa0003', parentId: 'aaaa0001', timestamp: '2026-01-01T01:00:00.000Z', summary: 'earlier turns', firstKeptEntryId: 'aaaa0001', tokensBefore: 9000 });
				data.entries.push({ ...messageEntry('aaaa0004', 'aaaa0003', 'assistant', 'retried answer', 102), source: 'retry' } as SessionEntry);
				data.leafId = 'aaaa0004';
				await roundTrip(store, id, data);
			});
			test('metadata-only saves persist', async (store) => {
				const id = flueKey('meta');
				const data = conversation(2);
				await store.save(id, data);
				for (let i = 0; i < 3; i++) {
					data.metadata.taskSessions = [...(data.metadata.taskSessions ?? []), { storageKey: flueKey(`task:meta:${i}`) }];
					data.updatedAt = new Date(Date.UTC(2026, 1, 1, 0, 0, i)).toISOString();
					await roundTrip(store, id, data);
				}
			});
			test('a removed entry id reused with new content loads the new content', async (store) => {
				const id = flueKey('reuse');
				const data = conversation(1);
				const leaf = data.leafId!;
				const parent = data.entries.at(-1)!.parentId;
				await store.save(id, data);
				data.entries.pop();
				data.leafId = parent;
				await store.save(id, data);
				data.entries.push(messageEntry(leaf, parent, 'assistant', 'a different reply under the same id', 50));
				data.leafId = leaf;
				await roundTrip(store, id, data);
			});
			test('an entry changed in place loads the new content', async (store) => {
				const id = flueKey('edit');
				const data = conversation(2);
				await store.save(id, data);
				messageOf(data.entries[2]).content = [{ type: 'text', text: 'edited tool output' }];
				await roundTrip(store, id, data);
			});
			test('branches off the leaf path are kept when the leaf moves', async (store) => {
				const id = flueKey('branches');
				const data = conversation(2);
				await store.save(id, data);
				const fork = data.entries[3]!.id;
				data.entries.push(messageEntry('bbbb0001', fork, 'user', 'another direction', 200), messageEntry('bbbb0002', 'bbbb0001', 'assistant', 'ok', 201));
				data.entries.push({ type: 'branch_summary', id: 'bbbb0003', parentId: 'bbbb0002', timestamp: '2026-01-02T00:00:00.000Z', fromId: data.leafId!, summary: 'left the first branch' });
				data.leafId = 'bbbb0003';
				await roundTrip(store, id, data);
			});
			test('entries reordered load in the new order', async (store) => {
				const id = flueKey('reorder');
				const data = conversation(2);
				await store.save(id, data);
				data.entries.reverse();
				await roundTrip(store, id, data);
				data.entries.splice(2, 0, messageEntry('cccc0001', null, 'user', 'inserted in the middle', 300));
				await roundTrip(store, id, data);
			});
		});

		describe('ordering and concurrency', () => {
			test('50 overlapping saves of one key end in the last', async (store) => {
				const id = flueKey('overlap');
				const snapshots = Array.from({ length: 50 }, (_, i) => conversation(1 + Math.floor(i / 5), { base: emptySession({ metadata: { n: i } }) }));
				await Promise.all(snapshots.map((s) => store.save(id, s)));
				expect(await store.load(id)).toEqual(snapshots[49]);
			});
			test('overlapping saves of different keys do not interfere', async (store) => {
				const ids = Array.from({ length: 20 }, (_, i) => flueKey(`parallel-${i}`));
				await Promise.all(ids.flatMap((id, i) => [store.save(id, conversation(1)), store.save(id, conversation(1 + (i % 3), { base: emptySession({ metadata: { i } }) }))]));
				for (const [i, id] of ids.entries()) expect(await store.load(id)).toEqual(conversation(1 + (i % 3), { base: emptySession({ metadata: { i } }) }));
			});
			test('a task flow (child saves, overlapping metadata-only parent saves) lands every save in order', async (store) => {
				const parentId = flueKey('parent');
				const parent = conversation(1);
				await store.save(parentId, parent);
				const children = [0, 1].map((i) => flueKey(`task:parent:child-${i}`));
				const pending: Promise<void>[] = [];
				for (const child of children) {
					pending.push(store.save(child, emptySession()));
					parent.metadata.taskSessions = [...(parent.metadata.taskSessions ?? []), { storageKey: child }];
					pending.push(store.save(parentId, copy(parent)));
				}
				pending.push(...children.map((c) => store.save(c, conversation(1))));
				await Promise.all(pending);
				expect(await store.load(parentId)).toEqual(parent);
				for (const c of children) expect(await store.load(c)).toEqual(conversation(1));
			});
			test('a stale snapshot from a second session object fails with CONFLICT and changes nothing', async (store) => {
				const id = flueKey('stale');
				await store.save(id, conversation(1));
				const a = (await store.load(id))!;
				const b = (await store.load(id))!;
				const aNext = conversation(2, { base: a });
				await store.save(id, aNext);
				const bNext = conversation(1, { base: b, startAt: 500 });
				const err = await rejectsWith(store.save(id, bNext), 'CONFLICT');
				expect(err.message.includes(JSON.stringify(id))).toBe(true);
				expect(await store.load(id)).toEqual(aNext);
			});
			test('after a conflict, loading again and saving succeeds', async (store) => {
				const id = flueKey('recover');
				await store.save(id, conversation(1));
				const stale = (await store.load(id))!;
				await store.save(id, conversation(2));
				await rejectsWith(store.save(id, conversation(1, { base: stale, startAt: 700 })), 'CONFLICT');
				const fresh = (await store.load(id))!;
				await roundTrip(store, id, conversation(1, { base: fresh }));
			});
			it("with concurrency: 'last-writer-wins' the last snapshot wins", () =>
				withStores(async (open) => {
					const store = await open({ concurrency: 'last-writer-wins' });
					const id = flueKey('lww');
					await store.save(id, conversation(1));
					const b = (await store.load(id))!;
					await store.save(id, conversation(2));
					const bNext = conversation(1, { base: b, startAt: 500 });
					await roundTrip(store, id, bNext);
				}));
		});

		describe('bad input', () => {
			const existing = flueKey('existing');
			async function unchanged(store: S, fn: () => Promise<unknown>, code: ErrorCode = 'INVALID_INPUT'): Promise<void> {
				const before = conversation(2);
				await store.save(existing, before);
				await rejectsWith(fn(), code);
				expect(await store.load(existing)).toEqual(before);
			}
			test('a non-string, empty or malformed id is rejected by save, load and delete', async (store) => {
				for (const bad of [undefined, null, 42, {}, '', 'half \ud800 surrogate', 'nul\u0000byte']) {
					await unchanged(store, () => store.save(bad as string, conversation(1)));
					await rejectsWith(store.load(bad as string), 'INVALID_INPUT');
					await unchanged(store, () => store.delete(bad as string));
				}
			});
			test('data that is not a session is rejected and nothing is created', async (store) => {
				for (const bad of [null, [], 'text', {}, { entries: 'no' }, { ...emptySession(), entries: [null] }, { ...emptySession(), entries: [{ type: 'message' }] }]) {
					await unchanged(store, () => store.save(flueKey('bad'), bad as SessionData));
					expect(await store.load(flueKey('bad'))).toBeNull();
				}
			});
			test('circular, BigInt, function, NaN, Infinity, Date and Map values are rejected and the stored session is unchanged', async (store) => {
				const circular = conversation(1);
				circular.metadata.self = circular;
				const values = [10n, () => 1, Number.NaN, Number.POSITIVE_INFINITY, new Date(0), new Map([[1, 2]]), Symbol('s')];
				await unchanged(store, () => store.save(existing, circular));
				for (const v of values) {
					const data = conversation(3);
					data.metadata.bad = v;
					await unchanged(store, () => store.save(existing, data));
				}
			});
			test('duplicate entry ids and non-string or malformed parent ids are rejected', async (store) => {
				const dup = conversation(2);
				dup.entries.push(copy(dup.entries[0]!));
				await unchanged(store, () => store.save(existing, dup));
				const badParent = conversation(2);
				(badParent.entries[1] as { parentId: unknown }).parentId = 7;
				await unchanged(store, () => store.save(existing, badParent));
				const halfPair = conversation(2);
				halfPair.entries[1]!.parentId = 'ab\ud800';
				await unchanged(store, () => store.save(existing, halfPair));
			});
			test('errors carry a stable code, the backend and the session id, and name the session', async (store) => {
				const data = conversation(1);
				data.metadata.bad = 1n;
				const err = (await rejectsWith(store.save(existing, data), 'INVALID_INPUT')) as Error & { sessionId?: string; backend?: string };
				expect(err.sessionId).toBe(existing);
				expect(typeof err.backend).toBe('string');
				expect(err.message.includes(JSON.stringify(existing))).toBe(true);
				expect(err.message.startsWith('[flue-persist]')).toBe(true);
			});
		});

		describe('saveDelta', () => {
			const caps = (store: S): Partial<StoreCapabilities> => ({ ...store.capabilities, ...target.capabilities });
			const deltaTest = (name: string, fn: (store: S & Pick<FluePersistStore, 'saveDelta'>) => Promise<void>) =>
				test(name, async (store) => {
					if (!caps(store).saveDelta || typeof store.saveDelta !== 'function') return;
					await fn(store as S & Pick<FluePersistStore, 'saveDelta'>);
				});
			deltaTest('saveDelta of computeDelta(previous, next) stores exactly what save(next) stores', async (store) => {
				const viaSave = flueKey('via-save');
				const viaDelta = flueKey('via-delta');
				const steps: SessionData[] = [];
				let cur = emptySession();
				steps.push(copy(cur));
				cur = conversation(2, { base: cur });
				steps.push(copy(cur));
				cur.metadata.taskSessions = [{ storageKey: 'k' }];
				steps.push(copy(cur));
				const leaf = cur.entries.pop()!;
				cur.leafId = leaf.parentId;
				steps.push(copy(cur));
				cur.entries.push({ ...leaf, message: { role: 'assistant', content: [{ type: 'text', text: 'reused id' }] } } as never);
				cur.leafId = leaf.id;
				steps.push(copy(cur));
				(cur.entries[0] as { message: unknown }).message = { role: 'user', content: [{ type: 'text', text: 'edited' }] };
				steps.push(copy(cur));
				cur.entries.reverse();
				steps.push(copy(cur));
				let prev: SessionData | null = null;
				for (const step of steps) {
					await store.save(viaSave, step);
					await store.saveDelta(viaDelta, computeDelta(prev, step));
					const a = await store.load(viaSave);
					expect(await store.load(viaDelta)).toEqual(a);
					expect(a).toEqual(step);
					prev = step;
				}
			});
			deltaTest('entries removed by name through saveDelta are gone, while a full save that drops them is a CONFLICT', async (store) => {
				const id = flueKey('delta-remove');
				const data = conversation(3);
				await store.save(id, data);
				const trimmed = copy(data);
				trimmed.entries.splice(0, 4);
				trimmed.entries[0]!.parentId = null;
				await rejectsWith(store.save(id, trimmed), 'CONFLICT');
				expect(await store.load(id)).toEqual(data);
				await store.saveDelta(id, computeDelta(data, trimmed));
				expect(await store.load(id)).toEqual(trimmed);
			});
			deltaTest('saveDelta creates a session that does not exist', async (store) => {
				const data = conversation(2);
				await store.saveDelta(flueKey('delta-new'), computeDelta(null, data));
				expect(await store.load(flueKey('delta-new'))).toEqual(data);
			});
			deltaTest('a delta that removes an entry that is not stored fails with CONFLICT and changes nothing', async (store) => {
				const id = flueKey('delta-stale');
				const data = conversation(2);
				await store.save(id, data);
				const { entries: _e, ...header } = data;
				await rejectsWith(store.saveDelta(id, { upsert: [], remove: ['deadbeef'], header }), 'CONFLICT');
				expect(await store.load(id)).toEqual(data);
			});
			deltaTest('a malformed delta is rejected with INVALID_INPUT and changes nothing', async (store) => {
				const id = flueKey('delta-bad');
				const data = conversation(1);
				await store.save(id, data);
				const { entries: _e, ...header } = data;
				for (const bad of [null, { upsert: [] }, { upsert: 'x', remove: [], header }, { upsert: [], remove: [1], header }, { upsert: [], remove: [], header: { ...header, entries: [] } }, { upsert: [{ id: 5 }], remove: [], header }]) {
					await rejectsWith(store.saveDelta(id, bad as never), 'INVALID_INPUT');
				}
				expect(await store.load(id)).toEqual(data);
			});
		});

		describe('list', () => {
			const listTest = (name: string, fn: (store: S & Pick<FluePersistStore, 'list'>) => Promise<void>) =>
				test(name, async (store) => {
					if (!{ ...store.capabilities, ...target.capabilities }.list || typeof store.list !== 'function') return;
					await fn(store as S & Pick<FluePersistStore, 'list'>);
				});
			listTest('list of an empty store is an empty last page', async (store) => {
				expect(await store.list()).toEqual({ sessions: [], cursor: null });
			});
			listTest('list pages through ids in order with updatedAt and stored size, and filters by prefix', async (store) => {
				const ids = Array.from({ length: 7 }, (_, i) => `p:${i}`).concat(['q:0', 'p%x', 'p_y']);
				const before = Date.now();
				for (const id of ids) await store.save(id, conversation(1));
				const seen: string[] = [];
				let cursor: string | null = null;
				let pages = 0;
				do {
					const page: Awaited<ReturnType<FluePersistStore['list']>> = await store.list({ prefix: 'p:', limit: 3, cursor });
					for (const s of page.sessions) {
						seen.push(s.id);
						expect(s.bytes).toBeGreaterThan(500);
						expect(Date.parse(s.updatedAt) >= before - 5000).toBe(true);
					}
					cursor = page.cursor;
					pages++;
				} while (cursor !== null && pages < 10);
				expect(seen).toEqual(ids.slice(0, 7));
				expect(pages).toBe(3);
				expect((await store.list({ prefix: 'p%' })).sessions.map((s) => s.id)).toEqual(['p%x']);
				expect((await store.list({ prefix: 'p_' })).sessions.map((s) => s.id)).toEqual(['p_y']);
			});
			listTest('a deleted session leaves the list', async (store) => {
				await store.save('l:1', emptySession());
				await store.save('l:2', emptySession());
				await store.delete('l:1');
				expect((await store.list({ prefix: 'l:' })).sessions.map((s) => s.id)).toEqual(['l:2']);
			});
		});

		if (target.reopen) {
			describe('a second instance on the same database', () => {
				it('a new instance sees every session the first one saved', () =>
					withStores(async (open, reopen) => {
						const a = await open();
						const sessions = [flueKey('r1'), flueKey('r2'), flueKey('task:r1:x')].map((id, i) => [id, conversation(i + 1)] as const);
						for (const [id, data] of sessions) await a.save(id, data);
						await a.save(flueKey('gone'), emptySession());
						await a.delete(flueKey('gone'));
						const b = await reopen(a);
						for (const [id, data] of sessions) expect(await b.load(id)).toEqual(data);
						expect(await b.load(flueKey('gone'))).toBeNull();
					}));
				it('a writer on a second instance with a stale snapshot fails with CONFLICT and changes nothing', () =>
					withStores(async (open, reopen) => {
						const a = await open();
						const b = await reopen(a);
						const id = flueKey('two-writers');
						await a.save(id, conversation(1));
						const seenByB = (await b.load(id))!;
						const aNext = conversation(1, { base: (await a.load(id))!, startAt: 100 });
						await a.save(id, aNext);
						// B appends to its stale copy: drops A's entries.
						await rejectsWith(b.save(id, conversation(1, { base: seenByB, startAt: 200 })), 'CONFLICT');
						// B changes only metadata: drops nothing, but is still based on an old revision.
						seenByB.metadata.fromB = true;
						await rejectsWith(b.save(id, seenByB), 'CONFLICT');
						expect(await a.load(id)).toEqual(aNext);
						expect(await b.load(id)).toEqual(aNext);
					}));
				it('two instances creating the same new session: one wins, the other gets CONFLICT', () =>
					withStores(async (open, reopen) => {
						const a = await open();
						const b = await reopen(a);
						const id = flueKey('both-create');
						expect(await a.load(id)).toBeNull();
						expect(await b.load(id)).toBeNull();
						await a.save(id, conversation(1));
						await rejectsWith(b.save(id, conversation(2, { startAt: 50 })), 'CONFLICT');
						expect(await b.load(id)).toEqual(conversation(1));
					}));
				it("with concurrency: 'last-writer-wins' the second instance's later save wins", () =>
					withStores(async (open, reopen) => {
						const a = await open({ concurrency: 'last-writer-wins' });
						const b = await reopen(a, { concurrency: 'last-writer-wins' });
						const id = flueKey('lww-two');
						await a.save(id, conversation(1));
						const stale = (await b.load(id))!;
						await a.save(id, conversation(3));
						const last = conversation(1, { base: stale, startAt: 900 });
						await b.save(id, last);
						expect(await a.load(id)).toEqual(last);
					}));
				it('a delete on one instance is seen by the other', () =>
					withStores(async (open, reopen) => {
						const a = await open();
						const b = await reopen(a);
						const id = flueKey('del-two');
						await a.save(id, conversation(1));
						expect(await b.load(id)).toEqual(conversation(1));
						await a.delete(id);
						expect(await b.load(id)).toBeNull();
					}));
			});
		}
	});
}

export { filler, entryId };
