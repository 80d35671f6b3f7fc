/**
 * Restart: the Postgres server goes away in the middle of a workload and comes back, once with a
 * clean (fast) shutdown and once with an immediate one that leaves crash recovery to the next
 * start. The same store objects keep going: every save they acknowledged is there afterwards,
 * every failure in between is a typed error, and no store is recreated.
 *
 * The test starts a server of its own (even when DATABASE_URL is set) so that it may stop it.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PostgresStore, postgresStore } from '../../src/backends/postgres/index.js';
import { isFluePersistError, type Layout, type SessionData } from '../../src/index.js';
import { makePool } from '../support/postgres.js';
import { type EmbeddedServer, startEmbeddedPostgres } from '../support/postgres-server.js';
import { advance, snapshotAt, turnOf } from './support/snapshots.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: EmbeddedServer;
beforeAll(async () => {
	server = await startEmbeddedPostgres();
});
afterAll(async () => {
	await server?.destroy();
});

/** The postmaster's PID, through the parent of a backend (the test runs on the server's machine). */
async function postmasterPid(pool: pg.Pool): Promise<number> {
	const backend = Number((await pool.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
	const status = readFileSync(`/proc/${backend}/status`, 'utf8');
	return Number(/^PPid:\s+(\d+)/m.exec(status)![1]);
}

interface Session {
	s: number;
	id: string;
	layout: Layout;
	data: SessionData;
	acked: number;
	ackedAfterLastRestart: number;
	/** A save was still failing when the workload stopped: it may or may not have landed. */
	abandoned: boolean;
}

describe('Postgres server restarts during a workload', () => {
	it('keeps every acknowledged save through a fast and an immediate shutdown, and the same stores carry on', async () => {
		const pool = new pg.Pool({ connectionString: server.url, max: 4, connectionTimeoutMillis: 2000 });
		pool.on('error', () => undefined);
		const schema = 'restart';
		const stores: Record<Layout, PostgresStore> = {
			log: postgresStore(pool, { layout: 'log', schema, table: 'r_log' }),
			blob: postgresStore(pool, { layout: 'blob', schema, table: 'r_blob' }),
		};
		const sessions: Session[] = (['log', 'log', 'blob', 'blob'] as Layout[]).map((layout, s) => ({
			s,
			id: `restart:${s}`,
			layout,
			data: snapshotAt(s, 0),
			acked: 0,
			ackedAfterLastRestart: 0,
			abandoned: false,
		}));
		const errors = new Map<string, number>();
		let running = true;
		let restarts = 0;

		const drive = async (session: Session) => {
			const store = stores[session.layout];
			while (running) {
				const turn = session.acked + 1;
				advance(session.data, session.s, turn);
				for (;;) {
					try {
						await store.save(session.id, session.data);
						break;
					} catch (error) {
						if (!isFluePersistError(error)) throw error;
						if (!running) {
							session.abandoned = true;
							return;
						}
						errors.set(error.code, (errors.get(error.code) ?? 0) + 1);
						if (error.code === 'CONFLICT') {
							// The attempt before the connection dropped did commit: the stored snapshot is this turn's.
							const now = await store.load(session.id).catch(() => null);
							if (now) {
								expect([turn - 1, turn]).toContain(turnOf(now));
								expect(now).toEqual(snapshotAt(session.s, turnOf(now)));
							}
						} else {
							expect(error.code).toBe('BACKEND');
							await sleep(20);
						}
					}
				}
				session.acked = turn;
				if (restarts === 2) session.ackedAfterLastRestart++;
			}
		};

		const drivers = sessions.map(drive);
		try {
			await sleep(800);
			await server.stop();
			await sleep(500);
			await server.start();
			restarts = 1;
			await sleep(800);
			const pid = await postmasterPid(pool);
			// Immediate shutdown: no checkpoint, connections cut; the next start replays the WAL.
			process.kill(pid, 'SIGQUIT');
			for (let i = 0; i < 200; i++) {
				try {
					process.kill(pid, 0);
					await sleep(25);
				} catch {
					break;
				}
			}
			await sleep(300);
			await server.start();
			restarts = 2;
			await sleep(1000);
		} finally {
			running = false;
			await Promise.all(drivers);
		}

		expect(errors.get('BACKEND') ?? 0).toBeGreaterThan(0);
		for (const session of sessions) expect(session.ackedAfterLastRestart, `session ${session.id} saved nothing after the restarts`).toBeGreaterThan(0);

		// With an 'error' listener (makePool): `end()` resolves before its sockets close, and the
		// server stopping in afterAll may still reach one.
		const fresh = makePool(server.url, 2);
		try {
			for (const session of sessions) {
				const reader = postgresStore(fresh, { layout: session.layout, schema, table: session.layout === 'log' ? 'r_log' : 'r_blob' });
				const loaded = await reader.load(session.id);
				const turn = loaded ? turnOf(loaded) : 0;
				expect(
					turn === session.acked || (session.abandoned && turn === session.acked + 1),
					`session ${session.id}: stored turn ${turn}, acknowledged ${session.acked}`,
				).toBe(true);
				expect(loaded).toEqual(snapshotAt(session.s, turn));
				await reader.close();
			}
		} finally {
			await fresh.end();
		}
		console.log(
			`restart: ${sessions.reduce((n, s) => n + s.acked, 0)} acknowledged saves over a fast and an immediate shutdown; errors seen: ${[...errors].map(([code, n]) => `${code} ${n}`).join(', ')}`,
		);
		await stores.log.close();
		await stores.blob.close();
		await pool.end();
	});
});
