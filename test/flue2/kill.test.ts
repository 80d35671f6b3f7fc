/**
 * The Flue 2 write commands killed with SIGKILL in the middle of their work. The database is
 * written by the real @flue/runtime 2.1.0 (the fixture's three instances, one with a batch in
 * parts and one with an attachment in parts, and 30 small ones, so that there is a middle to land
 * in). After every kill, each instance must be wholly there (the same content checksum as before)
 * or wholly gone (`doctor` finds no row of it left), and running the command again finishes it.
 * prune and reset are killed on SQLite and on MariaDB (`@flue/mysql`'s tables); `copy` and
 * `import` are killed the same way in transfer.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSessionCli } from '../support/cli.js';
import { cloneFlue2Tables, flue2Node, instanceChecksums, mysqlDatabase, mysqlServer, runFixtureApp, spawnCli, sqliteFixture, until } from './support.js';

type MysqlDb = Awaited<ReturnType<typeof mysqlDatabase>>;

interface Setup {
	node: string;
	/** The fixture's file with 30 more instances, closed (its WAL folded in). */
	file: string;
	work: string;
	server: string | null;
	serverReason: string;
	/** A MySQL database @flue/mysql made its tables in, once, for the MySQL targets to clone. */
	template: MysqlDb | null;
}
let setup: Setup | { reason: string };
const databases: MysqlDb[] = [];

const MANY = 30;

beforeAll(async () => {
	const node = await flue2Node();
	if (!node.ok) return void (setup = { reason: node.reason });
	const made = await sqliteFixture();
	if (!made.ok) return void (setup = { reason: made.reason });
	const file = made.value.url.slice('sqlite:'.length);
	await runFixtureApp(node.value, made.value.dir, 3, ['--sqlite', file, '--count', String(MANY)]);
	const db = new Database(file);
	db.pragma('wal_checkpoint(TRUNCATE)');
	db.close();
	const server = await mysqlServer();
	const work = mkdtempSync(join(tmpdir(), 'flue2-kill-'));
	let template: MysqlDb | null = null;
	if (server.ok) {
		template = await mysqlDatabase(server.value, `flue2_kill_template_${randomBytes(4).toString('hex')}`);
		databases.push(template);
		await runFixtureApp(node.value, mkdtempSync(join(work, 'mysql-template-')), 0, ['--mysql', template.url]);
	}
	setup = { node: node.value, file, work, server: server.ok ? server.value : null, serverReason: server.ok ? '' : server.reason, template };
}, 300_000);
afterAll(async () => {
	for (const db of databases) await db.drop();
});

function need(ctx: { skip(note?: string): never }): Setup {
	if ('reason' in setup) ctx.skip(setup.reason);
	return setup as Setup;
}

/** A copy of the database for one kill. */
function copyOf(s: Setup, name: string): string {
	const dir = join(s.work, name);
	mkdirSync(dir, { recursive: true });
	const file = join(dir, 'flue.db');
	copyFileSync(s.file, file);
	return file;
}

/** What `doctor --json` reports, by kind. */
async function doctorKinds(url: string, cwd: string): Promise<Record<string, number>> {
	const run = await runSessionCli(['doctor', url, '--json'], cwd);
	const kinds: Record<string, number> = {};
	for (const p of (JSON.parse(run.out) as { problems: Array<{ kind: string }> }).problems) kinds[p.kind] = (kinds[p.kind] ?? 0) + 1;
	return kinds;
}

function sqliteTables(file: string): string[] {
	const db = new Database(file, { readonly: true });
	try {
		return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'flue%' ORDER BY name").all() as Array<{ name: string }>).map(
			(r) => r.name,
		);
	} finally {
		db.close();
	}
}

/**
 * Prunes every instance of the database `target(k)` makes, killed right after the k-th progress
 * line (one each tenth of the instances), for several k; then a rerun on the last one finishes.
 */
async function pruneKilled(s: Setup, target: (k: number) => Promise<string>): Promise<void> {
	const before = await instanceChecksums(`sqlite:${s.file}`);
	expect(Object.keys(before)).toHaveLength(MANY + 3);
	let midway = 0;
	let url = '';
	for (const k of [1, 3, 6, 9]) {
		url = await target(k);
		expect(await instanceChecksums(url)).toEqual(before);
		const run = spawnCli(['prune', url, '--older-than', '1s', '--yes'], s.work);
		let seen = 0;
		await run.waitForLine((line) => /^prune: \d+\/\d+ instances/.test(line) && ++seen === k);
		run.child.kill('SIGKILL');
		const end = await run.exited;
		const held = await instanceChecksums(url);
		for (const [path, checksum] of Object.entries(held)) expect(checksum, `${path} after a kill at progress line ${k}`).toBe(before[path]);
		expect(await doctorKinds(url, s.work), `doctor after a kill at progress line ${k}`).toEqual({});
		const left = Object.keys(held).length;
		if (end === 'SIGKILL' && left > 0 && left < MANY + 3) midway++;
	}
	expect(midway).toBeGreaterThan(0);
	const again = await runSessionCli(['prune', url, '--older-than', '1s', '--yes'], s.work);
	expect(again.code, again.err).toBe(0);
	expect(await instanceChecksums(url)).toEqual({});
	expect(await doctorKinds(url, s.work)).toEqual({});
}

describe('prune killed with SIGKILL', () => {
	it('SQLite: every instance is whole or gone after each kill, doctor finds nothing left of the deleted ones, and a rerun finishes', async (ctx) => {
		const s = need(ctx);
		await pruneKilled(s, async (k) => `sqlite:${copyOf(s, `prune-${k}`)}`);
	}, 240_000);

	it('MariaDB: every instance is whole or gone after each kill, doctor finds nothing left of the deleted ones, and a rerun finishes', async (ctx) => {
		const s = need(ctx);
		if (!s.server) ctx.skip(s.serverReason);
		await pruneKilled(s, async () => {
			// The tables as @flue/mysql created them in the template, the instances copied in from the runtime's SQLite file.
			const db = await mysqlDatabase(s.server!, `flue2_prune_kill_${randomBytes(4).toString('hex')}`);
			databases.push(db);
			await cloneFlue2Tables(db, s.template!);
			const copy = await runSessionCli(['copy', `sqlite:${s.file}`, db.url], s.work);
			expect(copy.code, copy.err).toBe(0);
			return db.url;
		});
	}, 240_000);
});

describe('doctor --fix killed with SIGKILL', () => {
	it('SQLite: every orphan stream is repaired whole or not at all, the live instances are untouched, and a rerun finishes', async (ctx) => {
		const s = need(ctx);
		const before = await instanceChecksums(`sqlite:${s.file}`);
		const live = Object.fromEntries(Object.entries(before).filter(([path]) => !path.includes('/many-')));
		const batchesOf = (file: string) => {
			const db = new Database(file, { readonly: true });
			try {
				return Object.fromEntries(
					(
						db
							.prepare("SELECT path, count(*) AS n FROM flue_conversation_stream_batches WHERE path LIKE 'agents/fixture-agent/many-%' GROUP BY path")
							.all() as Array<{ path: string; n: number }>
					).map((r) => [r.path, r.n]),
				);
			} finally {
				db.close();
			}
		};
		let midway = 0;
		let url = '';
		for (const [i, delay] of [0, 0, 5, 15, 40].entries()) {
			const file = copyOf(s, `fix-${i}`);
			url = `sqlite:${file}`;
			// 30 instances lose their stream row (a hand edit, another tool): their batches become orphans.
			const db = new Database(file);
			db.prepare("DELETE FROM flue_conversation_streams WHERE path LIKE 'agents/fixture-agent/many-%'").run();
			db.close();
			const orphans = batchesOf(file);
			expect(Object.keys(orphans)).toHaveLength(MANY);
			const run = spawnCli(['doctor', url, '--fix'], s.work);
			// Killed once the first orphan is gone (plus a delay), while the others are being deleted.
			await until(() => Object.keys(batchesOf(file)).length < MANY, run.ended);
			await new Promise((r) => setTimeout(r, delay));
			run.child.kill('SIGKILL');
			const end = await run.exited;
			const now = batchesOf(file);
			for (const [path, n] of Object.entries(now)) expect(n, `${path} after a kill ${delay} ms in`).toBe(orphans[path]);
			expect(await instanceChecksums(url)).toEqual(live);
			// Left: the orphans not yet repaired (each whole), and the settled submissions of the removed streams, which --fix never deletes.
			const kinds = await doctorKinds(url, s.work);
			expect(Object.keys(kinds).sort()).toEqual(Object.keys(now).length > 0 ? ['orphan-batches', 'orphan-submissions'] : ['orphan-submissions']);
			expect(kinds['orphan-batches'] ?? 0).toBe(Object.keys(now).length);
			if (end === 'SIGKILL' && Object.keys(now).length > 0 && Object.keys(now).length < MANY) midway++;
		}
		expect(midway).toBeGreaterThan(0);
		const again = await runSessionCli(['doctor', url, '--fix'], s.work);
		expect(again.code).toBe(1);
		expect(await doctorKinds(url, s.work)).toEqual({ 'orphan-submissions': MANY });
		expect(await instanceChecksums(url)).toEqual(live);
	}, 240_000);
});

describe('reset killed with SIGKILL', () => {
	it('SQLite: the database is as it was or reset after each kill, never between, and a rerun finishes', async (ctx) => {
		const s = need(ctx);
		const before = await instanceChecksums(`sqlite:${s.file}`);
		const tables = sqliteTables(s.file);
		let killed = 0;
		let reset = 0;
		let file = '';
		for (const [i, delay] of [0, 0, 2, 5, 10, 20].entries()) {
			file = copyOf(s, `reset-${i}`);
			const exported = join(s.work, `reset-${i}.jsonl`);
			const run = spawnCli(['reset', `sqlite:${file}`, '--format', '1', '-o', exported, '--yes'], s.work);
			// The export is renamed into place when complete; the drop follows at once.
			await until(() => existsSync(exported), run.ended);
			await new Promise((r) => setTimeout(r, delay));
			run.child.kill('SIGKILL');
			if ((await run.exited) === 'SIGKILL') killed++;
			const now = sqliteTables(file);
			if (now.length === 1) {
				reset++;
				expect(now).toEqual(['flue_meta']);
				const db = new Database(file, { readonly: true });
				expect(db.prepare('SELECT key, value FROM flue_meta').all()).toEqual([{ key: 'format_version', value: '1' }]);
				db.close();
				// Reset only after the export was whole.
				expect(readFileSync(exported, 'utf8').trimEnd().split('\n').at(-1)).toBe(JSON.stringify({ end: true, instances: MANY + 3 }));
			} else {
				expect(now, `tables after a kill ${delay} ms after the export`).toEqual(tables);
				expect(await instanceChecksums(`sqlite:${file}`)).toEqual(before);
				expect(await doctorKinds(`sqlite:${file}`, s.work)).toEqual({});
			}
		}
		expect(killed).toBeGreaterThan(0);
		// The last copy, whichever state the kill left, is reset by running the command again.
		const again = await runSessionCli(['reset', `sqlite:${file}`, '--format', '1', '-o', join(s.work, 'reset-again.jsonl'), '--yes'], s.work);
		expect(again.code, again.err).toBe(0);
		expect(sqliteTables(file)).toEqual(['flue_meta']);
		await ctx.annotate(`${killed} kills, ${reset} left the database reset`);
	}, 240_000);

	it('MariaDB: the tables are swapped in one RENAME TABLE, so every kill leaves them as they were or reset; doctor reports what is left, --fix or a rerun drops it, and the runtime starts on it', async (ctx) => {
		const s = need(ctx);
		if (!s.server) ctx.skip(s.serverReason);
		const db = await mysqlDatabase(s.server!, `flue2_reset_kill_${randomBytes(4).toString('hex')}`);
		databases.push(db);
		const flueTables = async () =>
			(
				(await db.query(
					"SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'flue%' ORDER BY TABLE_NAME",
				)) as Array<{ t: string }>
			).map((r) => r.t);
		const fill = async () => {
			// The tables as @flue/mysql created them in the template, the instances copied in from the runtime's SQLite file.
			await cloneFlue2Tables(db, s.template!);
			const copy = await runSessionCli(['copy', `sqlite:${s.file}`, db.url], s.work);
			expect(copy.code, copy.err).toBe(0);
		};
		await fill();
		const before = await instanceChecksums(db.url);
		expect(Object.keys(before)).toHaveLength(MANY + 3);
		const tables = await flueTables();
		let killed = 0;
		const states = { old: 0, reset: 0 };
		let dropped = 0;
		for (const [i, delay] of [0, 0, 3, 8, 15, 30].entries()) {
			if (i > 0) {
				// Back to the full database for the next kill.
				for (const t of await flueTables()) await db.query(`DROP TABLE \`${t}\``);
				await fill();
			}
			const run = spawnCli(['reset', db.url, '--format', '1', '--no-export', '--yes'], s.work);
			// Killed once the reset has begun: its new stamp table exists, or the swap happened.
			await until(
				async () => (await flueTables()).some((t) => t.startsWith('flue_persist_reset_')) || !(await flueTables()).includes('flue_conversation_streams'),
				run.ended,
			);
			await new Promise((r) => setTimeout(r, delay));
			run.child.kill('SIGKILL');
			if ((await run.exited) === 'SIGKILL') killed++;
			// The server finishes the statement a killed client had sent (a RENAME TABLE that
			// information_schema shows half done while it runs): wait until it has closed its connections.
			await until(
				async () =>
					Number(
						(
							(await db.query('SELECT count(*) AS n FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID()')) as Array<{
								n: number;
							}>
						)[0]!.n,
					) === 0,
				() => false,
				30_000,
			);
			const now = (await flueTables()).filter((t) => !t.startsWith('flue_persist_reset_'));
			const leftovers = (await flueTables()).filter((t) => t.startsWith('flue_persist_reset_'));
			// doctor names every table the reset left, and nothing else.
			const report = await runSessionCli(['doctor', db.url, '--json'], s.work);
			const problems = (JSON.parse(report.out) as { problems: Array<{ kind: string; table: string }> }).problems;
			expect(problems.map((p) => `${p.kind} ${p.table}`).sort()).toEqual(leftovers.map((t) => `reset-leftover ${t}`).sort());
			if (now.length === 1) {
				states.reset++;
				expect(now).toEqual(['flue_meta']);
				expect(await db.query('SELECT `key`, value FROM flue_meta')).toEqual([{ key: 'format_version', value: '1' }]);
			} else {
				states.old++;
				expect(now, `tables after a kill ${delay} ms into the reset`).toEqual(tables);
				expect(await instanceChecksums(db.url)).toEqual(before);
			}
			// Every other kill, doctor --fix drops the leftovers and changes nothing else; the last one's go with a rerun of reset.
			if (leftovers.length > 0 && i % 2 === 1) {
				const fixed = await runSessionCli(['doctor', db.url, '--fix'], s.work);
				expect(fixed.code, fixed.out + fixed.err).toBe(0);
				expect(await flueTables()).toEqual(now);
				if (now.length > 1) expect(await instanceChecksums(db.url)).toEqual(before);
				expect(await doctorKinds(db.url, s.work)).toEqual({});
				dropped += leftovers.length;
			}
		}
		expect(killed).toBeGreaterThan(0);
		// Every kill lands after the reset made its stamp table, so the odd ones leave tables for --fix.
		expect(dropped).toBeGreaterThan(0);
		// The last kill's leftovers (moved-aside tables, an unswapped stamp table) go with a rerun.
		const again = await runSessionCli(['reset', db.url, '--format', '1', '--no-export', '--yes'], s.work);
		expect(again.code, again.err).toBe(0);
		expect(await flueTables()).toEqual(['flue_meta']);
		// @flue/mysql starts on the reset database and creates its tables; the instances come back whole.
		await runFixtureApp(s.node, mkdtempSync(join(s.work, 'mysql-start-')), 0, ['--mysql', db.url]);
		const back = await runSessionCli(['copy', `sqlite:${s.file}`, db.url], s.work);
		expect(back.code, back.err).toBe(0);
		expect(await instanceChecksums(db.url)).toEqual(before);
		await ctx.annotate(`${killed} kills: ${states.old} left the tables as they were, ${states.reset} reset; doctor --fix dropped ${dropped} leftover tables`);
	}, 300_000);
});
