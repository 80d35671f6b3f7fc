/**
 * Load: 10,000 sessions (FLUE_PERSIST_LOAD_SESSIONS) of 20 turns each, saved after every turn through one pg Pool by a
 * bounded number of concurrent lanes (half in the log layout, half in the blob layout). Then a
 * new store instance, with nothing cached, lists and loads every session: all are present and
 * each equals the snapshot it was built as. The throughput is printed (and quoted in
 * docs/reliability.md); it is not asserted.
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { type PostgresStore, postgresStore } from '../../src/backends/postgres/index.js';
import type { Layout } from '../../src/index.js';
import { dropSchema, postgresUrl, uniqueSchema } from '../support/postgres.js';
import { advance, snapshotAt } from './support/snapshots.js';

/** 10,000 by default; FLUE_PERSIST_LOAD_SESSIONS sets another even number (CI runs a quarter, for its time budget). */
const SESSIONS = Number(process.env.FLUE_PERSIST_LOAD_SESSIONS ?? 10_000);
if (!Number.isInteger(SESSIONS) || SESSIONS < 2 || SESSIONS % 2 !== 0 || SESSIONS > 99_998) {
	throw new Error(`FLUE_PERSIST_LOAD_SESSIONS must be an even number from 2 to 99,998 (got ${process.env.FLUE_PERSIST_LOAD_SESSIONS}).`);
}
const TURNS = 20;
const LANES = 32;
const TOOL_BYTES = 120;

const idOf = (i: number) => `load:${String(i).padStart(5, '0')}`;
const layoutOf = (i: number): Layout => (i % 2 === 0 ? 'log' : 'blob');

/** Runs `task(i)` for i in [0, count) on `lanes` concurrent lanes. */
async function lanes(count: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
	let next = 0;
	await Promise.all(
		Array.from({ length: width }, async () => {
			while (next < count) await task(next++);
		}),
	);
}

describe('load through one pool', () => {
	const schema = uniqueSchema('load');
	const pool = new pg.Pool({ connectionString: postgresUrl(), max: LANES });
	pool.on('error', () => undefined);
	afterAll(async () => {
		await dropSchema(pool, schema);
		await pool.end();
	});

	// 200,000 saves: minutes on two cores, so this test has a budget of its own.
	it(`${SESSIONS.toLocaleString('en')} sessions × ${TURNS} turns: all present and identical afterwards`, { timeout: 600_000 }, async () => {
		const open = (): Record<Layout, PostgresStore> => ({
			log: postgresStore(pool, { schema, layout: 'log' }),
			blob: postgresStore(pool, { schema, layout: 'blob' }),
		});
		const writers = open();
		await writers.log.migrate();
		await writers.blob.migrate();
		const started = Date.now();
		let saves = 0;
		let bytes = 0;
		await lanes(SESSIONS, LANES, async (i) => {
			const data = snapshotAt(i, 0);
			for (let turn = 1; turn <= TURNS; turn++) {
				advance(data, i, turn, TOOL_BYTES);
				await writers[layoutOf(i)].save(idOf(i), data);
				saves++;
			}
			bytes += Buffer.byteLength(JSON.stringify(data));
		});
		const seconds = (Date.now() - started) / 1000;
		await writers.log.close();
		await writers.blob.close();

		const readers = open();
		for (const layout of ['log', 'blob'] as const) {
			const ids: string[] = [];
			let cursor: string | null = null;
			do {
				const page = await readers[layout].list({ prefix: 'load:', limit: 1000, cursor });
				ids.push(...page.sessions.map((s) => s.id));
				cursor = page.cursor;
			} while (cursor !== null);
			expect(ids).toEqual(Array.from({ length: SESSIONS / 2 }, (_, k) => idOf(layout === 'log' ? 2 * k : 2 * k + 1)));
		}
		const verifyStarted = Date.now();
		let mismatched = 0;
		await lanes(SESSIONS, LANES, async (i) => {
			const loaded = await readers[layoutOf(i)].load(idOf(i));
			try {
				expect(loaded).toEqual(snapshotAt(i, TURNS, TOOL_BYTES));
			} catch (error) {
				mismatched++;
				if (mismatched === 1) throw error;
			}
		});
		expect(mismatched).toBe(0);
		const verifySeconds = (Date.now() - verifyStarted) / 1000;
		await readers.log.close();
		await readers.blob.close();
		console.log(
			`load: ${saves.toLocaleString('en')} saves of ${SESSIONS.toLocaleString('en')} sessions in ${seconds.toFixed(1)} s through one pool of ${LANES} connections: ` +
				`${Math.round(saves / seconds).toLocaleString('en')} saves/s (${(bytes / 1024 / 1024).toFixed(0)} MB of sessions); ` +
				`${SESSIONS.toLocaleString('en')} loads verified in ${verifySeconds.toFixed(1)} s (${Math.round(SESSIONS / verifySeconds).toLocaleString('en')} loads/s)`,
		);
		expect(saves).toBe(SESSIONS * TURNS);
	});
});
