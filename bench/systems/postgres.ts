/**
 * The Postgres systems of this package: flue-persist in both layouts, and the recipe Flue users
 * copy today (the whole session upserted as JSONB). Each runs in a schema of its own.
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { type PostgresStore, postgresStore } from '../../src/backends/postgres/index.js';
import type { Layout, SessionData } from '../../src/index.js';
import type { BenchSystem, WriteMeter } from '../harness.js';

const SESSION = 'agent-session:["bench","thread"]';

/** The one call the bench makes on its admin connection. */
export interface Admin {
	query(text: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
}

/** WAL position as a byte count: '16/B374D848' is (0x16 << 32) + 0xB374D848. */
export function lsnBytes(lsn: string): number {
	const [hi, lo] = lsn.split('/');
	return Number.parseInt(hi!, 16) * 2 ** 32 + Number.parseInt(lo!, 16);
}

/** Everything the server writes to its WAL, read on a connection of its own between saves. */
export function walMeter(admin: Admin): WriteMeter {
	return {
		async written() {
			const { rows } = await admin.query('SELECT pg_current_wal_lsn()::text AS lsn');
			return lsnBytes(String(rows[0]!.lsn));
		},
	};
}

export async function schemaBytes(admin: Admin, schema: string): Promise<number> {
	const { rows } = await admin.query(
		"SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')",
		[schema],
	);
	return Number(rows[0]!.bytes);
}

/**
 * A pg Pool whose queries add up the time spent in the driver, so that a save's latency splits
 * into the database's time and flue-persist's own.
 */
export function timedPool(url: string): { pool: pg.Pool; spent: () => number; reset: () => void } {
	const pool = new pg.Pool({ connectionString: url, max: 4 });
	pool.on('error', () => undefined);
	let spent = 0;
	const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
	(pool as unknown as { query: typeof query }).query = async (...args: unknown[]) => {
		const t0 = performance.now();
		try {
			return await query(...args);
		} finally {
			spent += performance.now() - t0;
		}
	};
	return { pool, spent: () => spent, reset: () => (spent = 0) };
}

export function flueOnPostgres(url: string, admin: Admin, schema: string, layout: Layout, immutableEntries: boolean): BenchSystem {
	const { pool, spent, reset } = timedPool(url);
	const store: PostgresStore = postgresStore(pool, { layout, schema, immutableEntries });
	return {
		name: `flue-persist ${layout}${immutableEntries ? ' (immutableEntries)' : ''}`,
		database: 'postgres',
		async setup() {
			await store.migrate();
		},
		async save(session: SessionData) {
			reset();
			// Flue's call shape: a new object and a new entries array each turn, the same entry objects.
			await store.save(SESSION, { ...session, entries: [...session.entries] });
		},
		lastDatabaseMs: spent,
		async saveAtOnce(session: SessionData) {
			await store.save(SESSION, session);
		},
		async load() {
			const reader = postgresStore(pool, { layout, schema });
			try {
				return (await reader.load(SESSION))?.entries.length ?? 0;
			} finally {
				await reader.close();
			}
		},
		storageBytes: () => schemaBytes(admin, schema),
		async close() {
			await store.close();
			await pool.end();
		},
	};
}

/** What the Flue docs have users write for Postgres: one JSONB row per session, upserted whole. */
export function jsonbRecipe(url: string, admin: Admin, schema: string): BenchSystem {
	const pool = new pg.Pool({ connectionString: url, max: 4 });
	pool.on('error', () => undefined);
	const table = `"${schema}".flue_sessions`;
	return {
		name: 'JSONB upsert recipe',
		database: 'postgres',
		async setup() {
			await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
			await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (id TEXT PRIMARY KEY, data JSONB NOT NULL, updated_at BIGINT NOT NULL)`);
		},
		async save(session: SessionData) {
			await pool.query(
				`INSERT INTO ${table} (id, data, updated_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
				[SESSION, JSON.stringify(session), Date.now()],
			);
		},
		async saveAtOnce(session: SessionData) {
			await this.save(session, [], 0);
		},
		async load() {
			const { rows } = await pool.query(`SELECT data FROM ${table} WHERE id = $1`, [SESSION]);
			return (rows[0]?.data as SessionData | undefined)?.entries.length ?? 0;
		},
		storageBytes: () => schemaBytes(admin, schema),
		async close() {
			await pool.end();
		},
	};
}
