/**
 * Crash: a worker process saves continuously and is killed with SIGKILL at a random moment, 100
 * times per backend. After every kill a fresh store must find each session exactly equal to a
 * snapshot the worker built (never a mix of two), no older than the last save the worker
 * acknowledged, and at most the one save that was in flight beyond it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresStore } from '../../src/backends/postgres/index.js';
import { sqliteStore } from '../../src/backends/sqlite/index.js';
import type { FluePersistStore, Layout } from '../../src/index.js';
import { dropSchema, makePool, postgresUrl, uniqueSchema } from '../support/postgres.js';
import { DatabaseSync, NODE_SQLITE_SKIP } from '../support/sqlite-drivers.js';
import { snapshotAt, turnOf } from './support/snapshots.js';
import { startWorker } from './support/workers.js';
import type { Target } from './workers/open-store.js';

const KILLS = 100;
/** Fresh session ids every few kills keep the sessions (and the blob rows) short. */
const KILLS_PER_GENERATION = 10;
const LAYOUTS: Layout[] = ['log', 'log', 'blob'];

interface Tally {
	kills: number;
	acknowledged: number;
	/** Kills after which a save had landed that the worker never got to acknowledge. */
	landedUnacknowledged: number;
	ms: number;
}

/**
 * A save whose statement reached Postgres before the kill can still commit after the client is
 * gone: the server finishes the statement and only then finds the socket closed. The check waits
 * until the server has ended the killed worker's sessions, so it sees the final state.
 */
type Settle = (tag: string) => Promise<void>;

async function crashLoop(target: Target, openReader: (layout: Layout) => FluePersistStore, settle?: Settle): Promise<Tally> {
	const started = Date.now();
	const tally: Tally = { kills: 0, acknowledged: 0, landedUnacknowledged: 0, ms: 0 };
	const stored = new Map<string, { s: number; layout: Layout; turn: number }>();
	const fresh = () => ({ log: openReader('log'), blob: openReader('blob') });
	let readers = fresh();
	try {
		for (let kill = 0; kill < KILLS; kill++) {
			const generation = Math.floor(kill / KILLS_PER_GENERATION);
			const sessions = LAYOUTS.map((layout, s) => ({ s, layout, id: `crash:${generation}:${s}` }));
			const tag = `flue-crash-${process.pid}-${kill}`;
			const worker = await startWorker('crash-saver', {
				target: target.backend === 'postgres' ? { ...target, url: withApplicationName(target.url, tag) } : target,
				sessions,
			});
			await worker.waitFor((line) => line === 'ready');
			await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 120));
			worker.child.kill('SIGKILL');
			const exit = await worker.exited;
			expect(exit.signal, worker.stderr()).toBe('SIGKILL');
			tally.kills++;
			await settle?.(tag);
			// A new pair of store instances every time: nothing the check reads comes from a cache.
			await readers.log.close();
			await readers.blob.close();
			readers = fresh();
			const acked = new Map<number, number>();
			for (const line of worker.lines) {
				const m = /^ack (\d+) (\d+)$/.exec(line);
				if (!m) continue;
				tally.acknowledged++;
				acked.set(Number(m[1]), Math.max(acked.get(Number(m[1])) ?? 0, Number(m[2])));
			}
			for (const { s, layout, id } of sessions) {
				const before = stored.get(id)?.turn ?? 0;
				const lastAck = Math.max(before, acked.get(s) ?? 0);
				const loaded = await readers[layout].load(id);
				const turn = loaded ? turnOf(loaded) : 0;
				// Nothing acknowledged is missing, and nothing beyond the one save in flight appeared.
				expect(turn, `session ${id} after kill ${kill}`).toBeGreaterThanOrEqual(lastAck);
				expect(turn, `session ${id} after kill ${kill}`).toBeLessThanOrEqual(lastAck + 1);
				if (loaded) expect(loaded, `session ${id} after kill ${kill} is not the snapshot of turn ${turn}`).toEqual(snapshotAt(s, turn));
				if (turn === lastAck + 1) tally.landedUnacknowledged++;
				stored.set(id, { s, layout, turn });
			}
		}
		// Sessions of earlier generations were left alone since; they are still whole.
		for (const [id, { s, layout, turn }] of stored) {
			const loaded = await readers[layout].load(id);
			expect(loaded ? turnOf(loaded) : 0).toBe(turn);
			if (loaded) expect(loaded).toEqual(snapshotAt(s, turn));
		}
	} finally {
		await readers.log.close();
		await readers.blob.close();
	}
	tally.ms = Date.now() - started;
	return tally;
}

function withApplicationName(url: string, name: string): string {
	const u = new URL(url);
	u.searchParams.set('application_name', name);
	return u.toString();
}

function summary(backend: string, t: Tally): string {
	return `crash ${backend}: ${t.kills} kills in ${(t.ms / 1000).toFixed(1)} s, ${t.acknowledged} acknowledged saves, ${t.landedUnacknowledged} saves landed without their acknowledgement`;
}

describe('SIGKILL during saves', () => {
	const dir = mkdtempSync(join(tmpdir(), 'flue-persist-crash-'));
	afterAll(() => rmSync(dir, { recursive: true, force: true }));

	for (const driver of ['better-sqlite3', 'node:sqlite'] as const) {
		if (driver === 'node:sqlite' && !DatabaseSync) {
			it.skip(`SQLite through node:sqlite: ${NODE_SQLITE_SKIP}`, () => undefined);
			continue;
		}
		it(`SQLite through ${driver}: ${KILLS} kills, every session a saved snapshot, nothing acknowledged lost`, async () => {
			const file = join(dir, `crash-${driver.replace(/\W/g, '-')}.db`);
			const tally = await crashLoop({ backend: 'sqlite', file, driver }, (layout) =>
				sqliteStore(file, { layout, driver, table: layout === 'log' ? 'crash_log' : 'crash_blob' }),
			);
			console.log(summary(`sqlite (${driver})`, tally));
			expect(tally.kills).toBe(KILLS);
			expect(tally.acknowledged).toBeGreaterThan(KILLS);
		});
	}

	it(`Postgres: ${KILLS} kills, every session a saved snapshot, nothing acknowledged lost`, async () => {
		const url = postgresUrl();
		const schema = uniqueSchema('crash');
		const pool = makePool(url, 2);
		try {
			const settle: Settle = async (tag) => {
				while (Number((await pool.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [tag])).rows[0].n) > 0) {
					await new Promise((resolve) => setTimeout(resolve, 5));
				}
			};
			const tally = await crashLoop(
				{ backend: 'postgres', url, schema },
				(layout) => postgresStore(pool, { layout, schema, table: layout === 'log' ? 'crash_log' : 'crash_blob' }),
				settle,
			);
			console.log(summary('postgres', tally));
			expect(tally.kills).toBe(KILLS);
			expect(tally.acknowledged).toBeGreaterThan(KILLS);
		} finally {
			await dropSchema(pool, schema);
			await pool.end();
		}
	});
});
