/**
 * Compile-time proof that every flue-persist store is accepted by Flue 0.4.1 as `persist`
 * without a cast (the type-check in `npm test` fails otherwise), and that `load` can be typed
 * as Flue's own SessionData.
 */
import type { AgentInit, SessionData as FlueSessionData, SessionStore as FlueSessionStore } from '@flue/sdk';
import { describe, expect, it } from 'vitest';
import { sqliteStore } from '../src/backends/sqlite/index.js';
import { memoryStore } from '../src/index.js';

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
});
