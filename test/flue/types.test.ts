/**
 * Compile-time proof that flue-persist's types and Flue 0.4.1's agree in both directions: every
 * flue-persist store, and a store written by hand against the exported `SessionStore` type, is
 * accepted by Flue's `init({ persist })` without a cast; a store typed with Flue's own
 * `SessionStore` is a flue-persist `SessionStore`; session data moves between the two
 * `SessionData` types without a cast. The type-check in `npm test` fails when any of this breaks;
 * the `@ts-expect-error` lines fail it when a wrong argument stops being an error.
 */
import type { AgentInit, SessionData as FlueSessionData, SessionStore as FlueSessionStore } from '@flue/sdk';
import { describe, expect, it } from 'vitest';
import { type D1DatabaseLike, d1Store } from '../../src/backends/d1/index.js';
import { sqliteStore } from '../../src/backends/sqlite/index.js';
import { conversation } from '../../src/conformance/fixtures.js';
import { memoryStore, type SessionData, type SessionStore } from '../../src/index.js';

/** What a user writes from the README's types alone: a Map behind the three calls. */
function handWrittenStore(): SessionStore {
	const sessions = new Map<string, SessionData>();
	return {
		async save(id, data) {
			sessions.set(id, structuredClone(data));
		},
		async load(id) {
			const data = sessions.get(id);
			return data === undefined ? null : structuredClone(data);
		},
		async delete(id) {
			sessions.delete(id);
		},
	};
}

/** The same store typed with Flue's declarations instead of flue-persist's. */
function flueTypedStore(): FlueSessionStore {
	const sessions = new Map<string, FlueSessionData>();
	return {
		save: async (id, data) => void sessions.set(id, structuredClone(data)),
		load: async (id) => structuredClone(sessions.get(id) ?? null),
		delete: async (id) => void sessions.delete(id),
	};
}

describe('types', () => {
	it('flue-persist stores are Flue SessionStores', async () => {
		const stores: FlueSessionStore[] = [memoryStore(), sqliteStore(':memory:')];
		const init: AgentInit = { model: 'fake/model', persist: stores[1] };
		expect(init.persist).toBe(stores[1]);
		const flueData: FlueSessionData = { version: 2, entries: [], leafId: null, metadata: {}, createdAt: 'a', updatedAt: 'b' };
		const store = memoryStore();
		await store.save('k', flueData);
		const back: FlueSessionData | null = await store.load<FlueSessionData>('k');
		expect(back).toEqual(flueData);
	});

	it("a store written against the exported SessionStore type is accepted by Flue's AgentInit, and works", async () => {
		const mine = handWrittenStore();
		const init: AgentInit = { model: 'fake/model', persist: mine };
		const data = conversation(2);
		await init.persist!.save('k', data);
		const loaded: FlueSessionData | null = await init.persist!.load('k');
		expect(loaded).toEqual(data);
	});

	it("a store typed with Flue's SessionStore is a flue-persist SessionStore", async () => {
		const theirs: SessionStore = flueTypedStore();
		const data: SessionData = conversation(1);
		await theirs.save('k', data);
		expect(await theirs.load('k')).toEqual(data);
	});

	it("SessionData converts to Flue's SessionData and back without a cast", () => {
		const ours: SessionData = conversation(1);
		const theirs: FlueSessionData = ours;
		const again: SessionData = theirs;
		expect(again).toBe(ours);
	});

	it('d1Store takes a D1 binding by its shape: anything else is a compile error', () => {
		const binding: D1DatabaseLike = { prepare: () => ({ bind: () => binding.prepare('') }), batch: async () => [] };
		expect(d1Store(binding).backend).toBe('d1');
		// @ts-expect-error a path is not a D1 binding
		expect(() => d1Store('./sessions.db')).toThrowError(/D1 database binding/);
		// @ts-expect-error the whole env instead of env.DB
		expect(() => d1Store({ DB: binding })).toThrowError(/D1 database binding/);
	});
});
