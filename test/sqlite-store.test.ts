/**
 * What the SQLite store promises beyond the conformance suite: its file format, Flue table
 * compatibility, delta-sized writes, and typed errors for the things that go wrong with files.
 */
import Database from 'better-sqlite3';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../src/backends/sqlite/index.js';
import { conversation, emptySession } from '../src/conformance/fixtures.js';
import { isFluePersistError, type FluePersistError } from '../src/index.js';

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
	(new Database(path).prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger') ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);

describe('sqliteStore file format', () => {
	it('opens the file in WAL mode and stamps the format version on first use', async () => {
		const path = file();
		const store = sqliteStore(path);
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
		const store = sqliteStore(path);
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
		expect((await caught(sqliteStore(path).load('a'))).code).toBe('FORMAT_VERSION');
	});
});

describe("sqliteStore blob layout and Flue's own table", () => {
	it("writes exactly Flue's row: JSON.stringify(data) with updated_at in milliseconds", async () => {
		const path = file();
		const store = sqliteStore(path, { layout: 'blob' });
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
		const store = sqliteStore(path, { layout: 'blob' });
		const loaded = (await store.load('k'))!;
		expect(loaded).toEqual(data);
		const next = conversation(1, { base: loaded });
		await store.save('k', next);
		expect(await sqliteStore(path, { layout: 'blob' }).load('k')).toEqual(next);
	});
});

describe('sqliteStore log layout writes only what changed', () => {
	it('a new turn inserts four entry rows and rewrites none', async () => {
		const path = file();
		const store = sqliteStore(path);
		const data = conversation(50);
		await store.save('k', data);
		const db = new Database(path);
		db.exec(`CREATE TABLE writes (op TEXT);
			CREATE TRIGGER wi AFTER INSERT ON flue_sessions_entries BEGIN INSERT INTO writes VALUES ('insert'); END;
			CREATE TRIGGER wu AFTER UPDATE ON flue_sessions_entries BEGIN INSERT INTO writes VALUES ('update'); END;
			CREATE TRIGGER wd AFTER DELETE ON flue_sessions_entries BEGIN INSERT INTO writes VALUES ('delete'); END;`);
		const count = () => Object.fromEntries((db.prepare('SELECT op, count(*) AS c FROM writes GROUP BY op').all() as Array<{ op: string; c: number }>).map((r) => [r.op, r.c]));
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
		const store = sqliteStore(path, { layout: 'blob' });
		await store.save('broken', conversation(1));
		const db = new Database(path);
		db.prepare("UPDATE flue_sessions SET data = '{\"version\":2,\"entr' WHERE id = 'broken'").run();
		const err = await caught(sqliteStore(path, { layout: 'blob' }).load('broken'));
		expect(err.code).toBe('CORRUPT');
		expect(err.sessionId).toBe('broken');
		expect(err.message).toContain('"broken"');
		expect((db.prepare("SELECT data FROM flue_sessions WHERE id = 'broken'").get() as { data: string }).data).toBe('{"version":2,"entr');
		db.close();
	});

	it('a missing part of a split entry is CORRUPT, never data', async () => {
		const path = file();
		const store = sqliteStore(path, { chunkBytes: 1024 });
		await store.save('split', conversation(2, { toolBytes: 5000 }));
		const db = new Database(path);
		const deleted = db.prepare("DELETE FROM flue_sessions_entries WHERE session_id = 'split' AND part = 1 AND rowid = (SELECT min(rowid) FROM flue_sessions_entries WHERE session_id = 'split' AND part = 1)").run();
		expect(deleted.changes).toBe(1);
		db.close();
		expect((await caught(sqliteStore(path, { chunkBytes: 1024 }).load('split'))).code).toBe('CORRUPT');
	});

	it('a driver failure is BACKEND with the cause, and what was stored is unchanged', async () => {
		const path = file();
		const writer = sqliteStore(path);
		await writer.save('k', conversation(1));
		await writer.close();
		const readonly = new Database(path, { readonly: true });
		const store = sqliteStore(readonly);
		expect(await store.load('k')).toEqual(conversation(1));
		const err = await caught(store.save('k', conversation(2)));
		expect(err.code).toBe('BACKEND');
		expect((err.cause as { code?: string }).code).toBe('SQLITE_READONLY');
		readonly.close();
		expect(await sqliteStore(path).load('k')).toEqual(conversation(1));
	});

	it('a file that is not a SQLite database is a CONFIG error naming the file', async () => {
		const path = join(dir, 'not-a-db.db');
		const { writeFileSync } = await import('node:fs');
		writeFileSync(path, 'this is a text file, not a database'.repeat(200));
		const err = await caught(sqliteStore(path).load('k'));
		expect(err.code).toBe('CONFIG');
		expect(err.message).toContain('not-a-db.db');
	});

	it('an unwritable location is a CONFIG error naming the path', async () => {
		if (process.getuid?.() === 0) {
			// root writes anywhere; use a path under a regular file instead, which nobody can create.
			const blocker = join(dir, 'blocker');
			(await import('node:fs')).writeFileSync(blocker, 'x');
			const err = await caught(sqliteStore(join(blocker, 'sub', 'x.db')).load('k'));
			expect(['CONFIG', 'BACKEND']).toContain(err.code);
			expect(err.message).toContain('blocker');
			return;
		}
		const locked = join(dir, 'locked');
		(await import('node:fs')).mkdirSync(locked);
		chmodSync(locked, 0o500);
		const err = await caught(sqliteStore(join(locked, 'x.db')).load('k'));
		expect(err.code).toBe('CONFIG');
	});

	it('options are checked when the store is created', () => {
		const code = (fn: () => unknown) => {
			try {
				fn();
			} catch (e) {
				return (e as FluePersistError).code + ': ' + (e as Error).message;
			}
			return 'no error';
		};
		expect(code(() => sqliteStore(file(), { layout: 'rows' as never }))).toMatch(/^CONFIG: .*layout/);
		expect(code(() => sqliteStore(file(), { table: 'flue; DROP TABLE x' }))).toMatch(/^CONFIG: .*table/);
		expect(code(() => sqliteStore(file(), { concurrency: 'pessimistic' as never }))).toMatch(/^CONFIG: .*concurrency/);
		expect(code(() => sqliteStore(file(), { chunkBytes: 10 }))).toMatch(/^CONFIG: .*chunkBytes/);
		expect(code(() => sqliteStore(file(), { immutableEntries: 'yes' as never }))).toMatch(/^CONFIG: .*immutableEntries/);
		expect(code(() => sqliteStore(42 as never))).toMatch(/^CONFIG: .*file path or a better-sqlite3 Database/);
		expect(code(() => sqliteStore(''))).toMatch(/^CONFIG/);
	});

	it('a custom table name keeps stores apart in one file', async () => {
		const path = file();
		const a = sqliteStore(path, { table: 'agent_a' });
		const b = sqliteStore(path, { table: 'agent_b', layout: 'blob' });
		await a.save('k', conversation(1));
		await b.save('k', conversation(2));
		expect((await a.load('k'))!.entries.length).toBe(4);
		expect((await b.load('k'))!.entries.length).toBe(8);
		expect(tables(path)).toEqual(expect.arrayContaining(['agent_a_log', 'agent_a_entries', 'agent_b']));
	});

	it('a closed store refuses calls with CONFIG', async () => {
		const store = sqliteStore(file());
		await store.close();
		expect((await caught(store.load('k'))).code).toBe('CONFIG');
	});
});

describe('sqliteStore with immutableEntries', () => {
	it('round-trips a conversation saved turn by turn with the same entry objects', async () => {
		const path = file();
		const store = sqliteStore(path, { immutableEntries: true });
		const data = emptySession();
		for (let t = 0; t < 20; t++) {
			const turn = conversation(1, { base: { ...data, entries: [] }, startAt: data.entries.length });
			data.entries.push(...turn.entries);
			data.leafId = turn.leafId;
			await store.save('k', data);
		}
		expect(await sqliteStore(path).load('k')).toEqual(JSON.parse(JSON.stringify(data)));
	});

	it('still rejects an appended entry whose id is already in the unchanged part', async () => {
		const store = sqliteStore(file(), { immutableEntries: true });
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
		const store = sqliteStore(path, { immutableEntries: true });
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
		expect(await sqliteStore(path).load('k')).toEqual(JSON.parse(JSON.stringify(data)));
	});
});

describe("sqliteStore with concurrency: 'last-writer-wins'", () => {
	it('eight instances writing one session: every save lands, and what is stored is one whole snapshot', async () => {
		const path = file();
		const stores = Array.from({ length: 8 }, () => sqliteStore(path, { concurrency: 'last-writer-wins' }));
		await stores[0]!.save('s', emptySession());
		const landed: string[][] = [];
		await Promise.all(
			stores.map(async (store, w) => {
				for (let t = 0; t < 15; t++) {
					const d = (await store.load('s'))!;
					d.entries.push({ type: 'message', id: `w${w}t${t}`, parentId: d.leafId, timestamp: '2026-01-01T00:00:00.000Z', message: { role: 'user', content: [] } } as never);
					d.leafId = `w${w}t${t}`;
					await store.save('s', d);
					landed.push(d.entries.map((e) => e.id));
				}
			}),
		);
		expect(landed.length).toBe(120);
		const stored = (await sqliteStore(path).load('s'))!;
		expect(landed.map((ids) => ids.join())).toContain(stored.entries.map((e) => e.id).join());
		for (const s of stores) await s.close();
	});
});
