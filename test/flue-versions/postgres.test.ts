/**
 * Every Flue release with a session store, against postgresStore on a real server (DATABASE_URL,
 * or the embedded one the run starts): two processes in a row, then the in-process scenarios in
 * both layouts. Each store instance gets its own pool, as a process would.
 */

import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresStore } from '../../src/backends/postgres/index.js';
import type { FluePersistStore, Layout } from '../../src/index.js';
import { overflowScenario, type ProcessStoreUnderTest, processRestoreScenario, restoreScenario, taskScenario } from '../support/flue-harness.js';
import { loadRelease } from '../support/flue-releases.js';
import { dropSchema, makePool, postgresUrl, uniqueSchema } from '../support/postgres.js';
import { RELEASES } from './releases.js';

const admin = makePool();
const schemas: string[] = [];
const pools = new WeakMap<FluePersistStore, pg.Pool>();
afterAll(async () => {
	for (const s of schemas) await dropSchema(admin, s);
	await admin.end();
});

for (const spec of RELEASES) {
	const release = await loadRelease(spec);
	describe(`${release.label} with postgresStore`, () => {
		const target = (layout: Layout): ProcessStoreUnderTest => {
			const schema = uniqueSchema('flue');
			schemas.push(schema);
			return {
				openStore: () => {
					const pool = makePool(undefined, 4);
					const store = postgresStore(pool, { layout, schema });
					pools.set(store, pool);
					return store;
				},
				closeStore: async (store) => {
					await (store as FluePersistStore).close();
					await pools.get(store as FluePersistStore)?.end();
				},
				worker: { driver: 'postgres', url: postgresUrl(), schema, layout },
				expect,
				// A networked database answers each save on its own schedule (see StoreUnderTest).
				overlapExpected: false,
				release,
			};
		};

		it('resumes a session in a second process', () => processRestoreScenario(target('log')));
		for (const layout of ['log', 'blob'] as Layout[]) {
			it(`restores a conversation in a fresh context and a fresh store (${layout})`, () => restoreScenario(target(layout)));
			it(`keeps task child sessions and deletes them with the parent (${layout})`, () => taskScenario(target(layout)));
			it(`accepts the overflow recovery sequence (${layout})`, () => overflowScenario(target(layout)));
		}
	});
}
