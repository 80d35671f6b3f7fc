/**
 * The SQLite drivers this runtime has, for tests that run once per driver. node:sqlite exists from
 * Node 22.5 (unflagged from 22.13); on an older Node its tests are reported as skipped, by name.
 */
import { describe, it } from 'vitest';
import type { NodeSqliteDatabase, SqliteDriverName } from '../../src/backends/sqlite/index.js';

type DatabaseSyncConstructor = new (
	path: string,
	options?: { readOnly?: boolean },
) => NodeSqliteDatabase & {
	prepare(sql: string): { all(...params: unknown[]): unknown[]; get(...params: unknown[]): unknown; run(...params: unknown[]): unknown };
};

async function loadNodeSqlite(): Promise<DatabaseSyncConstructor | null> {
	try {
		const specifier = 'node:sqlite';
		return ((await import(specifier)) as { DatabaseSync: DatabaseSyncConstructor }).DatabaseSync;
	} catch {
		return null;
	}
}

/** node:sqlite's `DatabaseSync`, or null on a Node without it. */
export const DatabaseSync = await loadNodeSqlite();

export const NODE_SQLITE_SKIP = 'skipped: node:sqlite needs Node ≥ 22.5';

/** Runs `body` once per driver; a driver this Node lacks gets one skipped test that says why. */
export function forEachDriver(body: (driver: SqliteDriverName) => void): void {
	for (const driver of ['better-sqlite3', 'node:sqlite'] as const) {
		if (driver === 'node:sqlite' && !DatabaseSync) {
			describe(`driver ${driver}`, () => it.skip(NODE_SQLITE_SKIP, () => undefined));
			continue;
		}
		describe(`driver ${driver}`, () => body(driver));
	}
}
