/**
 * What the SQLite store promises beyond the conformance suite: its file format, Flue table
 * compatibility, delta-sized writes, and typed errors for the things that go wrong with files.
 */

import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteFile, sqliteErrorCode } from '../../../src/backends/sqlite/driver.js';
import { type SqliteStoreOptions, sqliteStore } from '../../../src/backends/sqlite/index.js';
import { conversation, emptySession } from '../../../src/conformance/fixtures.js';
import { type FluePersistError, isFluePersistError } from '../../../src/index.js';
import { fileDigest } from '../../support/files.js';
import { DatabaseSync, forEachDriver, NODE_SQLITE_SKIP } from '../../support/sqlite-drivers.js';

const dir = mkdtempSync(join(tmpdir(), 'flue-persist-sqlite-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = () => join(dir, `s-${n++}.db`);

async function caught(p: Promise<unknown>): Promise<FluePersistError> {
	try {
		await p;
	} catch (e) {
		expect(isFluePersistError(e)).toBe(true);
		return e as FluePersistError;
	}
	throw new Error('expected the call to fail');
}

const tables = (path: string) =>
	(new Database(path).prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger') ORDER BY name").all() as Array<{ name: string }>).map(
		(r) => r.name,
	);

const sidecars = (path: string) => readdirSync(join(path, '..')).filter((name) => name.startsWith(`${path.split('/').pop()}-`));

/**
 * Makes a file that this process may not write. Root writes any file whatever its mode, so as root
 * the file is marked immutable (chattr +i), which stops root too. Returns how to undo it.
 */
function makeUnwritable(path: string): () => void {
	if (process.getuid?.() === 0) {
		execFileSync('chattr', ['+i', path]);
		return () => execFileSync('chattr', ['-i', path]);
	}
	chmodSync(path, 0o444);
	return () => chmodSync(path, 0o644);
}

forEachDriver((driver) => {
	const open = (source: Parameters<typeof sqliteStore>[0], options: SqliteStoreOptions = {}) => sqliteStore(source, { driver, ...options });

	describe('sqliteStore file format', () => {
		it('opens the file in WAL mode and stamps the format version on first use', async () => {
			const path = file();
			const store = open(path);
			await store.save('a', emptySession());
			await store.close();
			const db = new Database(path);
			expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
			expect(db.prepare("SELECT value FROM flue_persist_meta WHERE key = 'format_version'").get()).toEqual({ value: '1' });
			db.close();
		});

		it('refuses a database stamped by a newer format before reading or writing anything', async () => {
			const path = file();
			const db = new Database(path);
			db.exec("CREATE TABLE flue_persist_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO flue_persist_meta VALUES ('format_version', '99')");
			db.close();
			const before = tables(path);
			const store = open(path);
			const err = await caught(store.load('a'));
			expect(err.code).toBe('FORMAT_VERSION');
			expect(err.message).toMatch(/format 99.*Upgrade flue-persist/);
			expect((await caught(store.save('a', emptySession()))).code).toBe('FORMAT_VERSION');
			expect(tables(path)).toEqual(before);
			await store.close();
		});

		it('refuses an unknown stamp with FORMAT_VERSION', async () => {
			const path = file();
			const db = new Database(path);
			db.exec("CREATE TABLE flue_persist_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO flue_persist_meta VALUES ('format_version', 'banana')");
			db.close();
			expect((await caught(open(path).load('a'))).code).toBe('FORMAT_VERSION');
		});
	});

	describe("sqliteStore blob layout and Flue's own table", () => {
		it("writes exactly Flue's row: JSON.stringify(data) with updated_at in milliseconds", async () => {
			const path = file();
			const store = open(path, { layout: 'blob' });
			const data = conversation(2);
			const t0 = Date.now();
			await store.save('agent-session:["a","s"]', data);
			await store.close();
			const db = new Database(path);
			const row = db.prepare('SELECT data, updated_at FROM flue_sessions WHERE id = ?').get('agent-session:["a","s"]') as { data: string; updated_at: number };
			expect(row.data).toBe(JSON.stringify(data));
			expect(row.updated_at >= t0 && row.updated_at <= Date.now() + 1).toBe(true);
			const columns = db.prepare('PRAGMA table_info(flue_sessions)').all() as Array<{ name: string; type: string; notnull: number; pk: number }>;
			expect(columns.map((c) => [c.name, c.type, c.notnull, c.pk])).toEqual([
				['id', 'TEXT', 0, 1],
				['data', 'TEXT', 1, 0],
				['updated_at', 'INTEGER', 1, 0],
			]);
			db.close();
		});

		it("loads a row written the way Flue's Durable Object store writes it, and saves over it", async () => {
			const path = file();
			const db = new Database(path);
			db.exec('CREATE TABLE IF NOT EXISTS flue_sessions (id TEXT PRIMARY KEY, data TEXT NOT NULL, updated_at INTEGER NOT NULL)');
			const data = conversation(3);
			db.prepare('INSERT OR REPLACE INTO flue_sessions (id, data, updated_at) VALUES (?, ?, ?)').run('k', JSON.stringify(data), Date.now());
			db.close();
			const store = open(path, { layout: 'blob' });
			const loaded = (await store.load('k'))!;
			expect(loaded).toEqual(data);
			const next = conversation(1, { base: loaded });
			await store.save('k', next);
			expect(await open(path, { layout: 'blob' }).load('k')).toEqual(next);
		});
	});

	describe('sqliteStore log layout writes only what changed', () => {
		it('a new turn inserts four entry rows and rewrites none', async () => {
			const path = file();
			const store = open(path);
			const data = conversation(50);
			await store.save('k', data);
			const db = new Database(path);
			db.exec(`CREATE TABLE writes (op TEXT);
				CREATE TRIGGER wi AFTER INSERT ON flue_sessions_entries BEGIN INSERT INTO writes VALUES ('insert'); END;
				CREATE TRIGGER wu AFTER UPDATE ON flue_sessions_entries BEGIN INSERT INTO writes VALUES ('update'); END;
				CREATE TRIGGER wd AFTER DELETE ON flue_sessions_entries BEGIN INSERT INTO writes VALUES ('delete'); END;`);
			const count = () =>
				Object.fromEntries((db.prepare('SELECT op, count(*) AS c FROM writes GROUP BY op').all() as Array<{ op: string; c: number }>).map((r) => [r.op, r.c]));
			await store.save('k', conversation(1, { base: data }));
			expect(count()).toEqual({ insert: 4 });
			db.exec('DELETE FROM writes');
			const metaOnly = conversation(1, { base: data });
			metaOnly.metadata.note = 'only the header changes';
			await store.save('k', metaOnly);
			expect(count()).toEqual({});
			db.close();
			await store.close();
		});
	});

	describe('sqliteStore errors', () => {
		it('a row that does not parse is CORRUPT, names the session, and is left as it was', async () => {
			const path = file();
			const store = open(path, { layout: 'blob' });
			await store.save('broken', conversation(1));
			const db = new Database(path);
			db.prepare("UPDATE flue_sessions SET data = '{\"version\":2,\"entr' WHERE id = 'broken'").run();
			const err = await caught(open(path, { layout: 'blob' }).load('broken'));
			expect(err.code).toBe('CORRUPT');
			expect(err.sessionId).toBe('broken');
			expect(err.message).toContain('"broken"');
			expect((db.prepare("SELECT data FROM flue_sessions WHERE id = 'broken'").get() as { data: string }).data).toBe('{"version":2,"entr');
			db.close();
		});

		it('a missing part of a split entry is CORRUPT, never data', async () => {
			const path = file();
			const store = open(path, { chunkBytes: 1024 });
			await store.save('split', conversation(2, { toolBytes: 5000 }));
			const db = new Database(path);
			const deleted = db
				.prepare(
					"DELETE FROM flue_sessions_entries WHERE session_id = 'split' AND part = 1 AND rowid = (SELECT min(rowid) FROM flue_sessions_entries WHERE session_id = 'split' AND part = 1)",
				)
				.run();
			expect(deleted.changes).toBe(1);
			db.close();
			expect((await caught(open(path, { chunkBytes: 1024 }).load('split'))).code).toBe('CORRUPT');
		});

		it('a driver failure is BACKEND with the cause, and what was stored is unchanged', async () => {
			const path = file();
			const writer = open(path);
			await writer.save('k', conversation(1));
			await writer.close();
			// Another connection holds the write lock, and this store does not wait for it. The holder uses
			// the store's driver: two copies of SQLite in one process do not see each other's locks.
			const holder = driver === 'node:sqlite' ? new DatabaseSync!(path) : new Database(path);
			holder.exec('BEGIN IMMEDIATE');
			const store = open(path, { busyTimeoutMs: 0 });
			expect(await store.load('k')).toEqual(conversation(1));
			const err = await caught(store.save('k', conversation(2)));
			expect(err.code).toBe('BACKEND');
			expect(err.message).toMatch(/database is locked/);
			expect(sqliteErrorCode(err.cause)).toBe('SQLITE_BUSY');
			holder.exec('ROLLBACK');
			holder.close();
			await store.close();
			expect(await open(path).load('k')).toEqual(conversation(1));
		});

		it('a better-sqlite3 Database opened readonly loads, and a save is CONFIG saying it is read-only', async () => {
			const path = file();
			const writer = open(path);
			await writer.save('k', conversation(1));
			await writer.close();
			const readonly = new Database(path, { readonly: true });
			const store = open(readonly);
			expect(await store.load('k')).toEqual(conversation(1));
			const err = await caught(store.save('k', conversation(2)));
			expect(err.code).toBe('CONFIG');
			expect(err.message).toMatch(/read-only|readonly/);
			readonly.close();
			expect(await open(path).load('k')).toEqual(conversation(1));
		});

		it('a file that is not a SQLite database is a CONFIG error naming the file', async () => {
			const path = join(dir, 'not-a-db.db');
			const { writeFileSync } = await import('node:fs');
			writeFileSync(path, 'this is a text file, not a database'.repeat(200));
			const err = await caught(open(path).load('k'));
			expect(err.code).toBe('CONFIG');
			expect(err.message).toContain('not-a-db.db');
		});

		it('an unwritable location is a CONFIG error naming the path', async () => {
			if (process.getuid?.() === 0) {
				// root writes anywhere; use a path under a regular file instead, which nobody can create.
				const blocker = join(dir, 'blocker');
				(await import('node:fs')).writeFileSync(blocker, 'x');
				const err = await caught(open(join(blocker, 'sub', 'x.db')).load('k'));
				expect(['CONFIG', 'BACKEND']).toContain(err.code);
				expect(err.message).toContain('blocker');
				return;
			}
			const locked = join(dir, 'locked');
			(await import('node:fs')).mkdirSync(locked);
			chmodSync(locked, 0o500);
			const err = await caught(open(join(locked, 'x.db')).load('k'));
			expect(err.code).toBe('CONFIG');
		});

		it('options are checked when the store is created', () => {
			const code = (fn: () => unknown) => {
				try {
					fn();
				} catch (e) {
					return `${(e as FluePersistError).code}: ${(e as Error).message}`;
				}
				return 'no error';
			};
			expect(code(() => open(file(), { layout: 'rows' as never }))).toMatch(/^CONFIG: .*layout/);
			expect(code(() => open(file(), { table: 'flue; DROP TABLE x' }))).toMatch(/^CONFIG: .*table/);
			expect(code(() => open(file(), { concurrency: 'pessimistic' as never }))).toMatch(/^CONFIG: .*concurrency/);
			expect(code(() => open(file(), { chunkBytes: 10 }))).toMatch(/^CONFIG: .*chunkBytes/);
			expect(code(() => open(file(), { immutableEntries: 'yes' as never }))).toMatch(/^CONFIG: .*immutableEntries/);
			expect(code(() => open(42 as never))).toMatch(/^CONFIG: .*file path or a better-sqlite3 Database/);
			expect(code(() => open(''))).toMatch(/^CONFIG/);
		});

		it('a custom table name keeps stores apart in one file', async () => {
			const path = file();
			const a = open(path, { table: 'agent_a' });
			const b = open(path, { table: 'agent_b', layout: 'blob' });
			await a.save('k', conversation(1));
			await b.save('k', conversation(2));
			expect((await a.load('k'))!.entries.length).toBe(4);
			expect((await b.load('k'))!.entries.length).toBe(8);
			expect(tables(path)).toEqual(expect.arrayContaining(['agent_a_log', 'agent_a_entries', 'agent_b']));
		});

		it('a closed store refuses calls with CONFIG', async () => {
			const store = open(file());
			await store.close();
			expect((await caught(store.load('k'))).code).toBe('CONFIG');
		});
	});

	describe('sqliteStore with immutableEntries', () => {
		it('round-trips a conversation saved turn by turn with the same entry objects', async () => {
			const path = file();
			const store = open(path, { immutableEntries: true });
			const data = emptySession();
			for (let t = 0; t < 20; t++) {
				const turn = conversation(1, { base: { ...data, entries: [] }, startAt: data.entries.length });
				data.entries.push(...turn.entries);
				data.leafId = turn.leafId;
				await store.save('k', data);
			}
			expect(await open(path).load('k')).toEqual(JSON.parse(JSON.stringify(data)));
		});

		it('still rejects an appended entry whose id is already in the unchanged part', async () => {
			const store = open(file(), { immutableEntries: true });
			const data = conversation(3);
			await store.save('k', data);
			data.entries = [...data.entries, { ...data.entries[1]!, parentId: data.leafId }];
			const err = await caught(store.save('k', data));
			expect(err.code).toBe('INVALID_INPUT');
			expect(err.message).toContain(JSON.stringify(data.entries[1]!.id));
			expect((await store.load('k'))!.entries.length).toBe(12);
		});

		it('sees a removed leaf, a reused id and an entry replaced by a new object', async () => {
			const path = file();
			const store = open(path, { immutableEntries: true });
			const data = conversation(2);
			await store.save('k', data);
			const leaf = data.entries.at(-1)!;
			data.entries = data.entries.slice(0, -1);
			data.leafId = leaf.parentId;
			await store.save('k', data);
			data.entries = [...data.entries, { ...leaf, message: { role: 'assistant', content: [{ type: 'text', text: 'reused id' }] } } as never];
			data.leafId = leaf.id;
			await store.save('k', data);
			data.entries = data.entries.map((e, i) => (i === 0 ? ({ ...e, message: { role: 'user', content: [] } } as never) : e));
			await store.save('k', data);
			expect(await open(path).load('k')).toEqual(JSON.parse(JSON.stringify(data)));
		});
	});

	describe("sqliteStore with concurrency: 'last-writer-wins'", () => {
		it('eight instances writing one session: every save lands, and what is stored is one whole snapshot', async () => {
			const path = file();
			const stores = Array.from({ length: 8 }, () => open(path, { concurrency: 'last-writer-wins' }));
			await stores[0]!.save('s', emptySession());
			const landed: string[][] = [];
			await Promise.all(
				stores.map(async (store, w) => {
					for (let t = 0; t < 15; t++) {
						const d = (await store.load('s'))!;
						d.entries.push({
							type: 'message',
							id: `w${w}t${t}`,
							parentId: d.leafId,
							timestamp: '2026-01-01T00:00:00.000Z',
							message: { role: 'user', content: [] },
						} as never);
						d.leafId = `w${w}t${t}`;
						await store.save('s', d);
						landed.push(d.entries.map((e) => e.id));
					}
				}),
			);
			expect(landed.length).toBe(120);
			const stored = (await open(path).load('s'))!;
			expect(landed.map((ids) => ids.join())).toContain(stored.entries.map((e) => e.id).join());
			for (const s of stores) await s.close();
		});
	});
	describe('sqliteStore read-only', () => {
		it('a file the process may not write opens read-only: list and load work, a save is CONFIG naming the file', async () => {
			const path = file();
			const writer = open(path);
			await writer.save('k', conversation(1));
			await writer.close();
			// A rollback-journal file, as Flue or another tool leaves it: switching it to WAL would be a write.
			const db = new Database(path);
			db.pragma('journal_mode = DELETE');
			db.close();
			const before = fileDigest(path);
			const undo = makeUnwritable(path);
			try {
				const store = open(path);
				expect((await store.list()).sessions.map((s) => s.id)).toEqual(['k']);
				expect(await store.load('k')).toEqual(conversation(1));
				const err = await caught(store.save('k', conversation(2)));
				expect(err.code).toBe('CONFIG');
				expect(err.message).toContain('read-only');
				expect(err.message).toContain(path);
				expect((await caught(store.delete('k'))).code).toBe('CONFIG');
				await store.close();
			} finally {
				undo();
			}
			expect(fileDigest(path)).toBe(before);
			expect(await open(path).load('k')).toEqual(conversation(1));
		});

		it('readOnly: true reads a WAL file and leaves no -wal or -shm file and no change behind', async () => {
			const path = file();
			const writer = open(path);
			await writer.save('k', conversation(2));
			await writer.close();
			expect(sidecars(path)).toEqual([]);
			const before = fileDigest(path);
			const store = open(path, { readOnly: true });
			expect((await store.list()).sessions.map((s) => s.id)).toEqual(['k']);
			expect(await store.load('k')).toEqual(conversation(2));
			expect(await store.load('missing')).toBeNull();
			const err = await caught(store.save('k', conversation(3)));
			expect(err.code).toBe('CONFIG');
			expect(err.message).toContain('readOnly');
			await store.close();
			expect(sidecars(path)).toEqual([]);
			expect(fileDigest(path)).toBe(before);
		});

		it("readOnly: true on Flue's own blob table creates nothing and reads its rows", async () => {
			const path = file();
			const db = new Database(path);
			db.exec('CREATE TABLE flue_sessions (id TEXT PRIMARY KEY, data TEXT NOT NULL, updated_at INTEGER NOT NULL)');
			db.prepare('INSERT INTO flue_sessions VALUES (?, ?, ?)').run('k', JSON.stringify(conversation(1)), Date.now());
			db.close();
			const before = tables(path);
			const store = open(path, { readOnly: true, layout: 'blob' });
			expect(await store.load('k')).toEqual(conversation(1));
			expect((await store.list()).sessions.map((s) => s.id)).toEqual(['k']);
			// The log layout's tables do not exist: there is nothing stored in it, and nothing is made.
			const log = open(path, { readOnly: true });
			expect(await log.load('k')).toBeNull();
			expect((await log.list()).sessions).toEqual([]);
			await store.close();
			await log.close();
			expect(tables(path)).toEqual(before);
			expect(sidecars(path)).toEqual([]);
		});

		it('readOnly: true on a missing file is CONFIG and creates no file', async () => {
			const path = file();
			const err = await caught(open(path, { readOnly: true }).load('k'));
			expect(err.code).toBe('CONFIG');
			expect(err.message).toContain('no SQLite file');
			expect(existsSync(path)).toBe(false);
		});
	});

	describe('sqliteStore refuses tables it did not make', () => {
		const application = (path: string) => {
			const db = new Database(path);
			db.exec(`CREATE TABLE flue_sessions (id INTEGER PRIMARY KEY, name TEXT);
				CREATE TABLE flue_sessions_log (id TEXT PRIMARY KEY, msg TEXT);
				INSERT INTO flue_sessions VALUES (1, 'application row');
				INSERT INTO flue_sessions_log VALUES ('1', 'application row');`);
			db.close();
		};
		const rows = (path: string) => {
			const db = new Database(path, { readonly: true });
			const out = [db.prepare('SELECT * FROM flue_sessions').all(), db.prepare('SELECT * FROM flue_sessions_log').all()];
			db.close();
			return out;
		};

		it("delete('1') on an application's flue_sessions_log is CONFIG naming the table and its columns, and the row stays", async () => {
			const path = file();
			application(path);
			const before = { tables: tables(path), rows: rows(path) };
			const store = open(path);
			const err = await caught(store.delete('1'));
			expect(err.code).toBe('CONFIG');
			expect(err.message).toContain('flue_sessions_log');
			expect(err.message).toContain('id TEXT key, msg TEXT');
			expect(err.message).toContain('header TEXT');
			for (const call of [store.load('1'), store.list(), store.save('1', conversation(1))]) expect((await caught(call)).code).toBe('CONFIG');
			await store.close();
			expect(tables(path)).toEqual(before.tables);
			expect(rows(path)).toEqual(before.rows);
		});

		it("the blob layout refuses an application's flue_sessions the same way", async () => {
			const path = file();
			application(path);
			const before = { tables: tables(path), rows: rows(path) };
			const store = open(path, { layout: 'blob' });
			const err = await caught(store.delete('1'));
			expect(err.code).toBe('CONFIG');
			expect(err.message).toContain('table flue_sessions has columns (id INTEGER key, name TEXT)');
			expect((await caught(store.load('1'))).code).toBe('CONFIG');
			await store.close();
			expect(tables(path)).toEqual(before.tables);
			expect(rows(path)).toEqual(before.rows);
		});

		it('a view under the name of the meta table is refused too', async () => {
			const path = file();
			const db = new Database(path);
			db.exec("CREATE VIEW flue_persist_meta AS SELECT 'format_version' AS key, '1' AS value");
			db.close();
			const err = await caught(open(path).load('k'));
			expect(err.code).toBe('CONFIG');
			expect(err.message).toContain('flue_persist_meta is a view');
		});
	});

	describe('sqliteStore integers', () => {
		it('an integer beyond 2^53 in a stored row is CORRUPT naming the session, not a rounded number', async () => {
			const path = file();
			const store = open(path);
			await store.save('k', conversation(1));
			await store.close();
			const db = new Database(path);
			db.prepare("UPDATE flue_sessions_log SET updated_at = 9007199254740993 WHERE id = 'k'").run();
			db.close();
			const err = await caught(open(path).load('k'));
			expect(err.code).toBe('CORRUPT');
			expect(err.sessionId).toBe('k');
			expect(err.message).toContain('updated_at');
		});
	});

	describe('sqliteStore opening a file', () => {
		it('sets WAL, synchronous and the busy timeout the same way on this driver', async () => {
			const path = file();
			const connection = await openSqliteFile(path, { driver, readOnly: false, synchronous: 'NORMAL', busyTimeoutMs: 1234 });
			expect(connection.driver).toBe(driver);
			expect(connection.query('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
			expect(connection.query('PRAGMA synchronous')).toEqual([{ synchronous: 1 }]);
			expect(connection.query('PRAGMA busy_timeout')).toEqual([{ timeout: 1234 }]);
			connection.close();
			const full = await openSqliteFile(path, { driver, readOnly: false, synchronous: 'FULL', busyTimeoutMs: 5000 });
			expect(full.query('PRAGMA synchronous')).toEqual([{ synchronous: 2 }]);
			full.close();
		});

		it('inside a transaction the application opened on its own database, a save nests in it and follows its rollback', async () => {
			const path = file();
			const db = driver === 'node:sqlite' ? new DatabaseSync!(path) : new Database(path);
			const store = open(db);
			await store.save('a', conversation(1));
			db.exec('BEGIN');
			await store.save('b', conversation(1));
			db.exec('ROLLBACK');
			await store.close();
			db.close();
			const fresh = open(path);
			expect(await fresh.load('a')).toEqual(conversation(1));
			expect(await fresh.load('b')).toBeNull();
			await fresh.close();
		});

		it('returns plain objects, rolls a failed transaction back, and names SQLite error codes alike', async () => {
			const connection = await openSqliteFile(file(), { driver, readOnly: false, synchronous: 'FULL', busyTimeoutMs: 5000 });
			connection.query('CREATE TABLE t (id TEXT PRIMARY KEY)');
			const [row] = connection.query("SELECT 'a' AS v");
			expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
			let error: unknown;
			try {
				connection.transaction('write', () => {
					connection.query('INSERT INTO t VALUES (?)', ['x']);
					connection.query('INSERT INTO t VALUES (?)', ['x']);
				});
			} catch (e) {
				error = e;
			}
			expect(sqliteErrorCode(error)).toBe('SQLITE_CONSTRAINT');
			expect(connection.query('SELECT count(*) AS n FROM t')).toEqual([{ n: 0 }]);
			connection.close();
		});
	});
});

describe('one file, both drivers', () => {
	if (!DatabaseSync) {
		it.skip(NODE_SQLITE_SKIP, () => undefined);
		return;
	}
	for (const [first, second] of [
		['better-sqlite3', 'node:sqlite'],
		['node:sqlite', 'better-sqlite3'],
	] as const) {
		for (const layout of ['log', 'blob'] as const) {
			it(`a ${layout} file written through ${first} opens through ${second}, and back`, async () => {
				const path = file();
				const a = sqliteStore(path, { driver: first, layout, chunkBytes: 1024 });
				const data = conversation(3, { toolBytes: 5000 });
				await a.save('k', data);
				await a.close();
				const b = sqliteStore(path, { driver: second, layout, chunkBytes: 1024 });
				expect(await b.load('k')).toEqual(data);
				const next = conversation(1, { base: data });
				await b.save('k', next);
				await b.close();
				expect(await sqliteStore(path, { driver: first, layout, chunkBytes: 1024 }).load('k')).toEqual(next);
			});
		}
	}
});
