/** How the worker processes open the store a test tells them to, and how they report. */
import pg from 'pg';
import { postgresStore } from '../../../src/backends/postgres/index.js';
import { type SqliteDriverName, sqliteStore } from '../../../src/backends/sqlite/index.js';
import type { ConcurrencyMode, FluePersistStore, Layout } from '../../../src/index.js';

/** `driver` picks the SQLite driver (default: the store's choice, better-sqlite3 when installed). */
export type Target = { backend: 'sqlite'; file: string; driver?: SqliteDriverName } | { backend: 'postgres'; url: string; schema: string };

export interface Opened {
	open(layout: Layout, table: string, concurrency?: ConcurrencyMode): FluePersistStore;
	close(): Promise<void>;
}

export function connect(target: Target): Opened {
	const stores: FluePersistStore[] = [];
	if (target.backend === 'sqlite') {
		return {
			open(layout, table, concurrency) {
				const store = sqliteStore(target.file, { layout, table, concurrency, driver: target.driver });
				stores.push(store);
				return store;
			},
			async close() {
				for (const s of stores) await s.close();
			},
		};
	}
	const pool = new pg.Pool({ connectionString: target.url, max: 2 });
	pool.on('error', () => undefined);
	return {
		open(layout, table, concurrency) {
			const store = postgresStore(pool, { layout, table, schema: target.schema, concurrency });
			stores.push(store);
			return store;
		},
		async close() {
			for (const s of stores) await s.close();
			await pool.end();
		},
	};
}

// A worker whose parent has gone (its stdout pipe broke, or it outlived any test) stops by itself.
const born = Date.now();
let broken = false;
process.stdout.on('error', () => {
	broken = true;
});
const orphaned = () => broken || Date.now() - born > 120_000;

/**
 * One line to the parent. On Linux a write to a pipe is synchronous in Node, so a line written
 * before SIGKILL is in the pipe and the parent reads it.
 */
export function report(line: string): void {
	if (orphaned()) process.exit(1);
	process.stdout.write(`${line}\n`);
}
