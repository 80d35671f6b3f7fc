import { describe, expect, it } from 'vitest';
import { sqliteStore } from '../../src/backends/sqlite/index.js';
import { conversation, messageEntry } from '../../src/conformance/fixtures.js';
import { MAX_DEPTH } from '../../src/core/serialize.js';
import type { FluePersistStore, SessionData } from '../../src/index.js';
import { memoryStore } from '../../src/index.js';

/** An object nested `levels` deep: { a: { a: … } }. */
function nested(levels: number): Record<string, unknown> {
	const root: Record<string, unknown> = {};
	let at = root;
	for (let i = 1; i < levels; i++) {
		const next: Record<string, unknown> = {};
		at.a = next;
		at = next;
	}
	return root;
}

async function caught(promise: Promise<unknown>): Promise<{ code?: string; message: string; sessionId?: string; name: string }> {
	try {
		await promise;
	} catch (error) {
		return error as never;
	}
	throw new Error('expected a rejection');
}

const stores: Array<[string, () => FluePersistStore]> = [
	['memory', () => memoryStore()],
	['sqlite log', () => sqliteStore(':memory:')],
	['sqlite blob', () => sqliteStore(':memory:', { layout: 'blob' })],
];

describe.each(stores)('data nested deeper than the limit (%s)', (_name, make) => {
	it('save() of an entry nested far deeper than the stack allows is INVALID_INPUT naming the session, and nothing is stored', async () => {
		const store = make();
		const id = 'agent-session:["a","deep"]';
		const data = conversation(1);
		await store.save(id, data);
		const deep: SessionData = {
			...data,
			entries: [...data.entries, { ...messageEntry('deadbeef', data.leafId, 'user', 'x'), message: nested(100_000) } as never],
			leafId: 'deadbeef',
		};
		const error = await caught(store.save(id, deep));
		expect(error.name).toBe('InvalidInputError');
		expect(error.code).toBe('INVALID_INPUT');
		expect(error.sessionId).toBe(id);
		expect(error.message).toContain(JSON.stringify(id));
		expect(error.message).toContain(`${MAX_DEPTH} levels`);
		expect(await store.load(id)).toEqual(data);
		await store.close();
	});

	it('metadata and saveDelta headers are held to the same limit', async () => {
		const store = make();
		const id = 'deep-meta';
		const data = conversation(1);
		expect((await caught(store.save(id, { ...data, metadata: nested(100_000) }))).code).toBe('INVALID_INPUT');
		const { entries: _e, ...header } = data;
		expect((await caught(store.saveDelta(id, { upsert: [], remove: [], header: { ...header, metadata: nested(100_000) } }))).code).toBe('INVALID_INPUT');
		expect(await store.load(id)).toBeNull();
		await store.close();
	});

	it('a value just inside the limit round-trips', async () => {
		const store = make();
		const id = 'deep-ok';
		// The session object is level 1, entries 2, an entry 3, its message 4: nested(n) reaches level n + 3.
		const data = conversation(1);
		const ok: SessionData = { ...data, entries: [{ ...data.entries[0]!, message: nested(MAX_DEPTH - 3) } as never, ...data.entries.slice(1)] };
		await store.save(id, ok);
		expect(await store.load(id)).toEqual(JSON.parse(JSON.stringify(ok)));
		const over: SessionData = { ...data, entries: [{ ...data.entries[0]!, message: nested(MAX_DEPTH - 2) } as never, ...data.entries.slice(1)] };
		expect((await caught(store.save('deep-over', over))).code).toBe('INVALID_INPUT');
		await store.close();
	});
});
