/** Table names read from a SQLite file's schema pages, without SQLite, agree with sqlite_master. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { sqliteFileTables } from '../../src/flue2/sqlite-file.js';

const dir = mkdtempSync(join(tmpdir(), 'sqlite-file-'));

function make(name: string, pageSize: number, tables: string[], wal = false): string {
	const file = join(dir, name);
	const db = new Database(file);
	db.pragma(`page_size = ${pageSize}`);
	if (wal) db.pragma('journal_mode = WAL');
	db.pragma('synchronous = OFF');
	db.exec('BEGIN');
	for (const [i, t] of tables.entries())
		db.exec(`CREATE TABLE "${t}" (id INTEGER PRIMARY KEY, ${Array.from({ length: (i % 9) * 20 + 1 }, (_, k) => `c${k} TEXT`).join(', ')})`);
	db.exec(`CREATE INDEX not_a_table ON "${tables[0]}" (c0)`);
	db.exec('COMMIT');
	db.close();
	return file;
}

function expected(file: string): string[] {
	const db = new Database(file, { readonly: true });
	try {
		return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name).sort();
	} finally {
		db.close();
	}
}

describe('sqliteFileTables', () => {
	it('reads every table name of small and large schemas at several page sizes', () => {
		for (const pageSize of [512, 4096, 65_536]) {
			const names = Array.from({ length: 300 }, (_, i) => `table_${'n'.repeat(i % 40)}_${i}`);
			const file = make(`many-${pageSize}.db`, pageSize, [...names, 'flue_meta', 'ünïcode_名前']);
			const got = sqliteFileTables(file);
			expect(got, `page size ${pageSize}`).not.toBeNull();
			expect([...got!].sort()).toEqual(expected(file));
		}
	});

	it('reads a WAL-mode file that was closed cleanly', () => {
		const file = make('wal.db', 4096, ['flue_conversation_streams', 'flue_conversation_stream_batches'], true);
		expect([...sqliteFileTables(file)!].sort()).toEqual(['flue_conversation_stream_batches', 'flue_conversation_streams']);
	});

	it('returns null for a file that is not a SQLite database', () => {
		const file = join(dir, 'text.db');
		writeFileSync(file, 'not a database at all, just text that is long enough to have a header of 100 bytes or more .......');
		expect(sqliteFileTables(file)).toBeNull();
	});
});
