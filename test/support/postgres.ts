/** Connections and isolated schemas for the Postgres tests. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import postgres from 'postgres';
import { inject } from 'vitest';

/**
 * The server of this test run: DATABASE_URL, or the embedded one the global setup started. The
 * global setup runs for the files of the `postgres` project in vitest.config.ts only.
 */
export function postgresUrl(): string {
	const url = inject('postgresUrl');
	if (!url)
		throw new Error('This test file uses the Postgres server of the run but is not in the postgres project: add it to POSTGRES_FILES in vitest.config.ts.');
	return url;
}

/** A schema name no other test uses. */
export function uniqueSchema(prefix = 't'): string {
	return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** A pg Pool that survives the server going away (an idle client's error would crash the process). */
export function makePool(url = postgresUrl(), max = 6): pg.Pool {
	const pool = new pg.Pool({ connectionString: url, max });
	pool.on('error', () => undefined);
	return pool;
}

export function makeSql(url = postgresUrl(), max = 6): postgres.Sql {
	return postgres(url, { max, onnotice: () => undefined });
}

export async function makeClient(url = postgresUrl()): Promise<pg.Client> {
	const client = new pg.Client({ connectionString: url });
	client.on('error', () => undefined);
	await client.connect();
	return client;
}

export async function dropSchema(pool: pg.Pool, schema: string): Promise<void> {
	await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}
