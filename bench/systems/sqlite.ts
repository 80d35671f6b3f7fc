/**
 * flue-persist on SQLite, with the WAL as the meter of bytes written: automatic checkpoints are
 * off, so every page a save writes is appended to the WAL, and the bench checkpoints between
 * saves (untimed) whenever the WAL passes 64 MB so the disk does not fill up.
 */

import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sqliteStore } from '../../src/backends/sqlite/index.js';
import type { FluePersistStore, Layout, SessionData } from '../../src/index.js';
import type { BenchSystem, WriteMeter } from '../harness.js';

const SESSION = 'agent-session:["bench","thread"]';
const WAL_LIMIT = 64 * 1024 * 1024;

/** A file's size in bytes; 0 when there is none. */
export function fileSize(path: string): number {
	try {
		return statSync(path).size;
	} catch {
		return 0;
	}
}

/** A file opened the way every SQLite system of the bench opens it: WAL, synchronous = FULL, no automatic checkpoints (they are done untimed). */
export function openBenchSqlite(file: string): Database.Database {
	const db = new Database(file);
	db.pragma('journal_mode = WAL');
	db.pragma('synchronous = FULL');
	db.pragma('wal_autocheckpoint = 0');
	return db;
}

export function flueOnSqlite(dir: string, layout: Layout, immutableEntries: boolean): { system: BenchSystem; meter: WriteMeter; pageSize: () => number } {
	const file = join(dir, `${layout}${immutableEntries ? '-immutable' : ''}.db`);
	let db: Database.Database | undefined;
	let store: FluePersistStore | undefined;
	let flushed = 0;
	const wal = () => fileSize(`${file}-wal`);
	const system: BenchSystem = {
		name: `flue-persist ${layout}${immutableEntries ? ' (immutableEntries)' : ''}`,
		database: 'sqlite',
		async setup() {
			db = openBenchSqlite(file);
			store = sqliteStore(db, { layout, immutableEntries });
		},
		async save(session: SessionData) {
			// Flue's call shape: a new object and a new entries array each turn, the same entry objects.
			await store!.save(SESSION, { ...session, entries: [...session.entries] });
		},
		async saveAtOnce(session: SessionData) {
			await store!.save(SESSION, session);
		},
		async load() {
			const reader = sqliteStore(file, { layout });
			try {
				return (await reader.load(SESSION))?.entries.length ?? 0;
			} finally {
				await reader.close();
			}
		},
		async storageBytes() {
			return (db!.pragma('page_count', { simple: true }) as number) * (db!.pragma('page_size', { simple: true }) as number);
		},
		async close() {
			await store?.close();
			db?.close();
		},
	};
	const meter: WriteMeter = {
		async written() {
			return flushed + wal();
		},
		async tidy() {
			const now = wal();
			if (now < WAL_LIMIT) return;
			flushed += now;
			db!.pragma('wal_checkpoint(TRUNCATE)');
		},
	};
	return { system, meter, pageSize: () => db!.pragma('page_size', { simple: true }) as number };
}
