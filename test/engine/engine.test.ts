/**
 * The engine against an adapter that keeps sessions in a Map and counts its calls: what the engine
 * reads and writes, not what a database does with it.
 */
import { describe, expect, it } from 'vitest';
import { conversation, emptySession, messageEntry } from '../../src/conformance/fixtures.js';
import { createStore, type RawLogSession, StaleRevisionError, type StorageAdapter, type WritePlan } from '../../src/core/engine.js';
import type { ConcurrencyMode, ListPage, SessionData } from '../../src/types.js';

/** A log-layout adapter over a Map; `failWrite` decides per call whether a write fails, and how. */
class MapAdapter implements StorageAdapter {
	readonly backend = 'fake';
	readonly layout = 'log' as const;
	readonly rows = new Map<string, RawLogSession>();
	reads = 0;
	removes = 0;
	writes: WritePlan[] = [];
	readOnly: string | null = null;
	failWrite: (plan: WritePlan) => 'stale' | 'lost-after-commit' | null = () => null;

	async init(): Promise<void> {}

	async read(id: string): Promise<RawLogSession | null> {
		this.reads++;
		const row = this.rows.get(id);
		return row ? { ...row, entries: row.entries.map((e) => ({ ...e })) } : null;
	}

	async write(plan: WritePlan): Promise<void> {
		this.writes.push(plan);
		const failure = this.failWrite(plan);
		if (failure === 'stale') throw new StaleRevisionError(plan.id);
		const current = this.rows.get(plan.id);
		if ((current?.rev ?? null) !== plan.expectedRev) throw new StaleRevisionError(plan.id);
		const p = plan.plan!;
		const kept = new Map((current && !p.rewrite && plan.expectedRev !== null ? current.entries : []).map((e) => [e.id, e] as const));
		for (const id of p.removed) kept.delete(id);
		const upsert = p.rewrite || plan.expectedRev === null ? p.entries : [...p.changed, ...p.added];
		for (const e of upsert) kept.set(e.id, { id: e.id, parentId: e.parentId, pos: e.pos, json: e.json });
		this.rows.set(plan.id, { rev: plan.rev, header: plan.header, bytes: plan.bytes, entries: [...kept.values()].sort((a, b) => a.pos - b.pos) });
		// The write committed, then the connection dropped before the answer came back.
		if (failure === 'lost-after-commit') throw new Error('connection terminated unexpectedly');
	}

	async remove(id: string): Promise<void> {
		this.removes++;
		this.rows.delete(id);
	}

	readOnlyReason(): string | null {
		return this.readOnly;
	}

	async list(): Promise<ListPage> {
		return { sessions: [], cursor: null };
	}

	async close(): Promise<void> {}
}

function open(adapter: MapAdapter, options: { concurrency?: ConcurrencyMode; cacheBytes?: number; immutableEntries?: boolean } = {}) {
	return createStore(adapter, { ...options, capabilities: { durable: true, maxSessionBytes: 1 << 26 } });
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
	try {
		await promise;
	} catch (error) {
		return (error as { code?: string }).code ?? 'untyped';
	}
	return undefined;
}

/** Flue's call after a turn: a new object, a new array, the same entry objects. */
const flueSave = (data: SessionData): SessionData => ({ ...data, entries: [...data.entries] });

function addTurn(data: SessionData, n: number): void {
	const user = messageEntry(`u${n}`.padStart(8, '0'), data.leafId, 'user', `question ${n}`);
	const reply = messageEntry(`a${n}`.padStart(8, '0'), user.id, 'assistant', `answer ${n}`);
	data.entries.push(user, reply);
	data.leafId = reply.id;
}

describe('engine: last-writer-wins', () => {
	it('gives up with CONFLICT after 32 attempts when other writers keep moving the revision, and says so', async () => {
		const adapter = new MapAdapter();
		const store = open(adapter, { concurrency: 'last-writer-wins' });
		await store.save('s', conversation(1));
		adapter.failWrite = () => 'stale';
		adapter.writes = [];
		adapter.reads = 0;
		let message = '';
		try {
			await store.save('s', conversation(2));
		} catch (error) {
			message = (error as Error).message;
			expect((error as { code?: string }).code).toBe('CONFLICT');
		}
		expect(message).toContain('32 attempts');
		expect(adapter.writes.length).toBe(32);
		// Every retry reads what is there now before writing over it.
		expect(adapter.reads).toBe(31);
		expect(await open(adapter).load('s')).toEqual(conversation(1));
	});
});

describe('engine: the cache', () => {
	it('a session evicted for the byte budget is read again before its next save, and saves whole', async () => {
		const adapter = new MapAdapter();
		const data = conversation(3);
		const bytes = JSON.stringify(data).length;
		// Room for one session's texts, not two.
		const store = open(adapter, { cacheBytes: bytes * 3 });
		await store.save('a', data);
		await store.save('b', conversation(3));
		adapter.reads = 0;
		await store.save('b', conversation(4));
		expect(adapter.reads).toBe(0);
		await store.save('a', conversation(4));
		expect(adapter.reads).toBe(1);
		expect(await store.load('a')).toEqual(conversation(4));
	});

	it('past 100,000 known keys the oldest is forgotten and read again, while the newest stays known', async () => {
		const adapter = new MapAdapter();
		const store = open(adapter);
		await store.save('first', emptySession());
		for (let i = 0; i < 100_000; i++) await store.load(`k${i}`);
		adapter.reads = 0;
		await store.save('k99999', emptySession());
		expect(adapter.reads).toBe(0);
		await store.save('first', emptySession({ metadata: { again: true } }));
		expect(adapter.reads).toBe(1);
	}, 120_000);
});

describe('engine: lineage', () => {
	it('a write whose answer was lost after it committed does not make the caller stale', async () => {
		const adapter = new MapAdapter();
		const store = open(adapter);
		const data = emptySession();
		addTurn(data, 1);
		await store.save('s', flueSave(data));
		addTurn(data, 2);
		adapter.failWrite = () => 'lost-after-commit';
		expect(await codeOf(store.save('s', flueSave(data)))).toBe('BACKEND');
		adapter.failWrite = () => null;
		addTurn(data, 3);
		await store.save('s', flueSave(data));
		expect(await store.load('s')).toEqual(JSON.parse(JSON.stringify(data)));
	});

	it('a write whose answer was lost before it committed does not make the caller stale either', async () => {
		const adapter = new MapAdapter();
		const store = open(adapter);
		const data = emptySession();
		addTurn(data, 1);
		await store.save('s', flueSave(data));
		addTurn(data, 2);
		adapter.failWrite = () => {
			throw new Error('connection refused');
		};
		expect(await codeOf(store.save('s', flueSave(data)))).toBe('BACKEND');
		adapter.failWrite = () => null;
		await store.save('s', flueSave(data));
		expect(await store.load('s')).toEqual(JSON.parse(JSON.stringify(data)));
	});
});

describe('engine: the cost of a save', () => {
	for (const immutableEntries of [false, true]) {
		it(`with immutableEntries: ${immutableEntries}, a turn appended in Flue's call shape writes its new entries only, also right after a load`, async () => {
			const adapter = new MapAdapter();
			let store = open(adapter, { immutableEntries });
			const data = conversation(50);
			await store.save('s', flueSave(data));
			addTurn(data, 1);
			await store.save('s', flueSave(data));
			let plan = adapter.writes.at(-1)!.plan!;
			expect([plan.added.length, plan.changed.length, plan.removed.length, plan.rewrite]).toEqual([2, 0, 0, false]);
			// A restart: a new store, the session loaded, then the next turn.
			store = open(adapter, { immutableEntries });
			const loaded = (await store.load('s'))!;
			addTurn(loaded, 2);
			await store.save('s', flueSave(loaded));
			plan = adapter.writes.at(-1)!.plan!;
			expect([plan.added.length, plan.changed.length, plan.removed.length, plan.rewrite]).toEqual([2, 0, 0, false]);
			expect(await open(adapter).load('s')).toEqual(JSON.parse(JSON.stringify(loaded)));
		});
	}

	it('with immutableEntries, a dropped leaf after an append is still planned as one removal', async () => {
		const adapter = new MapAdapter();
		const store = open(adapter, { immutableEntries: true });
		const data = conversation(5);
		await store.save('s', flueSave(data));
		addTurn(data, 1);
		await store.save('s', flueSave(data));
		const leaf = data.entries.pop()!;
		data.leafId = leaf.parentId;
		await store.save('s', flueSave(data));
		const plan = adapter.writes.at(-1)!.plan!;
		expect([plan.added.length, plan.changed.length, plan.removed, plan.rewrite]).toEqual([0, 0, [leaf.id], false]);
		expect(await open(adapter).load('s')).toEqual(JSON.parse(JSON.stringify(data)));
	});

	it('with immutableEntries, an id dropped with the leaf and given to a later entry is not taken for a duplicate', async () => {
		const adapter = new MapAdapter();
		const store = open(adapter, { immutableEntries: true });
		const data = conversation(3);
		await store.save('s', flueSave(data));
		addTurn(data, 1);
		await store.save('s', flueSave(data));
		const failed = data.entries.pop()!;
		data.leafId = failed.parentId;
		await store.save('s', flueSave(data));
		addTurn(data, 2);
		await store.save('s', flueSave(data));
		// Flue may give the next entry the removed id.
		const reused = messageEntry(failed.id, data.leafId, 'assistant', 'retried under the old id');
		data.entries.push(reused);
		data.leafId = reused.id;
		await store.save('s', flueSave(data));
		addTurn(data, 3);
		await store.save('s', flueSave(data));
		expect(await open(adapter).load('s')).toEqual(JSON.parse(JSON.stringify(data)));
	});
});

describe('engine: a read-only store', () => {
	it('refuses a save and a delete with CONFIG before it reads or writes anything, and a session it loaded saves on once writes are allowed', async () => {
		const adapter = new MapAdapter();
		const writer = open(adapter);
		const data = conversation(2);
		await writer.save('s', flueSave(data));
		adapter.readOnly = 'the store was opened read-only for the test';
		const store = open(adapter);
		const reads = adapter.reads;
		const writes = adapter.writes.length;
		addTurn(data, 3);
		let refused: unknown;
		try {
			await store.save('s', flueSave(data));
		} catch (error) {
			refused = error;
		}
		expect((refused as { code?: string }).code).toBe('CONFIG');
		expect((refused as Error).message).toContain(
			'session "s" was not changed: the store was opened read-only for the test, so this store only loads and lists. Nothing was written.',
		);
		expect(await codeOf(store.delete('s'))).toBe('CONFIG');
		expect([adapter.reads, adapter.writes.length, adapter.removes]).toEqual([reads, writes, 0]);
		// Nothing was in doubt: objects loaded from this store save through it as usual.
		const loaded = (await store.load('s'))!;
		adapter.readOnly = null;
		addTurn(loaded, 4);
		await store.save('s', flueSave(loaded));
		expect(await writer.load('s')).toEqual(loaded);
	});
});
