/**
 * Durable sessions for Flue agents, in Postgres (flue-persist).
 *
 * Every server that uses the database sees the same conversations, so a request can land on any
 * of them, and a restart or deploy loses nothing. A save writes only the entries that changed, and
 * a save based on an outdated snapshot fails instead of overwriting a newer turn.
 *
 * In an agent: `init({ model, persist: store })`.
 */
import pg from 'pg';
import { postgresStore, type PostgresClient, type PostgresStoreOptions } from 'flue-persist/postgres';

/** Connections from DATABASE_URL (postgres://user:password@host:5432/database), opened on first use. */
export const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });

// The server may drop an idle connection; without a listener that error would end the process.
pool.on('error', (error) => console.error(`[persist/postgres] an idle connection failed: ${error.message}`));

/** A store over `client`; its tables are created on first use (or by `store.migrate()`). */
export function createSessionStore(client: PostgresClient = pool, options: PostgresStoreOptions = {}) {
	return postgresStore(client, options);
}

/**
 * The store every agent of this server shares. One per process, because it remembers what it last
 * wrote and then saves only the entries that changed.
 * Flue appends new entry objects and never edits a saved one in place, so with immutableEntries the
 * store knows saved entries by identity and a save costs only the turn's new entries.
 */
export const store = createSessionStore(pool, { immutableEntries: true });
