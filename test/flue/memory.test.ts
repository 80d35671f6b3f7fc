/**
 * The Flue scenarios against the reference store: memory instances that share one memory stand in
 * for processes over one database, so the Flue flows are checked apart from any SQL.
 */
import { describe, expect, it } from 'vitest';
import { type FluePersistStore, memoryStore } from '../../src/index.js';
import { overflowFirstTurnScenario, overflowScenario, restoreScenario, type StoreUnderTest, taskScenario } from '../support/flue-harness.js';

/** Every test gets its own memory; openStore gives a new instance over it each time. */
const target = (): StoreUnderTest => {
	const memory = memoryStore();
	return {
		openStore: () => memoryStore({ share: memory }),
		closeStore: (store) => (store as FluePersistStore).close(),
		expect,
	};
};

// What each scenario proves is written next to the SQLite run (test/flue/sqlite.test.ts); here the
// same proofs hold for the engine with the reference adapter.
describe('Flue 0.4.1 with memoryStore', () => {
	it('restores a conversation in a fresh context and a fresh store', () => restoreScenario(target()));
	it('keeps task child sessions and deletes them with the parent', () => taskScenario(target()));
	it('accepts the overflow recovery sequence', () => overflowScenario(target()));
	it('accepts an entry id reused after the overflow removal', () => overflowScenario(target(), { reuseRemovedId: true }));
	it('accepts overflow removal when there is nothing to compact', () => overflowFirstTurnScenario(target()));
});
