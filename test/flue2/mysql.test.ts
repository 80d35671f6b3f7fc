/**
 * The read commands on a MySQL/MariaDB database written by the real Flue 2 runtime with
 * @flue/mysql (batches and attachments inline, no part tables). Skipped, with the reason, when no
 * MySQL server answers or no Node >= 22.19 can run the runtime.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFlue2IfAny } from '../../src/cli/flue2/open.js';
import { canonicalJson } from '../../src/tools/export-format.js';
import { runSessionCli } from '../support/cli.js';
import { expectedLines, type Flue2Fixture, type Maybe, mysqlFixture } from './support.js';

type Fixture = Flue2Fixture & { database: { url: string; drop(): Promise<void>; query(sql: string, params?: unknown[]): Promise<unknown[]> } };
let fixture: Maybe<Fixture>;
beforeAll(async () => {
	fixture = await mysqlFixture(`flue2_test_${randomBytes(4).toString('hex')}`);
}, 180_000);
afterAll(async () => {
	if (fixture?.ok) await fixture.value.database.drop();
});

function need(ctx: { skip(note?: string): never }): Fixture {
	if (!fixture.ok) ctx.skip(fixture.reason);
	return (fixture as { value: Fixture }).value;
}

const cli = (fx: Flue2Fixture, ...argv: string[]) => runSessionCli(argv, fx.dir);

describe('a Flue 2 MySQL database written by @flue/mysql', () => {
	it('ls lists both instances, the large batch counted in full', async (ctx) => {
		const fx = need(ctx);
		const run = await cli(fx, 'ls', fx.url, '--json', '--sort', 'time', '--reverse');
		expect(run.code).toBe(0);
		const rows = JSON.parse(run.out) as Array<Record<string, unknown>>;
		expect(rows.map((r) => [r.agent, r.instanceId, r.conversations, r.attachments, r.openSubmissions])).toEqual([
			['fixture-agent', 'beta', 2, 1, 0],
			['compacting-agent', 'gamma', 1, 0, 0],
			['fixture-agent', 'alpha', 1, 0, 0],
		]);
		for (const row of rows) {
			const [stored] = (await fx.database.query('SELECT count(*) AS n FROM flue_conversation_stream_batches WHERE path = ?', [row.path])) as Array<{
				n: number;
			}>;
			expect(row.batches).toBe(Number(stored!.n));
		}
		expect(rows[2]!.bytes as number).toBeGreaterThan(2_600_000);
		expect(rows[0]!.bytes as number).toBeGreaterThan(700_000);
	});

	it('show --json folds each instance into the runtime snapshot, message by message', async (ctx) => {
		const fx = need(ctx);
		for (const id of ['alpha', 'beta', 'gamma'] as const) {
			const folded = JSON.parse((await cli(fx, 'show', fx.url, id, '--json')).out) as { conversations: Array<{ conversationId: string; messages: unknown[] }> };
			const snapshot = fx.snapshots[id];
			expect(folded.conversations[0]!.conversationId).toBe(snapshot.conversationId);
			expect(folded.conversations[0]!.messages).toHaveLength(snapshot.messages.length);
			for (const [i, message] of snapshot.messages.entries()) expect(folded.conversations[0]!.messages[i], `${id} message ${i}`).toEqual(message);
		}
	});

	it('show prints what the fake model received and answered', async (ctx) => {
		const fx = need(ctx);
		let all = '';
		for (const id of ['alpha', 'beta', 'gamma']) all += (await cli(fx, 'show', fx.url, id, '--width', '100000')).out;
		for (const exchange of fx.log) for (const line of expectedLines(exchange)) expect(all).toContain(line);
		expect(all).toMatch(/task task_\S+ \(flue-general\), conversation conv_\S+\n {6}\[user\] Count the letters/);
	});

	it('export holds every batch exactly as MySQL stores it, with a valid checksum', async (ctx) => {
		const fx = need(ctx);
		const run = await cli(fx, 'export', fx.url);
		expect(run.code).toBe(0);
		const lines = run.out
			.trimEnd()
			.split('\n')
			.map((l) => JSON.parse(l) as Record<string, any>);
		expect(lines[0]).toMatchObject({ kind: 'flue2', source: { backend: 'mysql' } });
		expect(lines.at(-1)).toEqual({ end: true, instances: 3 });
		for (const line of lines.slice(1, -1)) {
			expect(line.checksum).toBe(
				`sha256:${createHash('sha256')
					.update(canonicalJson({ instance: line.instance, data: line.data }))
					.digest('hex')}`,
			);
			const stored = (await fx.database.query('SELECT seq, data FROM flue_conversation_stream_batches WHERE path = ? ORDER BY seq', [
				line.data.stream.path,
			])) as Array<{ seq: number; data: string }>;
			expect(line.data.batches.map((b: { seq: number; data: string }) => [b.seq, b.data])).toEqual(stored.map((r) => [Number(r.seq), r.data]));
			const attachments = (await fx.database.query('SELECT attachment_id, bytes FROM flue_attachments WHERE stream_path = ? ORDER BY attachment_id', [
				line.data.stream.path,
			])) as Array<{ attachment_id: string; bytes: Buffer }>;
			expect(line.data.attachments.map((a: { attachmentId: string; bytes: string }) => [a.attachmentId, a.bytes])).toEqual(
				attachments.map((a) => [a.attachment_id, a.bytes.toString('base64')]),
			);
		}
	});

	it('doctor finds no damage, then finds an orphan batch and a gap, and reports a wrong stamp', async (ctx) => {
		const fx = need(ctx);
		const clean = await cli(fx, 'doctor', fx.url);
		expect(clean.code).toBe(0);
		expect(clean.out).toContain('No damage found.');
		await fx.database.query(
			"INSERT INTO flue_conversation_stream_batches (path, seq, producer_id, producer_epoch, producer_sequence, data) VALUES ('agents/fixture-agent/ghost', 0, 'p', 1, 0, '[]')",
		);
		const saved = (await fx.database.query("SELECT * FROM flue_conversation_stream_batches WHERE path = 'agents/fixture-agent/beta' AND seq = 5")) as Array<
			Record<string, unknown>
		>;
		await fx.database.query("DELETE FROM flue_conversation_stream_batches WHERE path = 'agents/fixture-agent/beta' AND seq = 5");
		try {
			const damaged = await cli(fx, 'doctor', fx.url, '--json');
			expect(damaged.code).toBe(1);
			const kinds = (JSON.parse(damaged.out) as { problems: Array<{ kind: string; sessionId: string }> }).problems.map((p) => [p.kind, p.sessionId]);
			expect(kinds).toEqual([
				['offset-gap', 'fixture-agent/beta'],
				['orphan-batches', 'fixture-agent/ghost'],
			]);
			await fx.database.query("UPDATE flue_meta SET value = '7' WHERE `key` = 'format_version'");
			const refused = await cli(fx, 'show', fx.url, 'alpha');
			expect(refused.code).toBe(1);
			expect(refused.err).toContain('stamped format_version "7"');
			expect((await cli(fx, 'doctor', fx.url)).out).toContain('format-stamp-newer');
		} finally {
			await fx.database.query("UPDATE flue_meta SET value = '1' WHERE `key` = 'format_version'");
			await fx.database.query("DELETE FROM flue_conversation_stream_batches WHERE path = 'agents/fixture-agent/ghost'");
			const row = saved[0]!;
			await fx.database.query('INSERT INTO flue_conversation_stream_batches SET ?', [row]);
		}
		expect((await cli(fx, 'doctor', fx.url)).code).toBe(0);
	});

	it('the connection the read commands use refuses every write', async (ctx) => {
		const fx = need(ctx);
		const db = await openFlue2IfAny({ out: () => undefined, err: () => undefined, env: {}, cwd: fx.dir }, fx.url);
		try {
			await expect(db!.sql.query("INSERT INTO flue_meta (`key`, value) VALUES ('probe', 'x')")).rejects.toThrow(/READ ONLY transaction/);
			await expect(db!.sql.query("UPDATE flue_meta SET value = '9'")).rejects.toThrow(/READ ONLY transaction/);
		} finally {
			await db!.close();
		}
		const [stamp] = (await fx.database.query("SELECT value FROM flue_meta WHERE `key` = 'format_version'")) as Array<{ value: string }>;
		expect(stamp!.value).toBe('1');
	});

	it('a MySQL URL with a password is printed with the password hidden', async () => {
		const run = await runSessionCli(['ls', 'mysql://reader:s3cret-pw@127.0.0.1:1/flue'], process.cwd());
		expect(run.code).toBe(1);
		expect(run.err).toContain('cannot connect to mysql://reader:***@127.0.0.1:1/flue');
		expect(run.err).not.toContain('s3cret-pw');
	});

	it('a MySQL database without Flue 2 tables is refused with the reason', async (ctx) => {
		const fx = need(ctx);
		const url = new URL(fx.url);
		url.pathname = '/information_schema';
		const run = await cli(fx, 'ls', url.toString());
		expect(run.code).toBe(1);
		expect(run.err).toContain('holds no Flue 2 tables');
	});
});
