/**
 * The read commands on Postgres. Flue 2's Postgres adapter (2.x) is not on the registry here, so
 * the rows the real runtime wrote on SQLite are loaded into Postgres tables of that adapter's
 * layout (the same tables and columns; values inline, without part tables; BIGINT, TEXT and
 * BYTEA), in a schema of their own. Every command must then say on Postgres what it says on
 * SQLite: the same instances, the same fold, the same export checksums.
 */
import Database from 'better-sqlite3';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSessionCli } from '../support/cli.js';
import { dropSchema, makePool, postgresUrl, uniqueSchema } from '../support/postgres.js';
import { POSTGRES_DDL as DDL, type Flue2Fixture, type Maybe, sqliteFixture } from './support.js';

/** Copies what the runtime wrote on SQLite into the Postgres layout, joining parts as that adapter stores values whole. */
async function load(pool: pg.Pool, schema: string, file: string): Promise<void> {
	const db = new Database(file, { readonly: true });
	const client = await pool.connect();
	try {
		await client.query(`SET search_path TO "${schema}"`);
		for (const statement of DDL) await client.query(statement);
		const copy = async (table: string, rows: Array<Record<string, unknown>>) => {
			for (const row of rows) {
				const columns = Object.keys(row);
				await client.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`, Object.values(row));
			}
		};
		const all = (sql: string, ...params: unknown[]) => db.prepare(sql).all(...params) as Array<Record<string, unknown>>;
		await copy('flue_meta', all('SELECT * FROM flue_meta'));
		await copy('flue_agent_submissions', all('SELECT * FROM flue_agent_submissions'));
		await copy('flue_submission_chunks', all('SELECT * FROM flue_submission_chunks'));
		await copy('flue_conversation_streams', all('SELECT * FROM flue_conversation_streams'));
		const batches = all('SELECT * FROM flue_conversation_stream_batches').map((b) => {
			const parts = all('SELECT data FROM flue_conversation_stream_batch_chunks WHERE path = ? AND seq = ? ORDER BY chunk_index', b.path, b.seq);
			return parts.length > 0 ? { ...b, data: parts.map((p) => p.data).join('') } : b;
		});
		await copy('flue_conversation_stream_batches', batches);
		const attachments = all('SELECT * FROM flue_attachments').map(({ chunk_count: _count, ...a }) => ({
			...a,
			bytes: Buffer.concat(
				all('SELECT bytes FROM flue_attachment_chunks WHERE stream_path = ? AND attachment_id = ? ORDER BY chunk_index', a.stream_path, a.attachment_id).map(
					(c) => c.bytes as Buffer,
				),
			),
		}));
		await copy('flue_attachments', attachments);
	} finally {
		client.release();
		db.close();
	}
}

let fixture: Maybe<Flue2Fixture & { pgUrl: string }>;
let pool: pg.Pool | null = null;
const schema = uniqueSchema('flue2');

beforeAll(async () => {
	const made = await sqliteFixture();
	if (!made.ok) {
		fixture = made;
		return;
	}
	pool = makePool();
	await pool.query(`CREATE SCHEMA "${schema}"`);
	await load(pool, schema, made.value.url.slice('sqlite:'.length));
	const url = new URL(postgresUrl());
	url.searchParams.set('schema', schema);
	fixture = { ok: true, value: { ...made.value, pgUrl: url.toString() } };
}, 180_000);
afterAll(async () => {
	if (pool) {
		await dropSchema(pool, schema);
		await pool.end();
	}
});

function need(ctx: { skip(note?: string): never }): Flue2Fixture & { pgUrl: string } {
	if (!fixture.ok) ctx.skip(fixture.reason);
	return (fixture as { value: Flue2Fixture & { pgUrl: string } }).value;
}

const cli = (fx: Flue2Fixture, ...argv: string[]) => runSessionCli(argv, fx.dir);

describe('a Flue 2 database on Postgres', () => {
	it('ls and show --json say on Postgres what they say on SQLite', async (ctx) => {
		const fx = need(ctx);
		const drop = (rows: Array<Record<string, unknown>>) => rows.map(({ bytes: _bytes, streamBytes: _streamBytes, ...r }) => r);
		const onPg = JSON.parse((await cli(fx, 'ls', fx.pgUrl, '--json')).out) as Array<Record<string, unknown>>;
		const onSqlite = JSON.parse((await cli(fx, 'ls', fx.url, '--json')).out) as Array<Record<string, unknown>>;
		expect(drop(onPg)).toEqual(drop(onSqlite));
		expect(onPg.map((r) => r.instanceId)).toEqual(['gamma', 'alpha', 'beta']);
		for (const id of ['alpha', 'beta', 'gamma']) {
			const pgShow = await cli(fx, 'show', fx.pgUrl, id, '--json');
			expect(pgShow.code).toBe(0);
			expect(JSON.parse(pgShow.out)).toEqual(JSON.parse((await cli(fx, 'show', fx.url, id, '--json')).out));
			expect((JSON.parse(pgShow.out) as { conversations: Array<{ messages: unknown[] }> }).conversations[0]!.messages).toEqual(
				fx.snapshots[id as 'alpha' | 'beta' | 'gamma'].messages,
			);
		}
	});

	it('export gives the same instances, checksums included, as on SQLite', async (ctx) => {
		const fx = need(ctx);
		const lines = async (url: string) =>
			(await cli(fx, 'export', url)).out
				.trimEnd()
				.split('\n')
				.slice(1)
				.map((l) => JSON.parse(l) as Record<string, unknown>);
		const onPg = await lines(fx.pgUrl);
		expect(onPg.at(-1)).toEqual({ end: true, instances: 3 });
		expect(onPg).toEqual(await lines(fx.url));
	});

	it('doctor finds no damage, then a gap in the offsets and an attachment whose bytes do not match their digest', async (ctx) => {
		const fx = need(ctx);
		expect((await cli(fx, 'doctor', fx.pgUrl)).code).toBe(0);
		const saved = await pool!.query(`SELECT * FROM "${schema}".flue_conversation_stream_batches WHERE path = 'agents/fixture-agent/alpha' AND seq = 2`);
		await pool!.query(`DELETE FROM "${schema}".flue_conversation_stream_batches WHERE path = 'agents/fixture-agent/alpha' AND seq = 2`);
		await pool!.query(`UPDATE "${schema}".flue_attachments SET bytes = overlay(bytes placing '\\x00'::bytea from 100)`);
		try {
			const run = await cli(fx, 'doctor', fx.pgUrl, '--json');
			expect(run.code).toBe(1);
			const problems = (JSON.parse(run.out) as { problems: Array<{ kind: string; sessionId: string; detail: string }> }).problems;
			expect(problems.map((p) => [p.kind, p.sessionId])).toEqual([
				['offset-gap', 'fixture-agent/alpha'],
				['attachment-damaged', 'fixture-agent/beta'],
			]);
			expect(problems[1]!.detail).toContain('does not match its digest');
		} finally {
			const row = saved.rows[0] as Record<string, unknown>;
			const columns = Object.keys(row);
			await pool!.query(
				`INSERT INTO "${schema}".flue_conversation_stream_batches (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
				Object.values(row),
			);
		}
	});
});
