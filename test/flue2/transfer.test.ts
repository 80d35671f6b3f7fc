/**
 * copy and import of Flue 2 instances, proven with the real runtime: a conversation held by
 * Flue 2's built-in sqlite() is copied to MariaDB and continued there by @flue/runtime 2.1.0 with
 * @flue/mysql, then copied back to a new sqlite() file and continued again; every time the fake
 * model receives every earlier message. On Postgres (no adapter on the registry, and none can be
 * assembled from the public API) the copy is read back through the runtime's public
 * `defineSqlConversationStreamStore`. The databases are made once for the whole file.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFlue2IfAny } from '../../src/cli/flue2/open.js';
import { exportFlue2Instance } from '../../src/flue2/export.js';
import { listFlue2Streams } from '../../src/flue2/format.js';
import { runSessionCli, scriptTerminal } from '../support/cli.js';
import { dropSchema, makePool, postgresUrl, uniqueSchema } from '../support/postgres.js';
import { capture } from '../support/spawn.js';
import {
	APP,
	cloneFlue2Tables,
	type Exchange,
	emptySqliteFile,
	type Flue2Fixture,
	flue2Node,
	instanceChecksums,
	mysqlDatabase,
	mysqlServer,
	POSTGRES_DDL,
	runFixtureApp,
	spawnCli,
	sqliteFixture,
	until,
} from './support.js';

const io = (cwd: string) => ({ out: () => undefined, err: () => undefined, env: {}, cwd });
type MysqlDb = Awaited<ReturnType<typeof mysqlDatabase>>;

interface Setup {
	node: string;
	source: Flue2Fixture;
	/** An empty Flue 2 SQLite file, its tables made by sqlite() (copied for each SQLite target). */
	emptySqlite: string;
	mysql: MysqlDb | null;
	mysqlReason: string;
	/** The MySQL server's URL, when one answers. */
	server: string | null;
	work: string;
}
let setup: Setup | { reason: string };
const extraMysql: MysqlDb[] = [];

beforeAll(async () => {
	const node = await flue2Node();
	if (!node.ok) return void (setup = { reason: node.reason });
	const made = await sqliteFixture();
	if (!made.ok) return void (setup = { reason: made.reason });
	const work = mkdtempSync(join(tmpdir(), 'flue2-transfer-'));
	const emptySqlite = await emptySqliteFile(node.value, work);
	const server = await mysqlServer();
	let mysql: MysqlDb | null = null;
	if (server.ok) {
		mysql = await mysqlDatabase(server.value, `flue2_copy_${randomBytes(4).toString('hex')}`);
		await runFixtureApp(node.value, mkdtempSync(join(work, 'mysql-')), 0, ['--mysql', mysql.url]);
	}
	setup = {
		node: node.value,
		source: made.value,
		emptySqlite,
		mysql,
		mysqlReason: server.ok ? '' : server.reason,
		server: server.ok ? server.value : null,
		work,
	};
}, 240_000);
afterAll(async () => {
	if ('node' in setup && setup.mysql) await setup.mysql.drop();
	for (const db of extraMysql) await db.drop();
});

function need(ctx: { skip(note?: string): never }): Setup {
	if ('reason' in setup) ctx.skip(setup.reason);
	return setup as Setup;
}
function needMysql(ctx: { skip(note?: string): never }): Setup & { mysql: MysqlDb } {
	const s = need(ctx);
	if (!s.mysql) ctx.skip(s.mysqlReason);
	return s as Setup & { mysql: MysqlDb };
}

/** A new SQLite target: the empty Flue 2 file sqlite() made, copied. */
function sqliteTarget(s: Setup, name: string): string {
	const dir = join(s.work, name);
	mkdirSync(dir, { recursive: true });
	copyFileSync(s.emptySqlite, join(dir, 'flue.db'));
	return join(dir, 'flue.db');
}

const contents = instanceChecksums;

/** Continues instance "alpha" on a database with the real runtime (phase 2 of the fixture app) and returns what the model received. */
async function resume(s: Setup, target: string[], name: string): Promise<Exchange[]> {
	const dir = join(s.work, name);
	mkdirSync(dir, { recursive: true });
	writeFileSync(join(dir, 'instances.json'), readFileSync(join(s.source.dir, 'instances.json')));
	await runFixtureApp(s.node, dir, 2, target);
	return JSON.parse(readFileSync(join(dir, 'model-log.json'), 'utf8')) as Exchange[];
}

/**
 * A request's messages with the system prompt's `Date:` line masked: the runtime builds the system
 * prompt at each request from today's date, so two requests made on either side of midnight differ
 * there and nowhere else. The stored conversation holds no system prompt.
 */
function undated(messages: Exchange['request']['messages']): Exchange['request']['messages'] {
	return messages.map((m) => (m.role === 'system' && typeof m.content === 'string' ? { ...m, content: m.content.replace(/^Date: .*$/m, 'Date: <today>') } : m));
}

/** The next turn's request carries the previous request and its answer, then the new message. */
function expectWholeHistory(previous: Exchange, next: Exchange): void {
	const before = previous.request.messages;
	expect(undated(next.request.messages.slice(0, before.length))).toEqual(undated(before));
	expect(next.request.messages[before.length]).toMatchObject({ role: 'assistant', content: previous.reply.text });
	expect(next.request.messages.at(-1)).toMatchObject({ role: 'user', content: [{ type: 'text', text: 'Are you still there?' }] });
	expect(next.request.messages).toHaveLength(before.length + 2);
}

let mysqlResume: Exchange | null = null;

describe('copy of Flue 2 instances, continued by the real runtime', () => {
	it('SQLite → MySQL: every instance whole and fenced, and @flue/mysql continues alpha with its whole history', async (ctx) => {
		const s = needMysql(ctx);
		const run = await runSessionCli(['copy', s.source.url, s.mysql.url], s.work);
		expect(run.err).toContain('3 instances written, 0 already there');
		expect(run.code).toBe(0);
		expect(await contents(s.mysql.url)).toEqual(await contents(s.source.url));
		// Fenced: no producer, an epoch above the source's; the incarnation (the instance uid) kept.
		const src = new Database(s.source.url.slice('sqlite:'.length), { readonly: true });
		const before = src.prepare('SELECT path, producer_epoch, incarnation, next_offset FROM flue_conversation_streams ORDER BY path').all() as Array<
			Record<string, unknown>
		>;
		src.close();
		const after = (await s.mysql.query(
			'SELECT path, producer_id, producer_epoch, incarnation, next_offset FROM flue_conversation_streams ORDER BY path',
		)) as Array<Record<string, unknown>>;
		expect(after.map((r) => [r.path, r.producer_id, Number(r.producer_epoch), r.incarnation, Number(r.next_offset)])).toEqual(
			before.map((r) => [r.path, null, Number(r.producer_epoch) + 1, r.incarnation, Number(r.next_offset)]),
		);
		const log = await resume(s, ['--mysql', s.mysql.url], 'resume-mysql');
		expect(log).toHaveLength(1);
		expectWholeHistory(s.source.log.filter((e) => e.phase === 2).at(-1)!, log[0]!);
		expect(log[0]!.reply.text).toBe('Yes, I remember 3 earlier messages.');
		mysqlResume = log[0]!;
	}, 120_000);

	it('running the copy again resumes it: instances already there are skipped as unchanged', async (ctx) => {
		const s = needMysql(ctx);
		const target = sqliteTarget(s, 'again');
		expect((await runSessionCli(['copy', s.source.url, `sqlite:${target}`], s.work)).code).toBe(0);
		const run = await runSessionCli(['copy', s.source.url, `sqlite:${target}`], s.work);
		expect(run.code).toBe(0);
		expect(run.err).toContain('0 instances written, 3 already there');
	});

	it('MySQL → SQLite: the large batch is split into parts again, and sqlite() continues alpha with its whole history', async (ctx) => {
		const s = needMysql(ctx);
		if (!mysqlResume) ctx.skip('the MySQL resume did not run');
		const target = sqliteTarget(s, 'back');
		const run = await runSessionCli(['copy', s.mysql.url, `sqlite:${target}`], s.work);
		expect(run.code).toBe(0);
		expect(await contents(`sqlite:${target}`)).toEqual(await contents(s.mysql.url));
		const db = new Database(target, { readonly: true });
		const parts = db.prepare("SELECT count(*) AS n FROM flue_conversation_stream_batch_chunks WHERE path = 'agents/fixture-agent/alpha'").get() as {
			n: number;
		};
		const attachmentParts = db.prepare("SELECT count(*) AS n FROM flue_attachment_chunks WHERE stream_path = 'agents/fixture-agent/beta'").get() as {
			n: number;
		};
		db.close();
		expect(parts.n).toBeGreaterThanOrEqual(3);
		expect(attachmentParts.n).toBe(2);
		const log = await resume(s, ['--sqlite', target], 'resume-sqlite');
		expect(log).toHaveLength(1);
		expectWholeHistory(mysqlResume!, log[0]!);
		expect(log[0]!.reply.text).toBe('Yes, I remember 4 earlier messages.');
	}, 120_000);

	it("SQLite → Postgres: the runtime's public stream reader reads back every record, and show folds the same conversation", async (ctx) => {
		const s = need(ctx);
		const schema = uniqueSchema('flue2copy');
		const pool: pg.Pool = makePool();
		try {
			await pool.query(`CREATE SCHEMA "${schema}"`);
			const client = await pool.connect();
			try {
				await client.query(`SET search_path TO "${schema}"`);
				for (const statement of POSTGRES_DDL) await client.query(statement);
				await client.query("INSERT INTO flue_meta (key, value) VALUES ('format_version', '1')");
			} finally {
				client.release();
			}
			const url = new URL(postgresUrl());
			url.searchParams.set('schema', schema);
			const run = await runSessionCli(['copy', s.source.url, url.toString()], s.work);
			expect(run.code).toBe(0);
			expect(await contents(url.toString())).toEqual(await contents(s.source.url));
			const paths = ['agents/fixture-agent/alpha', 'agents/fixture-agent/beta', 'agents/compacting-agent/gamma'];
			const read = await capture(s.node, [join(APP, 'read-stream.mjs'), '--postgres', url.toString(), ...paths], {
				cwd: APP,
				env: { ...process.env, NODE_OPTIONS: '' },
			});
			expect(read.code, read.stderr).toBe(0);
			const streams = JSON.parse(read.stdout) as Record<
				string,
				{ meta: { incarnation: string; nextOffset: string }; batches: Array<{ offset: string; records: unknown[] }> }
			>;
			const src = new Database(s.source.url.slice('sqlite:'.length), { readonly: true });
			try {
				for (const path of paths) {
					const line = await (async () => {
						const db = await openFlue2IfAny(io(s.work), s.source.url);
						try {
							return await exportFlue2Instance(db!.sql, (await listFlue2Streams(db!.sql)).find((x) => x.path === path)!);
						} finally {
							await db!.close();
						}
					})();
					expect(streams[path]!.meta.incarnation).toBe(line.data.stream.incarnation);
					expect(streams[path]!.batches.map((b) => b.records)).toEqual(line.data.batches.map((b) => JSON.parse(b.data)));
				}
			} finally {
				src.close();
			}
			for (const id of ['alpha', 'beta', 'gamma']) {
				const there = await runSessionCli(['show', url.toString(), id, '--json'], s.work);
				const here = await runSessionCli(['show', s.source.url, id, '--json'], s.work);
				expect(JSON.parse(there.out).conversations).toEqual(JSON.parse(here.out).conversations);
			}
		} finally {
			await dropSchema(pool, schema);
			await pool.end();
		}
	}, 120_000);
});

describe('import of a Flue 2 export', () => {
	it('imports every instance, skips and reports one held with other content, and replaces it with --overwrite', async (ctx) => {
		const s = need(ctx);
		const file = join(s.work, 'export.jsonl');
		expect((await runSessionCli(['export', s.source.url, '-o', file], s.work)).code).toBe(0);
		const target = sqliteTarget(s, 'import');
		const first = await runSessionCli(['import', `sqlite:${target}`, file], s.work);
		expect(first.err).toContain('3 instances written, 0 already there');
		expect(first.code).toBe(0);
		expect(await contents(`sqlite:${target}`)).toEqual(await contents(s.source.url));
		const db = new Database(target);
		db.prepare(
			"DELETE FROM flue_conversation_stream_batches WHERE path = 'agents/fixture-agent/beta' AND seq = (SELECT max(seq) FROM flue_conversation_stream_batches WHERE path = 'agents/fixture-agent/beta')",
		).run();
		db.prepare("UPDATE flue_conversation_streams SET next_offset = next_offset - 1 WHERE path = 'agents/fixture-agent/beta'").run();
		db.close();
		const second = await runSessionCli(['import', `sqlite:${target}`, file], s.work);
		expect(second.code).toBe(1);
		expect(second.err).toContain('0 instances written, 2 already there, 1 left as they were');
		expect(second.err).toContain('"fixture-agent/beta"');
		expect(second.err).toContain(`--overwrite`);
		const third = await runSessionCli(['import', `sqlite:${target}`, file, '--overwrite'], s.work);
		expect(third.code).toBe(0);
		expect(third.err).toContain('1 replaced, 2 already there');
		expect(await contents(`sqlite:${target}`)).toEqual(await contents(s.source.url));
	});

	it('--agent copies and imports only the instances of that agent; a session store refuses it', async (ctx) => {
		const s = need(ctx);
		const all = await contents(s.source.url);
		const of = (agent: string, prefix = '') => Object.fromEntries(Object.entries(all).filter(([path]) => path.startsWith(`agents/${agent}/${prefix}`)));
		expect(Object.keys(of('compacting-agent'))).toHaveLength(1);
		expect(Object.keys(of('fixture-agent'))).toHaveLength(2);
		const copied = sqliteTarget(s, 'agent-copy');
		const copy = await runSessionCli(['copy', s.source.url, `sqlite:${copied}`, '--agent', 'compacting-agent'], s.work);
		expect(copy.code, copy.err).toBe(0);
		expect(copy.err).toContain('1 instance written, 0 already there');
		expect(await contents(`sqlite:${copied}`)).toEqual(of('compacting-agent'));
		const none = await runSessionCli(['copy', s.source.url, `sqlite:${copied}`, '--agent', 'no-such-agent'], s.work);
		expect(none.code).toBe(0);
		expect(none.err).toContain('0 instances written, 0 already there');
		const file = join(s.work, 'agent-export.jsonl');
		expect((await runSessionCli(['export', s.source.url, '-o', file], s.work)).code).toBe(0);
		const imported = sqliteTarget(s, 'agent-import');
		const first = await runSessionCli(['import', `sqlite:${imported}`, file, '--agent', 'fixture-agent', '--prefix', 'be'], s.work);
		expect(first.code, first.err).toBe(0);
		expect(first.err).toContain('1 instance written, 0 already there');
		expect(await contents(`sqlite:${imported}`)).toEqual(of('fixture-agent', 'be'));
		const second = await runSessionCli(['import', `sqlite:${imported}`, file, '--agent', 'fixture-agent'], s.work);
		expect(second.code, second.err).toBe(0);
		expect(second.err).toContain('1 instance written, 1 already there');
		expect(await contents(`sqlite:${imported}`)).toEqual(of('fixture-agent'));
		const plain = join(s.work, 'sessions.db');
		new Database(plain).close();
		const refused = await runSessionCli(['copy', `sqlite:${plain}`, `sqlite:${join(s.work, 'sessions-copy.db')}`, '--agent', 'fixture-agent'], s.work);
		expect(refused.code).toBe(2);
		expect(refused.err).toContain('--agent applies to Flue 2 databases only');
		expect(existsSync(join(s.work, 'sessions-copy.db'))).toBe(false);
	});

	it('a file with a changed instance is refused by line before anything is written', async (ctx) => {
		const s = need(ctx);
		const file = join(s.work, 'export-bad.jsonl');
		expect((await runSessionCli(['export', s.source.url, '-o', file], s.work)).code).toBe(0);
		const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
		lines[1] = lines[1]!.replace('Tell me about shipping', 'Tell me about shopping');
		expect(lines[1]).toContain('shopping');
		writeFileSync(file, `${lines.join('\n')}\n`);
		const target = sqliteTarget(s, 'import-bad');
		const run = await runSessionCli(['import', `sqlite:${target}`, file], s.work);
		expect(run.code).toBe(1);
		expect(run.err).toMatch(/line 2 of .*checksum does not match/);
		expect(await contents(`sqlite:${target}`)).toEqual({});
	});

	it('a file whose header names another export format or version is refused before anything is written', async (ctx) => {
		const s = need(ctx);
		const file = join(s.work, 'export-header.jsonl');
		expect((await runSessionCli(['export', s.source.url, '-o', file], s.work)).code).toBe(0);
		const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
		const header = JSON.parse(lines[0]!) as Record<string, unknown>;
		for (const [change, message] of [
			[{ version: 2 }, 'the export is format version 2; this release reads version 1. Upgrade flue-persist to import it.'],
			[{ format: 'another-tool' }, 'this is not a flue-persist export'],
		] as const) {
			writeFileSync(file, `${[JSON.stringify({ ...header, ...change }), ...lines.slice(1)].join('\n')}\n`);
			const target = sqliteTarget(s, `import-header-${Object.keys(change)[0]}`);
			const run = await runSessionCli(['import', `sqlite:${target}`, file], s.work);
			expect(run.code, message).toBe(1);
			expect(run.err, message).toContain(message);
			expect(run.err, message).toContain('Nothing was imported.');
			expect(await contents(`sqlite:${target}`)).toEqual({});
		}
	});

	it('a target stamped with another format is refused and left unchanged', async (ctx) => {
		const s = need(ctx);
		const target = sqliteTarget(s, 'stamp');
		const db = new Database(target);
		db.prepare("UPDATE flue_meta SET value = '2' WHERE key = 'format_version'").run();
		db.close();
		const run = await runSessionCli(['copy', s.source.url, `sqlite:${target}`], s.work);
		expect(run.code).toBe(1);
		expect(run.err).toContain('stamped format_version "2"');
		const after = new Database(target, { readonly: true });
		expect((after.prepare('SELECT count(*) AS n FROM flue_conversation_streams').get() as { n: number }).n).toBe(0);
		after.close();
	});

	it('a database without Flue 2 tables is refused with the remedy', async (ctx) => {
		const s = need(ctx);
		const file = join(s.work, 'plain.db');
		new Database(file).close();
		const run = await runSessionCli(['copy', s.source.url, `sqlite:${file}`], s.work);
		expect(run.code).toBe(1);
		expect(run.err).toContain('Start your Flue app once on this database');
	});
});

describe('a copy killed with SIGKILL', () => {
	it('leaves every instance at the target whole, and running it again finishes it', async (ctx) => {
		const s = needMysql(ctx);
		const target = await mysqlDatabase(s.server!, `flue2_kill_${randomBytes(4).toString('hex')}`);
		extraMysql.push(target);
		// The runtime's tables, made like the first MySQL target's (by @flue/mysql at startup).
		await cloneFlue2Tables(target, s.mysql);
		const want = await contents(s.source.url);
		const streamRows = async () => Number(((await target.query('SELECT count(*) AS n FROM flue_conversation_streams')) as Array<{ n: number }>)[0]!.n);
		let killedMidway = 0;
		for (const delay of [900, 1300, 1700, 2100, 2500, 2900]) {
			const had = await streamRows();
			const run = spawnCli(['copy', s.source.url, target.url], s.work);
			// Killed as soon as the target holds at least one stream row of this run, or after the delay.
			await until(async () => (await streamRows()) > had, run.ended, delay);
			run.child.kill('SIGKILL');
			if ((await run.exited) === 'SIGKILL') killedMidway++;
			const held = await contents(target.url);
			for (const [path, checksum] of Object.entries(held)) expect(checksum, `${path} after a kill at ${delay} ms`).toBe(want[path]);
			await target.query('DELETE FROM flue_conversation_stream_batches');
			await target.query('DELETE FROM flue_attachments');
			await target.query('DELETE FROM flue_agent_submissions');
			await target.query('DELETE FROM flue_conversation_streams');
		}
		expect(killedMidway).toBeGreaterThan(0);
		const run = await runSessionCli(['copy', s.source.url, target.url], s.work);
		expect(run.code).toBe(0);
		expect(await contents(target.url)).toEqual(want);
	}, 180_000);
});

/** Runs the CLI in-process with a terminal whose clock is `ahead` ms in the future and no stdin terminal. */
async function runLater(argv: string[], cwd: string, ahead: number): Promise<{ code: number; out: string; err: string }> {
	return runSessionCli(argv, cwd, { ...scriptTerminal(), now: () => Date.now() + ahead });
}

/** Plants a queued (unsettled) submission of fixture-agent's `instance` in a SQLite file, as the runtime's queue holds one while it works. */
function queueSubmission(file: string, instance: string): void {
	const db = new Database(file);
	db.prepare(
		"INSERT INTO flue_agent_submissions (submission_id, session_key, kind, payload, status, accepted_at) VALUES ('sub_open', ?, 'dispatch', '{}', 'queued', 1)",
	).run(`agent-session:${JSON.stringify(['fixture-agent', instance, 'default', 'default'])}`);
	db.close();
}

const DAY = 86_400_000;

describe('prune of a Flue 2 database', () => {
	it('deletes whole old instances in one transaction each, keeps one with an unsettled submission, and asks first', async (ctx) => {
		const s = need(ctx);
		const target = sqliteTarget(s, 'prune');
		expect((await runSessionCli(['copy', s.source.url, `sqlite:${target}`], s.work)).code).toBe(0);
		const url = `sqlite:${target}`;
		const before = await contents(url);
		// Nothing is a day old yet.
		const none = await runLater(['prune', url, '--older-than', '1d', '--yes'], s.work, 0);
		expect(none.code).toBe(0);
		expect(none.err).toContain('No instance');
		const dry = await runLater(['prune', url, '--older-than', '1d', '--dry-run'], s.work, 2 * DAY);
		expect(dry.code).toBe(0);
		expect(dry.err).toContain('3 instances');
		expect(dry.err).toContain('Dry run: nothing was deleted.');
		expect(await contents(url)).toEqual(before);
		const asked = await runLater(['prune', url, '--older-than', '1d'], s.work, 2 * DAY);
		expect(asked.code).toBe(1);
		expect(asked.err).toContain('stdin is not a terminal');
		expect(asked.err).toContain('--older-than 1d --yes');
		expect(await contents(url)).toEqual(before);
		// An unsettled submission of beta: the runtime may be working on it.
		queueSubmission(target, 'beta');
		const onlyGamma = await runLater(['prune', url, '--older-than', '1d', '--agent', 'compacting-agent', '--yes'], s.work, 2 * DAY);
		expect(onlyGamma.code).toBe(0);
		expect(onlyGamma.err).toContain('Deleted 1 instance.');
		expect(Object.keys(await contents(url)).sort()).toEqual(['agents/fixture-agent/alpha', 'agents/fixture-agent/beta']);
		const rest = await runLater(['prune', url, '--older-than', '1d', '--yes'], s.work, 2 * DAY);
		expect(rest.code).toBe(0);
		expect(rest.err).toContain('Deleted 1 instance.');
		expect(rest.err).toMatch(/1 instance with submissions the runtime has not settled is kept[\s\S]*fixture-agent\/beta/);
		const after = await contents(url);
		expect(after).toEqual({ 'agents/fixture-agent/beta': before['agents/fixture-agent/beta'] });
		const left = new Database(target, { readonly: true });
		const paths = (table: string, column = 'path') =>
			(left.prepare(`SELECT DISTINCT ${column} AS p FROM ${table}`).all() as Array<{ p: string }>).map((r) => r.p).sort();
		expect(paths('flue_conversation_stream_batches')).toEqual(['agents/fixture-agent/beta']);
		expect(paths('flue_conversation_stream_batch_chunks')).toEqual([]);
		expect(paths('flue_attachments', 'stream_path')).toEqual(['agents/fixture-agent/beta']);
		const keys = (left.prepare('SELECT session_key FROM flue_agent_submissions').all() as Array<{ session_key: string }>).map(
			(r) => JSON.parse(r.session_key.slice('agent-session:'.length))[1],
		);
		left.close();
		expect(new Set(keys)).toEqual(new Set(['beta']));
		expect((await runSessionCli(['doctor', url], s.work)).code).toBe(0);
	});
});

describe('rm of a Flue 2 database', () => {
	it('deletes whole instances by id after asking; an unknown id or an unsettled submission deletes nothing', async (ctx) => {
		const s = need(ctx);
		const target = sqliteTarget(s, 'rm');
		expect((await runSessionCli(['copy', s.source.url, `sqlite:${target}`], s.work)).code).toBe(0);
		const url = `sqlite:${target}`;
		const before = await contents(url);
		const typo = await runSessionCli(['rm', url, 'alpah', '--yes'], s.work);
		expect(typo.code).toBe(1);
		expect(typo.err).toContain('Nothing was deleted: "alpah" is not an instance');
		expect(typo.err).toContain('The closest instances there: "fixture-agent/alpha"');
		const mixed = await runSessionCli(['rm', url, 'alpha', 'nobody/else', '--yes'], s.work);
		expect(mixed.code).toBe(1);
		expect(mixed.err).toContain('"nobody/else" is not an instance');
		const asked = await runSessionCli(['rm', url, 'gamma'], s.work);
		expect(asked.code).toBe(1);
		expect(asked.err).toContain('compacting-agent/gamma  (last active');
		expect(asked.err).toContain('stdin is not a terminal');
		expect(asked.err).toContain(`flue-persist rm ${url} compacting-agent/gamma --yes`);
		const flags = await runSessionCli(['rm', url, 'gamma', '--table', 'x', '--yes'], s.work);
		expect(flags.code).not.toBe(0);
		expect(flags.err).toContain('--layout and --table apply to flue-persist session stores only');
		expect(await contents(url)).toEqual(before);
		// An unsettled submission of beta: the runtime may be working on it, so not even alpha goes.
		queueSubmission(target, 'beta');
		const busy = await runSessionCli(['rm', url, 'alpha', 'beta', '--yes'], s.work);
		expect(busy.code).toBe(1);
		expect(busy.err).toContain('Nothing was deleted: "fixture-agent/beta" has submissions the runtime has not settled');
		expect(await contents(url)).toEqual(before);
		const done = await runSessionCli(['rm', url, 'fixture-agent/alpha', 'gamma', 'alpha', '--yes'], s.work);
		expect(done.err).toContain('Deleted 2 instances.');
		expect(done.code).toBe(0);
		expect(await contents(url)).toEqual({ 'agents/fixture-agent/beta': before['agents/fixture-agent/beta'] });
		// No row of the deleted instances is left behind: doctor finds nothing.
		const doctor = await runSessionCli(['doctor', url], s.work);
		expect(doctor.out).toContain('No damage found.');
		expect(doctor.code).toBe(0);
	});

	it('MySQL: deletes one instance whole and leaves the others as they were', async (ctx) => {
		const s = needMysql(ctx);
		const db = await mysqlDatabase(s.server!, `flue2_rm_${randomBytes(4).toString('hex')}`);
		extraMysql.push(db);
		await cloneFlue2Tables(db, s.mysql);
		expect((await runSessionCli(['copy', s.source.url, db.url], s.work)).code).toBe(0);
		const before = await contents(db.url);
		const run = await runSessionCli(['rm', db.url, 'beta', '--yes'], s.work);
		expect(run.err).toContain('Deleted 1 instance.');
		expect(run.code).toBe(0);
		const { 'agents/fixture-agent/beta': _gone, ...rest } = before;
		expect(await contents(db.url)).toEqual(rest);
		const doctor = await runSessionCli(['doctor', db.url], s.work);
		expect(doctor.out).toContain('No damage found.');
	});
});

describe('prune while the runtime appends (Postgres)', () => {
	it("waits for the stream row's lock, as the runtime's append takes it, and keeps the instance that append made active", async (ctx) => {
		const s = need(ctx);
		const schema = uniqueSchema('flue2lock');
		const pool: pg.Pool = makePool();
		const runtime = await pool.connect();
		try {
			await pool.query(`CREATE SCHEMA "${schema}"`);
			await runtime.query(`SET search_path TO "${schema}"`);
			for (const statement of POSTGRES_DDL) await runtime.query(statement);
			await runtime.query("INSERT INTO flue_meta (key, value) VALUES ('format_version', '1')");
			const url = new URL(postgresUrl());
			url.searchParams.set('schema', schema);
			expect((await runSessionCli(['copy', s.source.url, url.toString()], s.work)).code).toBe(0);
			const path = 'agents/fixture-agent/beta';
			const before = await contents(url.toString());
			// What the runtime's append does (its SQL stream store): lock the stream row, insert the
			// next batch, advance next_offset, commit. Here the batch is the runtime's own last batch of
			// beta, its records stamped now, and the commit waits until prune is under way.
			await runtime.query('BEGIN');
			const [meta] = (await runtime.query('SELECT next_offset, producer_id, producer_epoch FROM flue_conversation_streams WHERE path = $1 FOR UPDATE', [path]))
				.rows as Array<{ next_offset: string; producer_id: string | null; producer_epoch: string }>;
			const prune = runLater(['prune', url.toString(), '--older-than', '1s', '--prefix', 'beta', '--yes'], s.work, 0);
			let settled = false;
			void prune.then(() => (settled = true));
			await new Promise((r) => setTimeout(r, 1500));
			expect(settled, 'prune finished while the stream row was locked').toBe(false);
			const [last] = (await runtime.query('SELECT data FROM flue_conversation_stream_batches WHERE path = $1 ORDER BY seq DESC LIMIT 1', [path]))
				.rows as Array<{ data: string }>;
			const records = (JSON.parse(last!.data) as Array<Record<string, unknown>>).map((r) => ({ ...r, timestamp: new Date().toISOString() }));
			const seq = Number(meta!.next_offset);
			await runtime.query(
				'INSERT INTO flue_conversation_stream_batches (path, seq, producer_id, producer_epoch, producer_sequence, data) VALUES ($1, $2, $3, $4, $5, $6)',
				[path, seq, meta!.producer_id ?? 'p', meta!.producer_epoch, 0, JSON.stringify(records)],
			);
			await runtime.query('UPDATE flue_conversation_streams SET next_offset = next_offset + 1 WHERE path = $1', [path]);
			await runtime.query('COMMIT');
			const run = await prune;
			expect(run.code, run.err).toBe(0);
			expect(run.err).toContain('1 instance active again (or deleted) since the listing was left alone');
			const after = await contents(url.toString());
			expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
			const [n] = (await runtime.query('SELECT count(*)::int AS n FROM flue_conversation_stream_batches WHERE path = $1', [path])).rows as Array<{ n: number }>;
			expect(n!.n).toBe(seq + 1);
			expect((await runSessionCli(['doctor', url.toString()], s.work)).code).toBe(0);
		} finally {
			runtime.release();
			await dropSchema(pool, schema);
			await pool.end();
		}
	}, 60_000);
});

describe('reset of a Flue 2 database', () => {
	it('asks first, exports, drops and restamps; the runtime starts on it and the export imports back and continues', async (ctx) => {
		const s = need(ctx);
		const target = sqliteTarget(s, 'reset');
		const url = `sqlite:${target}`;
		expect((await runSessionCli(['copy', s.source.url, url], s.work)).code).toBe(0);
		const before = await contents(url);
		const unknown = await runLater(['reset', url, '--format', '2', '--yes'], s.work, 0);
		expect(unknown.code).toBe(2);
		expect(unknown.err).toContain('is not a Flue 2 format flue-persist knows');
		const asked = await runLater(['reset', url, '--format', '1', '-o', 'reset.jsonl'], s.work, 0);
		expect(asked.code).toBe(1);
		expect(asked.err).toContain('stdin is not a terminal');
		expect(asked.err).toContain('--format 1 -o reset.jsonl --yes');
		expect(await contents(url)).toEqual(before);
		const done = await runLater(['reset', url, '--format', '1', '-o', 'reset.jsonl', '--yes'], s.work, 0);
		expect(done.code, done.err).toBe(0);
		expect(done.err).toContain('flue-persist import');
		const db = new Database(target, { readonly: true });
		expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'flue%'").all()).toEqual([{ name: 'flue_meta' }]);
		expect(db.prepare('SELECT key, value FROM flue_meta').all()).toEqual([{ key: 'format_version', value: '1' }]);
		db.close();
		// The state reset leaves is a known one: every command reads it as an empty database, and a
		// second reset finishes; an import waits for the runtime's tables and writes nothing.
		const ls = await runSessionCli(['ls', url], s.work);
		expect([ls.code, ls.out]).toEqual([0, '0 instances, 0 B (Flue 2 database)\n']);
		const doctor = await runSessionCli(['doctor', url], s.work);
		expect(doctor.code, doctor.out + doctor.err).toBe(0);
		expect(doctor.out).toContain('No damage found.');
		expect((await runSessionCli(['export', url, '-o', 'reset-empty.jsonl'], s.work)).code).toBe(0);
		expect((await runSessionCli(['prune', url, '--older-than', '1d', '--yes'], s.work)).code).toBe(0);
		const early = await runSessionCli(['import', url, join(s.work, 'reset.jsonl')], s.work);
		expect(early.code).toBe(1);
		expect(early.err).toContain("holds the Flue 2 format stamp but not yet Flue's tables");
		expect(early.err).toContain('Start the Flue app on it once');
		const twice = await runLater(['reset', url, '--format', '1', '-o', 'reset-twice.jsonl', '--yes'], s.work, 0);
		expect(twice.code, twice.err).toBe(0);
		// The runtime accepts the restamped database and creates its tables; the export goes back in.
		await runFixtureApp(s.node, mkdtempSync(join(s.work, 'reset-start-')), 0, ['--sqlite', target]);
		const back = await runSessionCli(['import', url, join(s.work, 'reset.jsonl')], s.work);
		expect(back.code, back.err).toBe(0);
		expect(await contents(url)).toEqual(before);
		const log = await resume(s, ['--sqlite', target], 'resume-reset');
		expectWholeHistory(s.source.log.filter((e) => e.phase === 2).at(-1)!, log[0]!);
	}, 120_000);

	it('a database stamped with a format flue-persist cannot read is reset only with --no-export', async (ctx) => {
		const s = need(ctx);
		const target = sqliteTarget(s, 'reset-unknown');
		const db = new Database(target);
		db.prepare("UPDATE flue_meta SET value = '7' WHERE key = 'format_version'").run();
		db.close();
		const refused = await runLater(['reset', `sqlite:${target}`, '--format', '1', '--yes'], s.work, 0);
		expect(refused.code).toBe(1);
		expect(refused.err).toContain('cannot export it first');
		expect(refused.err).toContain('--format 1 --no-export');
		const done = await runLater(['reset', `sqlite:${target}`, '--format', '1', '--no-export', '--yes'], s.work, 0);
		expect(done.code, done.err).toBe(0);
		const after = new Database(target, { readonly: true });
		expect(after.prepare('SELECT value FROM flue_meta').all()).toEqual([{ value: '1' }]);
		after.close();
	});
});

describe('an import killed with SIGKILL', () => {
	it('leaves every instance in the SQLite target whole, and running it again finishes it', async (ctx) => {
		const s = need(ctx);
		const file = join(s.work, 'kill-import.jsonl');
		expect((await runSessionCli(['export', s.source.url, '-o', file], s.work)).code).toBe(0);
		const want = await contents(s.source.url);
		let killedMidway = 0;
		let target = '';
		for (const [i, delay] of [0, 50, 150, 300, 600].entries()) {
			target = sqliteTarget(s, `kill-import-${i}`);
			const run = spawnCli(['import', `sqlite:${target}`, file], s.work);
			// Killed a little after the import opened the target for writing (its -wal file appears), however slow the start.
			await until(() => existsSync(`${target}-wal`), run.ended, 30_000);
			await new Promise((r) => setTimeout(r, delay));
			run.child.kill('SIGKILL');
			if ((await run.exited) === 'SIGKILL') killedMidway++;
			// What a killed writer left (its WAL included) is read as the next reader sees it.
			const held = await contents(`sqlite:${target}`);
			for (const [path, checksum] of Object.entries(held)) expect(checksum, `${path} after a kill at ${delay} ms`).toBe(want[path]);
			expect((await runSessionCli(['doctor', `sqlite:${target}`], s.work)).code, `doctor after a kill at ${delay} ms`).toBe(0);
		}
		expect(killedMidway).toBeGreaterThan(0);
		const run = await runSessionCli(['import', `sqlite:${target}`, file], s.work);
		expect(run.code).toBe(0);
		expect(await contents(`sqlite:${target}`)).toEqual(want);
	}, 180_000);
});
