/**
 * Real @flue/sdk 0.4.1 agents against postgresStore on a real server (DATABASE_URL, or the
 * embedded one the test run starts): the same scenarios as on SQLite. Each scenario opens several
 * store instances, each on its own pool, as separate processes would.
 */

import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresStore } from '../../src/backends/postgres/index.js';
import type { FluePersistStore, Layout } from '../../src/index.js';
import { overflowScenario, restoreScenario, type StoreUnderTest, taskScenario } from '../support/flue-harness.js';
import { dropSchema, makePool, uniqueSchema } from '../support/postgres.js';

const admin = makePool();
const schemas: string[] = [];
const pools = new WeakMap<FluePersistStore, pg.Pool>();
afterAll(async () => {
	for (const s of schemas) await dropSchema(admin, s);
	await admin.end();
});

// immutableEntries: true is what the README and the connectors tell Flue users to set.
for (const [layout, immutableEntries] of [
	['log', false],
	['log', true],
	['blob', false],
] as Array<[Layout, boolean]>) {
	describe(`Flue 0.4.1 with postgresStore, layout ${layout}${immutableEntries ? ', immutableEntries: true' : ''}`, () => {
		const target = (): StoreUnderTest => {
			const schema = uniqueSchema('flue');
			schemas.push(schema);
			return {
				openStore: () => {
					const pool = makePool(undefined, 4);
					const store = postgresStore(pool, { layout, schema, immutableEntries });
					pools.set(store, pool);
					return store;
				},
				closeStore: async (store) => {
					await (store as FluePersistStore).close();
					await pools.get(store as FluePersistStore)?.end();
				},
				expect,
				overlapExpected: false,
			};
		};

		// Proves: a turn written by one context and store instance is restored by a fresh context
		// on a fresh instance (its own pool) and sent to the model with the next turn.
		it('restores a conversation in a fresh context and a fresh store', () => restoreScenario(target()));

		// Proves: parallel task calls (child sessions, overlapping metadata-only parent saves) land
		// without a store error and in order, and sessions.delete removes parent and children.
		it('keeps task child sessions and deletes them with the parent', () => taskScenario(target()));

		// Proves: Flue's overflow recovery (save the failed message, remove it, compact, retry) is
		// accepted by the optimistic checks and leaves a consistent session.
		it('accepts the overflow recovery sequence', () => overflowScenario(target()));
	});
}
