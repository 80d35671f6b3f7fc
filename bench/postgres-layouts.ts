/**
 * Blob vs log on Postgres: for a session of N turns, the latency of one more turn's save, the WAL
 * it writes, the latency of a load, and the table space per session.
 *
 *   npx tsx bench/postgres-layouts.ts [turns=200,1000] [measured=100]
 *
 * Uses DATABASE_URL when set (the numbers then include whatever else that server is doing),
 * otherwise starts an embedded Postgres with default settings for the run.
 */
import { cpus } from 'node:os';
import pg from 'pg';
import { postgresStore } from '../src/backends/postgres/index.js';
import { conversation } from '../src/conformance/fixtures.js';
import type { Layout, SessionData } from '../src/index.js';
import { startEmbeddedPostgres } from '../test/support/postgres-server.js';

const turnsList = (process.argv[2] ?? '200,1000').split(',').map(Number);
const measured = Number(process.argv[3] ?? 100);

const embedded = process.env.DATABASE_URL ? undefined : await startEmbeddedPostgres();
const url = process.env.DATABASE_URL ?? embedded!.url;
const pool = new pg.Pool({ connectionString: url, max: 2 });
pool.on('error', () => undefined);

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

async function walLsn(): Promise<string> {
	return String((await pool.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn);
}

async function walSince(lsn: string): Promise<number> {
	return Number((await pool.query('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn) AS bytes', [lsn])).rows[0].bytes);
}

/** The pool, with the time spent in the database (round trip included) recorded per call. */
let dbTime = 0;
const timed = {
	async query(text: string, values?: unknown[]) {
		const t = performance.now();
		try {
			return await pool.query(text, values);
		} finally {
			dbTime += performance.now() - t;
		}
	},
	connect: () => pool.connect(),
	get totalCount() {
		return pool.totalCount;
	},
};

interface Row {
	layout: Layout;
	turns: number;
	json: number;
	saveP50: number;
	saveP95: number;
	dbP50: number;
	walPerSave: number;
	loadP50: number;
	tableBytes: number;
}

async function measure(layout: Layout, turns: number): Promise<Row> {
	const schema = `bench_${layout}_${turns}`;
	await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
	const store = postgresStore(timed, { schema, layout });
	let data: SessionData = conversation(turns);
	await store.save('s', data);
	await pool.query('CHECKPOINT').catch(() => undefined); // needs superuser or pg_checkpoint; best effort
	const saves: number[] = [];
	const db: number[] = [];
	const start = await walLsn();
	for (let i = 0; i < measured; i++) {
		data = conversation(1, { base: data });
		dbTime = 0;
		const t = performance.now();
		await store.save('s', data);
		saves.push(performance.now() - t);
		db.push(dbTime);
	}
	const wal = await walSince(start);
	const loads: number[] = [];
	const reader = postgresStore(pool, { schema, layout });
	for (let i = 0; i < 20; i++) {
		const t = performance.now();
		await reader.load('s');
		loads.push(performance.now() - t);
	}
	const tables = layout === 'blob' ? ['flue_sessions'] : ['flue_sessions_log', 'flue_sessions_entries'];
	let tableBytes = 0;
	for (const t of tables) tableBytes += Number((await pool.query('SELECT pg_total_relation_size($1) AS b', [`"${schema}"."${t}"`])).rows[0].b);
	await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
	return {
		layout,
		turns: turns + measured,
		json: Buffer.byteLength(JSON.stringify(data)),
		saveP50: quantile(saves, 0.5),
		saveP95: quantile(saves, 0.95),
		dbP50: quantile(db, 0.5),
		walPerSave: wal / measured,
		loadP50: quantile(loads, 0.5),
		tableBytes,
	};
}

try {
	const version = String((await pool.query('SHOW server_version')).rows[0].server_version);
	console.log(
		`Postgres ${version}; ${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}; Node ${process.version}; ${measured} saves of one more turn (4 entries) each\n`,
	);
	console.log('| layout | session (turns, JSON) | save p50 | save p95 | of which database, p50 | WAL per save | load p50 | table space after the run |');
	console.log('|---|---|---|---|---|---|---|---|');
	for (const turns of turnsList) {
		for (const layout of ['blob', 'log'] as const) {
			const r = await measure(layout, turns);
			console.log(
				`| ${r.layout} | ${r.turns} turns, ${kib(r.json)} | ${r.saveP50.toFixed(2)} ms | ${r.saveP95.toFixed(2)} ms | ${r.dbP50.toFixed(2)} ms | ${kib(r.walPerSave)} | ${r.loadP50.toFixed(2)} ms | ${kib(r.tableBytes)} |`,
			);
		}
	}
} finally {
	await pool.end();
	await embedded?.destroy();
}
