/**
 * Faults against a real server this file owns (even when DATABASE_URL is set): nothing listening
 * at startup, a connection killed in the middle of a save, and the server stopped and started
 * under load.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type PostgresClient, type PostgresStore, postgresStore } from '../../../src/backends/postgres/index.js';
import { exchange as turn } from '../../../src/conformance/fixtures.js';
import { conversation } from '../../../src/conformance/index.js';
import { type FluePersistError, isFluePersistError, type Layout } from '../../../src/index.js';
import { caught } from '../../support/errors.js';
import { freePort } from '../../support/net.js';
import { makePool, makeSql } from '../../support/postgres.js';
import { type EmbeddedServer, startEmbeddedPostgres } from '../../support/postgres-server.js';

const port = await freePort();
const url = `postgres://postgres:flue-persist-test@127.0.0.1:${port}/postgres`;
let server: EmbeddedServer | undefined;
const closers: Array<() => Promise<unknown>> = [];

async function ensureServer(): Promise<EmbeddedServer> {
	server ??= await startEmbeddedPostgres({ port });
	return server;
}

afterAll(async () => {
	for (const close of closers) await close().catch(() => undefined);
	await server?.destroy();
});

function clients(): Record<'pg Pool' | 'postgres.js', PostgresClient> {
	const pool = makePool(url, 4);
	const sql = makeSql(url, 4);
	closers.push(
		() => pool.end(),
		() => sql.end({ timeout: 1 }),
	);
	return { 'pg Pool': pool, 'postgres.js': sql };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('postgresStore: faults', () => {
	it('a server that is unreachable at startup: each call fails with BACKEND and its cause; the same store works once the server is up', async () => {
		expect(server).toBeUndefined();
		const stores = Object.entries(clients()).map(([name, client]) => [name, postgresStore(client, { schema: 'faults' })] as const);
		for (const [, store] of stores) {
			for (const call of [
				() => store.save('s', conversation(1)),
				() => store.load('s'),
				() => store.list(),
				() => store.migrate(),
				() => store.withSessionLock('s', async () => 1),
			]) {
				const error = await caught(call());
				expect(error.code).toBe('BACKEND');
				expect(error.message).toContain('cannot reach the Postgres server');
				expect(error.message).toContain('DATABASE_URL');
				expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
			}
		}
		await ensureServer();
		for (const [name, store] of stores) {
			await store.save(`up-${name}`, conversation(2));
			expect(await store.load(`up-${name}`)).toEqual(conversation(2));
		}
	});

	for (const [driver, layout] of [
		['pg Pool', 'log'],
		['pg Pool', 'blob'],
		['postgres.js', 'log'],
		['postgres.js', 'blob'],
	] as Array<['pg Pool' | 'postgres.js', Layout]>) {
		it(`${layout} through ${driver}: a connection dropped in the middle of a save fails it with BACKEND and leaves the session as it was`, async () => {
			await ensureServer();
			const admin = makePool(url, 2);
			closers.push(() => admin.end());
			const schema = `drop_${layout}_${driver === 'pg Pool' ? 'pg' : 'js'}`;
			const store = postgresStore(clients()[driver], { schema, layout });
			const before = conversation(3);
			await store.save('s', before);
			const head = layout === 'blob' ? 'flue_sessions' : 'flue_sessions_log';
			const blocker = await admin.connect();
			let result: FluePersistError | undefined;
			try {
				// Hold the table so the save waits inside the server, then kill its backend.
				await blocker.query(`BEGIN; LOCK TABLE "${schema}"."${head}" IN ACCESS EXCLUSIVE MODE`);
				const saving = caught(store.save('s', turn(before, 'lost')));
				let pid: number | undefined;
				for (let i = 0; i < 200 && pid === undefined; i++) {
					const { rows } = await admin.query(`SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`, [`%${head}%`]);
					pid = rows[0]?.pid;
					if (pid === undefined) await sleep(10);
				}
				expect(pid).toBeDefined();
				await admin.query('SELECT pg_terminate_backend($1)', [pid]);
				result = await saving;
			} finally {
				await blocker.query('ROLLBACK');
				blocker.release();
			}
			expect(result.code).toBe('BACKEND');
			expect(result.cause).toBeDefined();
			expect(result.message).toContain('connection to the Postgres server was lost');
			expect(result.message).toContain('"s"');
			expect(await store.load('s')).toEqual(before);
			const after = turn(before, 'retried');
			await store.save('s', after);
			expect(await store.load('s')).toEqual(after);
		});
	}

	it('the server stopped and started under load: every failed call is BACKEND (with its cause) or CONFLICT, and every save that returned success is there afterwards', async () => {
		const pg = await ensureServer();
		const c = clients();
		const stores: Array<[string, PostgresStore]> = [
			['pg-log', postgresStore(c['pg Pool'], { schema: 'restart', layout: 'log' })],
			['js-log', postgresStore(c['postgres.js'], { schema: 'restart', layout: 'log' })],
			['pg-blob', postgresStore(c['pg Pool'], { schema: 'restart', layout: 'blob', table: 'blobs' })],
			['js-blob', postgresStore(c['postgres.js'], { schema: 'restart', layout: 'blob', table: 'blobs' })],
		];
		for (const [id, store] of stores) await store.save(id, conversation(1));
		const landed = new Map<string, string[]>(stores.map(([id]) => [id, []]));
		const errors: FluePersistError[] = [];
		let phase: 'before' | 'down' | 'after' = 'before';
		const afterRestart = new Map<string, number>(stores.map(([id]) => [id, 0]));
		const loop = async (id: string, store: PostgresStore) => {
			let data = (await store.load(id))!;
			for (let n = 0; afterRestart.get(id)! < 10; n++) {
				const next = turn(data, `${id}-${n}`);
				try {
					await store.save(id, next);
					landed.get(id)!.push(`${id}-${n}`);
					data = next;
					if (phase === 'after') afterRestart.set(id, afterRestart.get(id)! + 1);
				} catch (error) {
					if (!isFluePersistError(error)) throw error;
					errors.push(error);
					// The outcome of a save whose connection dropped is unknown: read what is stored.
					for (;;) {
						try {
							data = (await store.load(id))!;
							break;
						} catch (loadError) {
							if (!isFluePersistError(loadError)) throw loadError;
							errors.push(loadError);
							await sleep(50);
						}
					}
				}
			}
		};
		const workload = Promise.all(stores.map(([id, store]) => loop(id, store)));
		while ([...landed.values()].some((l) => l.length < 5)) await sleep(10);
		phase = 'down';
		await pg.stop();
		await sleep(300);
		await pg.start();
		phase = 'after';
		await workload;
		expect(errors.length).toBeGreaterThan(0);
		for (const error of errors) {
			expect(['BACKEND', 'CONFLICT']).toContain(error.code);
			if (error.code === 'BACKEND') expect(error.cause).toBeDefined();
		}
		// Read back through fresh stores, after one more restart: what succeeded was durable.
		await pg.stop();
		await pg.start();
		const check = clients();
		for (const [id] of stores) {
			const layout: Layout = id.endsWith('blob') ? 'blob' : 'log';
			const stored = (await postgresStore(check['pg Pool'], { schema: 'restart', layout, table: layout === 'blob' ? 'blobs' : 'flue_sessions' }).load(id))!;
			const ids = new Set(stored.entries.map((e) => e.id));
			for (const tag of landed.get(id)!) expect(ids.has(`${tag}-u`) && ids.has(`${tag}-a`)).toBe(true);
		}
	});
});
