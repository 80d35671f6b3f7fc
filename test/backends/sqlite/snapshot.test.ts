/**
 * The commands read a WAL-mode file that has no `-wal` beside it from a copy (`openSnapshot`), so
 * that reading creates nothing beside the file. node:sqlite cannot read from memory, so its copy
 * is a temporary file: it must not outlive a read that is interrupted (Ctrl-C, SIGKILL), since it
 * holds the conversations.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sqliteOpener } from '../../../src/backends/sqlite/driver.js';
import { DatabaseSync, NODE_SQLITE_SKIP } from '../../support/sqlite-drivers.js';

let work: string;
let temp: string;
const savedTmpdir = process.env.TMPDIR;
beforeEach(() => {
	work = mkdtempSync(join(tmpdir(), 'flue-persist-snapshot-'));
	temp = mkdtempSync(join(tmpdir(), 'flue-persist-snapshot-tmp-'));
	// The copy goes to the system temp folder: this test's own, so that other files' copies do not count.
	process.env.TMPDIR = temp;
});
afterEach(() => {
	if (savedTmpdir === undefined) delete process.env.TMPDIR;
	else process.env.TMPDIR = savedTmpdir;
	rmSync(work, { recursive: true, force: true });
	rmSync(temp, { recursive: true, force: true });
});

/** A WAL-mode database whose writer closed cleanly: the file alone, no `-wal` or `-shm`. */
function walFile(): string {
	const file = join(work, 'app.db');
	const db = new Database(file);
	db.pragma('journal_mode = WAL');
	db.exec("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('one'), ('two')");
	db.close();
	return file;
}

describe('openSnapshot through node:sqlite', () => {
	it.skipIf(!DatabaseSync)(
		`reads the file from a copy that is already gone from disk while it is open${DatabaseSync ? '' : ` (${NODE_SQLITE_SKIP})`}`,
		async () => {
			const file = walFile();
			expect(readdirSync(work)).toEqual(['app.db']);
			const opener = await sqliteOpener('node:sqlite');
			const db = opener.openSnapshot(file);
			try {
				expect(readdirSync(temp), 'a copy left on disk while the database is open').toEqual([]);
				expect(db.prepare('SELECT x FROM t ORDER BY x').all()).toEqual([{ x: 'one' }, { x: 'two' }]);
			} finally {
				db.close();
			}
			expect(readdirSync(temp)).toEqual([]);
			expect(readdirSync(work), 'reading created something beside the file').toEqual(['app.db']);
		},
	);
});
