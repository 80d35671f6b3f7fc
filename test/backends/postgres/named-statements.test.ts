/**
 * The save and load statements run as named (prepared) statements on a pg client; a server side
 * that refuses them, as a transaction-mode pooler does, gets the same statements unnamed.
 */
import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresStore } from '../../../src/backends/postgres/index.js';
import { conversation } from '../../../src/conformance/fixtures.js';
import { makePool, uniqueSchema } from '../../support/postgres.js';

const pool: pg.Pool = makePool(undefined, 2);
const schemas: string[] = [];
afterAll(async () => {
	for (const s of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
	await pool.end();
});

/** The pool, seen through a client that records what it was asked and can refuse named statements as a pooler would. */
function through(refuseNamed: boolean) {
	const calls: Array<'named' | 'unnamed'> = [];
	const client = {
		query(text: string | { name: string; text: string; values: unknown[] }, values?: unknown[]) {
			if (typeof text === 'object') {
				calls.push('named');
				if (refuseNamed) return Promise.reject(Object.assign(new Error(`prepared statement "${text.name}" does not exist`), { code: '26000' }));
				return pool.query(text);
			}
			calls.push('unnamed');
			return pool.query(text, values);
		},
		connect: () => pool.connect(),
		get totalCount() {
			return pool.totalCount;
		},
	};
	return { client, calls };
}

describe('postgresStore: named statements', () => {
	it('saves and loads through named statements', async () => {
		const schema = uniqueSchema('named');
		schemas.push(schema);
		const { client, calls } = through(false);
		const store = postgresStore(client, { schema });
		await store.save('s', conversation(2));
		calls.length = 0;
		await store.save('s', conversation(3));
		expect(await store.load('s')).toEqual(conversation(3));
		expect(calls).toEqual(['named', 'named']);
	});

	it('a server that refuses named statements gets them unnamed, and nothing is lost', async () => {
		const schema = uniqueSchema('named');
		schemas.push(schema);
		const { client, calls } = through(true);
		const store = postgresStore(client, { schema });
		await store.save('s', conversation(2));
		await store.save('s', conversation(3));
		expect(await store.load('s')).toEqual(conversation(3));
		// One refusal, then never named again.
		expect(calls.filter((c) => c === 'named')).toEqual(['named']);
	});
});
