/**
 * `doctor` on databases with damage planted by raw SQL: each kind is found with its session id,
 * the command exits 1, `--fix` repairs exactly the kinds that need no guess, and a second run
 * reports only what was left. SQLite (both layouts in one file) and Postgres.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresStore } from '../../src/backends/postgres/index.js';
import { sqliteStore } from '../../src/backends/sqlite/index.js';
import { conversation, entryId } from '../../src/conformance/fixtures.js';
import type { Problem } from '../../src/tools/doctor.js';
import { runSessionCli } from '../support/cli.js';
import { dropSchema, makePool, postgresUrl, uniqueSchema } from '../support/postgres.js';

const dir = mkdtempSync(join(tmpdir(), 'flue-persist-doctor-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (argv: string[]) => runSessionCli(argv, dir);

interface DoctorJson {
	checked: Array<{ table: string; layout: string; sessions: number }>;
	problems: Problem[];
	incomplete: string | null;
}

async function doctorJson(url: string, fix = false): Promise<{ code: number; report: DoctorJson }> {
	const { code, out } = await cli(['doctor', url, '--json', ...(fix ? ['--fix'] : [])]);
	return { code, report: JSON.parse(out) as DoctorJson };
}

const kinds = (problems: Problem[]) => problems.map((p) => `${p.sessionId ?? '(database)'}: ${p.kind}`).sort();

/** A session whose tool result (3,000 bytes) is split into parts when values are cut at 1,024 bytes. */
const large = () => conversation(2, { toolBytes: 3000 });

describe('doctor on SQLite', () => {
	const file = join(dir, 'damaged.db');
	const url = `sqlite:${file}`;

	it('finds each kind of damage with its session, exits 1, fixes what needs no guess and leaves the rest', async () => {
		const log = sqliteStore(file, { layout: 'log', chunkBytes: 1024 });
		const blob = sqliteStore(file, { layout: 'blob', chunkBytes: 1024 });
		const wholeBlob = sqliteStore(file, { layout: 'blob' });
		for (const id of ['ok-log', 'parent-missing', 'bad-entry-json', 'count-wrong', 'parent-column']) await log.save(id, conversation(2));
		for (const id of ['extra-parts', 'missing-parts']) await log.save(id, large());
		for (const id of ['ok-blob', 'chunks-missing', 'chunks-extra']) await blob.save(id, large());
		for (const id of ['leaf-missing', 'garbage']) await wholeBlob.save(id, conversation(2));
		await log.save('both', conversation(2));
		await blob.save('both', conversation(3));
		await log.save('same-both', conversation(1));
		await blob.save('same-both', conversation(1));
		await log.close();
		await blob.close();
		await wholeBlob.close();

		const db = new Database(file);
		const run = (sql: string, ...params: unknown[]) => db.prepare(sql).run(...params);
		const partsOf = (id: string) =>
			db.prepare(`SELECT entry_id, max(parts) AS parts FROM flue_sessions_entries WHERE session_id = ? AND parts > 1 GROUP BY entry_id`).get(id) as {
				entry_id: string;
				parts: number;
			};
		const chunksOf = (id: string) => (db.prepare('SELECT count(*) AS n FROM flue_sessions_chunks WHERE id = ?').get(id) as { n: number }).n;
		run(
			`UPDATE flue_sessions_entries SET data = json_set(data, '$.parentId', 'nope'), parent_id = 'nope' WHERE session_id = 'parent-missing' AND entry_id = ?`,
			entryId(2),
		);
		run(`UPDATE flue_sessions_entries SET data = '{"type":"message",' WHERE session_id = 'bad-entry-json' AND entry_id = ?`, entryId(1));
		run(`UPDATE flue_sessions_log SET entry_count = 99 WHERE id = 'count-wrong'`);
		run(`UPDATE flue_sessions_entries SET parent_id = 'zzz' WHERE session_id = 'parent-column' AND entry_id = ?`, entryId(1));
		const split = partsOf('extra-parts');
		expect(split.parts).toBeGreaterThanOrEqual(3);
		run(
			`INSERT INTO flue_sessions_entries (session_id, entry_id, part, parts, pos, parent_id, data) SELECT session_id, entry_id, parts, parts, pos, parent_id, 'stray' FROM flue_sessions_entries WHERE session_id = 'extra-parts' AND entry_id = ? AND part = 0`,
			split.entry_id,
		);
		run(`DELETE FROM flue_sessions_entries WHERE session_id = 'missing-parts' AND entry_id = ? AND part = 1`, partsOf('missing-parts').entry_id);
		run(`INSERT INTO flue_sessions_entries (session_id, entry_id, part, parts, pos, parent_id, data) VALUES ('ghost', 'e1', 0, 1, 0, NULL, '{}')`);
		run(`UPDATE flue_sessions SET data = json_set(data, '$.leafId', 'gone') WHERE id = 'leaf-missing'`);
		run(`UPDATE flue_sessions SET data = '{not json' WHERE id = 'garbage'`);
		expect(chunksOf('chunks-missing')).toBeGreaterThanOrEqual(3);
		run(`DELETE FROM flue_sessions_chunks WHERE id = 'chunks-missing' AND seq = 1`);
		run(`INSERT INTO flue_sessions_chunks (id, seq, data) VALUES ('chunks-extra', ?, 'stray')`, chunksOf('chunks-extra'));
		run(`INSERT INTO flue_sessions_chunks (id, seq, data) VALUES ('ghost-blob', 0, 'stray')`);
		db.close();

		// The store itself refuses the sessions whose rows are out of line.
		const before = sqliteStore(file, { layout: 'log' });
		await expect(before.load('extra-parts')).rejects.toMatchObject({ code: 'CORRUPT', sessionId: 'extra-parts' });
		await before.close();

		const found = await doctorJson(url);
		expect(found.code).toBe(1);
		expect(found.report.checked).toEqual([
			{ table: 'flue_sessions', layout: 'blob', sessions: 7 },
			{ table: 'flue_sessions', layout: 'log', sessions: 9 },
		]);
		const fixable = [
			'count-wrong: entry-count-wrong',
			'parent-column: parent-column-wrong',
			'extra-parts: parts-extra',
			'ghost: entries-orphan',
			'chunks-extra: chunks-extra',
			'ghost-blob: chunks-orphan',
		];
		const left = [
			'parent-missing: parent-missing',
			'bad-entry-json: row-unparseable',
			'missing-parts: parts-missing',
			'leaf-missing: leaf-missing',
			'garbage: row-unparseable',
			'chunks-missing: chunks-missing',
			'both: copies-disagree',
		];
		expect(kinds(found.report.problems)).toEqual([...fixable, ...left].sort());
		for (const p of found.report.problems) expect(p.fixable).toBe(fixable.includes(`${p.sessionId}: ${p.kind}`));
		expect(found.report.problems.find((p) => p.kind === 'parent-missing')!.detail).toBe(
			`entry "${entryId(2)}" names parent "nope", which is not in the session`,
		);

		// The same findings for a person: session, kind, table, and what --fix would do.
		const text = await cli(['doctor', url]);
		expect(text.code).toBe(1);
		expect(text.out).toContain(`✗ session "chunks-extra" · chunks-extra · flue_sessions_chunks`);
		expect(text.out).toContain('--fix will delete the chunk rows beyond the declared count');
		expect(text.out).toContain(
			`✗ session "leaf-missing" · leaf-missing · flue_sessions\n    the leaf "gone" is not an entry of the session\n    left as it is:`,
		);
		expect(text.out).toContain('13 problems in 13 sessions: 6 can be repaired with --fix, 7 cannot.');

		const fixed = await doctorJson(url, true);
		expect(fixed.code).toBe(1);
		for (const p of fixed.report.problems) expect(p.fixed === true).toBe(fixable.includes(`${p.sessionId}: ${p.kind}`));
		const fixText = await cli(['doctor', url, '--fix']);
		expect(fixText.out).toContain('7 problems in 7 sessions: 0 fixed, 7 left.');

		const after = await doctorJson(url);
		expect(after.code).toBe(1);
		expect(kinds(after.report.problems)).toEqual(left.sort());

		// The repaired sessions load again; the stray rows are gone.
		const logStore = sqliteStore(file, { layout: 'log' });
		const blobStore = sqliteStore(file, { layout: 'blob' });
		expect(await logStore.load('extra-parts')).toEqual(large());
		expect((await logStore.load('parent-column'))!.entries[1]!.parentId).toBe(entryId(0));
		expect(await blobStore.load('chunks-extra')).toEqual(large());
		await logStore.close();
		await blobStore.close();
		const check = new Database(file, { readonly: true });
		expect(check.prepare(`SELECT count(*) AS n FROM flue_sessions_entries WHERE session_id = 'ghost'`).get()).toEqual({ n: 0 });
		expect(check.prepare(`SELECT count(*) AS n FROM flue_sessions_chunks WHERE id = 'ghost-blob'`).get()).toEqual({ n: 0 });
		expect(check.prepare(`SELECT entry_count FROM flue_sessions_log WHERE id = 'count-wrong'`).get()).toEqual({ entry_count: 8 });
		check.close();
	});

	it('a healthy database: no damage found, exit 0', async () => {
		const store = sqliteStore(join(dir, 'healthy.db'));
		await store.save('a', conversation(3));
		await store.save('b', large());
		await store.close();
		const { code, out } = await cli(['doctor', `sqlite:${join(dir, 'healthy.db')}`]);
		expect(out).toBe(`Checked sqlite:${join(dir, 'healthy.db')}: table flue_sessions (log layout): 2 sessions.\nNo damage found.\n`);
		expect(code).toBe(0);
	});

	it('a missing format stamp is found and stamped; a newer one is reported and nothing else is read', async () => {
		const missing = join(dir, 'no-stamp.db');
		const newer = join(dir, 'newer.db');
		for (const f of [missing, newer]) {
			const store = sqliteStore(f);
			await store.save('a', conversation(1));
			await store.close();
		}
		new Database(missing).prepare(`DELETE FROM flue_persist_meta WHERE key = 'format_version'`).run();
		new Database(newer).prepare(`UPDATE flue_persist_meta SET value = '99' WHERE key = 'format_version'`).run();

		const m = await doctorJson(`sqlite:${missing}`);
		expect(m.code).toBe(1);
		expect(kinds(m.report.problems)).toEqual(['(database): format-stamp-missing']);
		const mFixed = await doctorJson(`sqlite:${missing}`, true);
		expect(mFixed.code).toBe(0);
		expect(mFixed.report.problems[0]!.fixed).toBe(true);
		expect((await doctorJson(`sqlite:${missing}`)).report.problems).toEqual([]);

		for (const fix of [false, true]) {
			const n = await doctorJson(`sqlite:${newer}`, fix);
			expect(n.code).toBe(1);
			expect(kinds(n.report.problems)).toEqual(['(database): format-stamp-newer']);
			expect(n.report.problems[0]!.detail).toContain('stamped format 99');
			expect(n.report.checked).toEqual([]);
			expect(n.report.incomplete).toContain('no rows were checked');
		}
		expect(new Database(newer, { readonly: true }).prepare(`SELECT value FROM flue_persist_meta WHERE key = 'format_version'`).get()).toEqual({ value: '99' });
	});
});

describe('doctor on Postgres', () => {
	const pool = makePool(undefined, 4);
	const schema = uniqueSchema('doctor');
	afterAll(async () => {
		await dropSchema(pool, schema);
		await pool.end();
	});

	it('finds damage in both layouts, fixes the counters and the parent_id column and the stamp, leaves the rest', async () => {
		// The log tables first: a log store refuses to start next to a blob table that holds sessions.
		const log = postgresStore(pool, { layout: 'log', schema });
		for (const id of ['ok', 'parent-missing', 'bad-entry-json', 'count-wrong', 'parent-column']) await log.save(id, conversation(2));
		await log.save('both', conversation(2));
		const blob = postgresStore(pool, { layout: 'blob', schema });
		await blob.save('leaf-missing', conversation(2));
		await blob.save('ok-blob', conversation(2));
		await blob.save('both', conversation(3));
		await log.close();
		await blob.close();
		const q = (sql: string, params: unknown[] = []) => pool.query(sql.replaceAll('S.', `"${schema}".`), params);
		await q(
			`UPDATE S.flue_sessions_entries SET data = jsonb_set(data::jsonb, '{parentId}', '"nope"')::text, parent_id = 'nope' WHERE session_id = 'parent-missing' AND entry_id = $1`,
			[entryId(2)],
		);
		await q(`UPDATE S.flue_sessions_entries SET data = '{oops' WHERE session_id = 'bad-entry-json' AND entry_id = $1`, [entryId(1)]);
		await q(`UPDATE S.flue_sessions_log SET entry_count = 1 WHERE id = 'count-wrong'`);
		await q(`UPDATE S.flue_sessions_entries SET parent_id = 'zzz' WHERE session_id = 'parent-column' AND entry_id = $1`, [entryId(1)]);
		await q(`UPDATE S.flue_sessions SET data = jsonb_set(data, '{leafId}', '"gone"') WHERE id = 'leaf-missing'`);
		await q(`DELETE FROM S.flue_persist_meta WHERE key = 'format_version'`);

		const url = new URL(postgresUrl());
		url.searchParams.set('schema', schema);
		const found = await doctorJson(url.toString());
		expect(found.code).toBe(1);
		const fixable = ['(database): format-stamp-missing', 'count-wrong: entry-count-wrong', 'parent-column: parent-column-wrong'];
		const left = ['parent-missing: parent-missing', 'bad-entry-json: row-unparseable', 'leaf-missing: leaf-missing', 'both: copies-disagree'];
		expect(kinds(found.report.problems)).toEqual([...fixable, ...left].sort());
		expect(found.report.checked).toEqual([
			{ table: 'flue_sessions', layout: 'blob', sessions: 3 },
			{ table: 'flue_sessions', layout: 'log', sessions: 6 },
		]);

		const fixed = await doctorJson(url.toString(), true);
		expect(fixed.code).toBe(1);
		for (const p of fixed.report.problems) expect(p.fixed === true).toBe(fixable.includes(`${p.sessionId ?? '(database)'}: ${p.kind}`));
		const after = await doctorJson(url.toString());
		expect(kinds(after.report.problems)).toEqual(left.sort());
		const { rows } = await q(`SELECT parent_id FROM S.flue_sessions_entries WHERE session_id = 'parent-column' AND entry_id = $1`, [entryId(1)]);
		expect(rows).toEqual([{ parent_id: entryId(0) }]);
	});
});
