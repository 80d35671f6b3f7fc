/**
 * Durable sessions for Flue agents, in a SQLite file (flue-persist).
 *
 * Each turn of a conversation is saved to the file as it completes, so a restart, a deploy or a
 * crash loses nothing: `agent.session(id)` picks up where the last turn ended.
 *
 * In an agent: `init({ model, persist: store })`.
 */
import { sqliteStore, type SqliteStoreOptions } from 'flue-persist/sqlite';

/** The database file. Set FLUE_SQLITE_PATH to move it; a relative path starts where the server runs. */
export const databasePath = process.env.FLUE_SQLITE_PATH ?? './data/flue-sessions.db';

/** A store over the SQLite file at `path`; the file and its directory are created on first use. */
export function createSessionStore(path: string = databasePath, options: SqliteStoreOptions = {}) {
	return sqliteStore(path, options);
}

/**
 * The store every agent of this server shares. One per process, because it remembers what it last
 * wrote and then saves only the entries that changed. It opens the file on first use, not on import.
 * Flue appends new entry objects and never edits a saved one in place, so with immutableEntries the
 * store knows saved entries by identity and a save costs only the turn's new entries.
 */
export const store = createSessionStore(databasePath, { immutableEntries: true });
