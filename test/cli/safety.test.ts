import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../src/backends/sqlite/index.js';
import { conversation, entryId } from '../../src/conformance/fixtures.js';
import type { Problem } from '../../src/tools/doctor.js';
import { parseStoreUrl, redactUrl } from '../../src/tools/open-store.js';
import { runSessionCli } from '../support/cli.js';
import { caught } from '../support/errors.js';
import { fileDigest } from '../support/files.js';
import { dropSchema, makePool, postgresUrl, uniqueSchema } from '../support/postgres.js';

const dir = mkdtempSync(join(tmpdir(), 'flue-persist-safety-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (argv: string[]) => runSessionCli(argv, dir);
const filesBeside = (name: string) =>
	readdirSync(dir)
		.filter((f) => f.startsWith(name))
		.sort();

function schemaOf(file: string): string {
	const db = new Database(file, { readonly: true });
	try {
		return JSON.stringify(db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all());
	} finally {
		db.close();
	}
}

/** A Flue session as Flue's own Durable Object store writes it: one JSON row, no flue-persist tables. */
function flueDatabase(name: string): string {
	const file = join(dir, name);
	const db = new Database(file);
	db.exec('CREATE TABLE flue_sessions (id TEXT PRIMARY KEY, data TEXT NOT NULL, updated_at INTEGER NOT NULL)');
	db.prepare('INSERT INTO flue_sessions (id, data, updated_at) VALUES (?, ?, ?)').run(
		'agent-session:["demo","t1"]',
		JSON.stringify(conversation(2)),
		1_700_000_000_000,
	);
	db.close();
	return file;
}

describe('identifiers from the database never become SQL', () => {
	it('Postgres: a table named to smuggle a DROP into doctor, ls and export drops nothing', async () => {
		const pool = makePool();
		const schema = uniqueSchema('smuggle');
		try {
			await pool.query(`CREATE SCHEMA "${schema}"`);
			await pool.query(`CREATE TABLE "${schema}".victim (n int)`);
			// The name closes the quote, so the first statement reads table x (which exists) and a second one follows.
			await pool.query(`CREATE TABLE "${schema}".x (n int)`);
			await pool.query(`INSERT INTO "${schema}".victim VALUES (1)`);
			const evil = 'x"; DROP TABLE victim; --';
			await pool.query(`CREATE TABLE "${schema}"."${evil.replace(/"/g, '""')}" (id text PRIMARY KEY, data jsonb NOT NULL, updated_at bigint NOT NULL)`);
			// search_path so that an unqualified DROP TABLE victim would find it.
			const url = new URL(postgresUrl());
			url.searchParams.set('schema', schema);
			url.searchParams.set('options', `-c search_path=${schema}`);
			for (const argv of [
				['doctor', url.toString()],
				['doctor', url.toString(), '--fix'],
				['ls', url.toString()],
				['export', url.toString()],
			]) {
				const result = await cli(argv);
				expect(result.code, argv.join(' ')).toBe(1);
				const { rows } = await pool.query(`SELECT to_regclass('"${schema}".victim') IS NOT NULL AS present`);
				expect(rows[0].present, `after ${argv[0]}`).toBe(true);
			}
			const doctor = await cli(['doctor', url.toString(), '--json']);
			const report = JSON.parse(doctor.out) as { problems: Problem[] };
			expect(report.problems.map((p) => [p.kind, p.table])).toEqual([['table-name-unsafe', evil]]);
		} finally {
			await dropSchema(pool, schema);
			await pool.end();
		}
	});

	it('SQLite: a table named a"b next to the sessions does not break doctor; it is reported and skipped', async () => {
		const file = join(dir, 'quote.db');
		const store = sqliteStore(file);
		await store.save('s1', conversation(2));
		await store.close();
		const db = new Database(file);
		db.exec('CREATE TABLE "a""b" (id TEXT PRIMARY KEY, data TEXT NOT NULL, updated_at INTEGER NOT NULL)');
		db.prepare(`INSERT INTO flue_persist_meta (key, value) VALUES ('layout:a"b:blob', 'present')`).run();
		db.close();
		const text = await cli(['doctor', `sqlite:${file}`]);
		expect(text.err).toBe('');
		expect(text.out).toContain('Checked sqlite:');
		expect(text.out).toContain('table flue_sessions (log layout): 1 session');
		expect(text.out).toContain('✗ database · table-name-unsafe · a"b');
		expect(text.code).toBe(1);
		const ls = await cli(['ls', `sqlite:${file}`]);
		expect(ls.code).toBe(0);
		expect(ls.out).toContain('s1');
	});
});

describe('a command acts only on tables it has identified, and a read never writes', () => {
	function appDatabase(name: string): string {
		const file = join(dir, name);
		const db = new Database(file);
		db.exec('CREATE TABLE events (id TEXT PRIMARY KEY, data TEXT NOT NULL, updated_at INTEGER NOT NULL)');
		const insert = db.prepare('INSERT INTO events (id, data, updated_at) VALUES (?, ?, ?)');
		for (let i = 0; i < 5; i++) insert.run(`evt-${i}`, JSON.stringify({ kind: 'click', entries: [] }), 1_600_000_000_000 + i);
		db.close();
		return file;
	}

	it('an application table shaped (id, data, updated_at) is refused by every command, and the file is left byte for byte', async () => {
		const file = appDatabase('app.db');
		const before = fileDigest(file);
		const schema = schemaOf(file);
		const url = `sqlite:${file}`;
		for (const argv of [
			['ls', url],
			['ls', url, '--table', 'events'],
			['show', url, 'evt-1'],
			['export', url],
			['doctor', url],
			['prune', url, '--older-than', '1d', '--dry-run'],
			['prune', url, '--older-than', '1d', '--yes'],
			['rm', url, 'evt-1', '--yes'],
			['import', url, join(dir, 'missing.jsonl')],
		]) {
			const result = await cli(argv);
			expect(result.code, argv.join(' ')).toBe(1);
			expect(fileDigest(file), `${argv.join(' ')} changed the file`).toBe(before);
		}
		expect(schemaOf(file)).toBe(schema);
		expect(filesBeside('app.db')).toEqual(['app.db']);
		const refused = await cli(['prune', url, '--older-than', '1d', '--yes']);
		expect(refused.err).toContain('events');
		expect(refused.err).toContain('not known to be a session table');
		const db = new Database(file, { readonly: true });
		expect(db.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 5 });
		db.close();
	});

	it('a copy or import does not write into an application table of the same name', async () => {
		const file = appDatabase('app-dest.db');
		const source = join(dir, 'source.db');
		const store = sqliteStore(source);
		await store.save('s1', conversation(1));
		await store.close();
		const before = fileDigest(file);
		const copy = await cli(['copy', '--from', `sqlite:${source}`, '--to', `sqlite:${file}?table=events&layout=blob`]);
		expect(copy.code).toBe(1);
		expect(copy.err).toContain('not a flue-persist or Flue session table');
		expect(fileDigest(file)).toBe(before);
	});

	it("Flue's own table is read without writing: ls and export leave the file as it was", async () => {
		const file = flueDatabase('flue.db');
		const before = fileDigest(file);
		const ls = await cli(['ls', `sqlite:${file}`]);
		expect(ls.code).toBe(0);
		expect(ls.out).toContain('agent-session:["demo","t1"]');
		const exported = await cli(['export', `sqlite:${file}`]);
		expect(exported.code).toBe(0);
		expect(exported.out.split('\n').filter(Boolean)).toHaveLength(3);
		const doctor = await cli(['doctor', `sqlite:${file}`]);
		expect(doctor.code).toBe(0);
		expect(fileDigest(file)).toBe(before);
		expect(filesBeside('flue.db')).toEqual(['flue.db']);
	});

	it('Postgres: ls on a schema holding only an application table refuses and creates nothing', async () => {
		const pool = makePool();
		const schema = uniqueSchema('app');
		try {
			await pool.query(`CREATE SCHEMA "${schema}"`);
			await pool.query(`CREATE TABLE "${schema}".events (id text PRIMARY KEY, data jsonb NOT NULL, updated_at bigint NOT NULL)`);
			await pool.query(`INSERT INTO "${schema}".events VALUES ('e1', '{"entries":[]}', 1)`);
			const url = `${postgresUrl()}${postgresUrl().includes('?') ? '&' : '?'}schema=${schema}`;
			for (const argv of [
				['ls', url],
				['ls', url, '--table', 'events'],
				['export', url],
				['prune', url, '--older-than', '1d', '--yes'],
			]) {
				const result = await cli(argv);
				expect(result.code, argv.join(' ')).toBe(1);
			}
			const { rows } = await pool.query('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name', [schema]);
			expect(rows.map((r) => r.table_name)).toEqual(['events']);
			expect((await pool.query(`SELECT count(*)::int AS n FROM "${schema}".events`)).rows[0].n).toBe(1);
		} finally {
			await dropSchema(pool, schema);
			await pool.end();
		}
	});
});

describe('stamps, parents and URLs that only look right', () => {
	it('a format stamp of " 1" is refused by the store and reported by doctor', async () => {
		const file = join(dir, 'stamp.db');
		const store = sqliteStore(file);
		await store.save('s1', conversation(1));
		await store.close();
		const db = new Database(file);
		db.prepare(`UPDATE flue_persist_meta SET value = ' 1' WHERE key = 'format_version'`).run();
		db.close();
		const reopened = sqliteStore(file);
		expect((await caught(reopened.load('s1'))).code).toBe('FORMAT_VERSION');
		await reopened.close();
		const { out } = await cli(['doctor', `sqlite:${file}`, '--json']);
		expect((JSON.parse(out) as { problems: Problem[] }).problems.map((p) => p.kind)).toEqual(['format-stamp-unknown']);
	});

	it('doctor reports an entry that is its own parent, or a cycle of parents, as a parent cycle', async () => {
		const file = join(dir, 'cycle.db');
		const store = sqliteStore(file, { layout: 'blob' });
		const self = conversation(2);
		self.entries[2]!.parentId = self.entries[2]!.id;
		await store.save('self', self);
		const loop = conversation(2);
		loop.entries[0]!.parentId = loop.entries[1]!.id;
		await store.save('loop', loop);
		await store.close();
		const { out } = await cli(['doctor', `sqlite:${file}`, '--json']);
		const problems = (JSON.parse(out) as { problems: Problem[] }).problems;
		expect(problems.map((p) => `${p.sessionId}: ${p.kind}`).sort()).toEqual(['loop: parent-cycle', 'self: parent-cycle']);
		expect(problems.find((p) => p.sessionId === 'self')!.detail).toBe(`entry "${entryId(2)}" names itself as its parent`);
	});

	it('a URL that gives a parameter twice is refused', () => {
		for (const text of ['postgres://u@h/db?schema=a&schema=b', 'sqlite:x.db?table=a&table=b', 'postgres://u@h/db?sslmode=require&sslmode=disable']) {
			expect(() => parseStoreUrl(text, dir)).toThrow(/given more than once/);
		}
	});

	it('redactUrl hides every password shape: user part, query parameter, @ / # ? in the password, unparseable URLs', () => {
		const cases: Array<[string, string]> = [
			['postgres://u:secret@host:5432/db', 'postgres://u:***@host:5432/db'],
			['postgres://u@host/db?password=secret', 'postgres://u@host/db?password=***'],
			['postgres://host/db?sslmode=require&PASSWORD=secret&x=1', 'postgres://host/db?sslmode=require&PASSWORD=***&x=1'],
			['postgres://host/db?sslpassword=secret', 'postgres://host/db?sslpassword=***'],
			['postgres://host/db?pass%77ord=secret', 'postgres://host/db?pass%77ord=***'],
			['postgres://u:pa@ss@host/db', 'postgres://u:***@host/db'],
			['postgres://u:pa/ss@host/db', 'postgres://u:***@host/db'],
			['postgres://u:pa#ss@host/db', 'postgres://u:***@host/db'],
			['postgres://u:pa?ss@host/db?schema=a', 'postgres://u:***@host/db?schema=a'],
			['postgresql://u:p%40ss@host/db', 'postgresql://u:***@host/db'],
			['postgres://u:sec ret@@host', 'postgres://u:***@host'],
			['sqlite:./data/sessions.db?table=t', 'sqlite:./data/sessions.db?table=t'],
		];
		for (const [text, shown] of cases) expect(redactUrl(text), text).toBe(shown);
		for (const text of ['postgres://u:S3cr/t@host/db', 'postgres://u:S3cr#t@host/db', 'postgres://u:S3cr?t@host/db', 'postgres://u:S3cr@t@host:x/db']) {
			let message = '';
			try {
				parseStoreUrl(text, dir);
			} catch (error) {
				message = (error as Error).message;
			}
			expect(message, text).not.toContain('S3cr');
		}
	});
});

describe('what a store holds never reaches the terminal raw', () => {
	const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
	const ids = ['evil\u001b]0;pwned\u0007', 'row\nforged  2026-01-01 00:00:00Z  9.9 KiB', 'bidi\u202egnp.exe', 'c1\u009b31m', 'del\u007f'];

	it('ls, rm, prune and doctor escape ids, details and messages; --json keeps them exact', async () => {
		const file = join(dir, 'escapes.db');
		const store = sqliteStore(file, { layout: 'blob' });
		for (const id of ids) await store.save(id, conversation(1));
		await store.close();
		const db = new Database(file);
		db.prepare('UPDATE flue_sessions SET updated_at = 1000000000000').run();
		db.prepare(`UPDATE flue_sessions SET data = json_set(data, '$.leafId', ?) WHERE id = ?`).run('gone\u001b[2J', ids[0]);
		db.close();
		const url = `sqlite:${file}`;

		const ls = await cli(['ls', url]);
		expect(ls.code).toBe(0);
		expect(ls.out).not.toMatch(RAW);
		expect(ls.out.trimEnd().split('\n')).toHaveLength(ids.length + 2);
		expect(ls.out).toContain('row\\nforged');
		expect(ls.out).toContain('evil\\x1b]0;pwned\\x07');
		expect(ls.out).toContain('bidi\\u202egnp.exe');
		const json = JSON.parse((await cli(['ls', url, '--json'])).out) as Array<{ id: string }>;
		expect(json.map((s) => s.id).sort()).toEqual([...ids].sort());

		const rm = await cli(['rm', url, ...ids]);
		expect(rm.code).toBe(1);
		expect(rm.err).not.toMatch(RAW);
		expect(rm.err).toContain(`$'row\\nforged  2026-01-01 00:00:00Z  9.9 KiB'`);
		const missing = await cli(['rm', url, 'gone\u202e\u001b[31m', '--yes']);
		expect(missing.code).toBe(1);
		expect(missing.err).not.toMatch(RAW);
		expect(missing.err).toContain('gone\\u202e\\u001b[31m');

		const prune = await cli(['prune', url, '--older-than', '1d', '--dry-run']);
		expect(prune.code).toBe(0);
		expect(prune.err).not.toMatch(RAW);
		expect(prune.err.split('\n').filter((l) => l.startsWith('  '))).toHaveLength(ids.length);

		const doctor = await cli(['doctor', url]);
		expect(doctor.code).toBe(1);
		expect(doctor.out).not.toMatch(RAW);
		expect(doctor.out).toContain('gone\\u001b[2J');
		const doctorJson = JSON.parse((await cli(['doctor', url, '--json'])).out) as { problems: Problem[] };
		expect(doctorJson.problems[0]!.sessionId).toBe(ids[0]);

		const exported = await cli(['export', url, '-o', 'escapes.jsonl']);
		expect(exported.code).toBe(0);
		const copy = await cli(['copy', '--from', url, '--to', `sqlite:${join(dir, 'escapes-copy.db')}`]);
		expect(copy.err).not.toMatch(RAW);
		const imported = await cli(['import', `sqlite:${join(dir, 'escapes-import.db')}`, 'escapes.jsonl']);
		expect(imported.code).toBe(0);
		expect(imported.err).not.toMatch(RAW);
	});
});

describe('export writes only its own new file', () => {
	it('a link planted at the old temporary name is not written through; no temporary file is left', async () => {
		const file = join(dir, 'exp.db');
		const store = sqliteStore(file);
		await store.save('s1', conversation(2));
		await store.close();
		const victim = join(dir, 'victim.txt');
		writeFileSync(victim, 'precious');
		symlinkSync(victim, join(dir, 'out.jsonl.partial'));
		const result = await cli(['export', `sqlite:${file}`, '-o', 'out.jsonl']);
		expect(result.code).toBe(0);
		expect(readFileSync(victim, 'utf8')).toBe('precious');
		expect(readFileSync(join(dir, 'out.jsonl'), 'utf8').split('\n').filter(Boolean)).toHaveLength(3);
		expect(readdirSync(dir).filter((f) => f.includes('out.jsonl') && f !== 'out.jsonl' && f !== 'out.jsonl.partial')).toEqual([]);
	});

	it('refuses to write the export over the database it reads, by its name or through a link, even with --force', async () => {
		const file = join(dir, 'self-export.db');
		const store = sqliteStore(file);
		await store.save('s1', conversation(2));
		await store.close();
		symlinkSync(file, join(dir, 'link-to-db.jsonl'));
		const before = fileDigest(file);
		for (const output of ['self-export.db', 'link-to-db.jsonl', `${file}-wal`]) {
			const result = await cli(['export', `sqlite:${file}`, '-o', output, '--force']);
			expect(result.code, output).toBe(1);
			expect(result.err).toContain('is the database being exported');
			expect(fileDigest(file)).toBe(before);
		}
	});
});
