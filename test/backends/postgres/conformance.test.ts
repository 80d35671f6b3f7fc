import { afterAll, describe, expect, it } from 'vitest';
import { type PostgresStore, postgresStore } from '../../../src/backends/postgres/index.js';
import { runConformance } from '../../../src/conformance/index.js';
import type { Layout } from '../../../src/index.js';
import { dropSchema, makeClient, makePool, makeSql, uniqueSchema } from '../../support/postgres.js';

const pool = makePool();
const sql = makeSql();
const single = await makeClient();
const admin = makePool(undefined, 2);
afterAll(async () => {
	await Promise.all([pool.end(), sql.end(), single.end()]);
	await admin.end();
});

const clients = { 'pg Pool': pool, 'postgres.js': sql, 'pg Client': single } as const;

for (const [driver, layout] of [
	['pg Pool', 'log'],
	['pg Pool', 'blob'],
	['postgres.js', 'log'],
	['postgres.js', 'blob'],
	['pg Client', 'log'],
] as Array<[keyof typeof clients, Layout]>) {
	const owned = new Map<PostgresStore, { schema: string; owner: boolean }>();
	runConformance<PostgresStore>(
		{
			name: `postgresStore layout ${layout} through ${driver}`,
			async create(options) {
				const schema = uniqueSchema();
				const store = postgresStore(clients[driver], { ...options, layout, schema });
				owned.set(store, { schema, owner: true });
				return store;
			},
			async reopen(store, options) {
				const { schema } = owned.get(store)!;
				const again = postgresStore(clients[driver], { ...options, layout, schema });
				owned.set(again, { schema, owner: false });
				return again;
			},
			async destroy(store) {
				await store.close();
				const { schema, owner } = owned.get(store)!;
				owned.delete(store);
				if (owner) await dropSchema(admin, schema);
			},
		},
		{ describe, it, expect },
	);
}
