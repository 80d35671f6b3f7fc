/**
 * What a Flue user gets: flue-persist saving the way Flue 0.4 saves, measured turn by turn against a
 * hand-written append-log on the same database in the same run.
 *
 * Flue keeps one entries array and one metadata object per session and, after every turn, calls
 * `save(id, { ...header, entries: [...entries] })`: a new top-level object and a new array each
 * time, the same entry objects. Each turn the stores under test (default options, and
 * `immutableEntries: true`) and the reference save the turn in a rotating order, so machine load
 * falls on all of them alike. The reference is the statement a careful engineer would write by hand:
 * one round trip that inserts the turn's entries and upserts the session row (leaf, metadata,
 * updated_at), with no revision check, no history check and no input checks.
 *
 * The four ratios, per database and store:
 * 1. save p50 over the last 10 % of turns ÷ the reference's p50 over the same turns (goal ≤ 1.3);
 * 2. save p50 over the last 50 turns ÷ over the first 50 (goal ≤ 1.2: flat);
 * 3. full load by a fresh store ÷ reading the session as one TEXT row and `JSON.parse` (goal ≤ 1.0);
 * 4. bytes written per save ÷ the JSON bytes of the turn's new entries (goal ≤ 1.3).
 */

import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type Database from 'better-sqlite3';
import pg from 'pg';
import { postgresStore } from '../src/backends/postgres/index.js';
import { type BetterSqliteDatabase, sqliteStore } from '../src/backends/sqlite/index.js';
import { emptySession } from '../src/conformance/fixtures.js';
import type { FluePersistStore, SessionData, SessionEntry } from '../src/index.js';
import type { WriteMeter } from './harness.js';
import { type Admin, timedPool, walMeter } from './systems/postgres.js';
import { fileSize, openBenchSqlite } from './systems/sqlite.js';
import { appendTurn, jsonBytes, quantile, toolBytes } from './workload.js';

const SESSION = 'agent-session:["bench","flue-shape"]';
const LOADS = 7;

/** The goals of the performance work, per ratio. */
const GOALS = { saveVsReference: 1.3, flat: 1.2, loadVsText: 1.0, writeAmp: 1.3 } as const;

/** A session held the way Flue 0.4 holds it: saved as a new object with a new entries array each turn. */
class FlueShapedSession {
	readonly header: SessionData;
	constructor() {
		this.header = emptySession();
	}
	/** Appends one turn (4 entries) in place, as Flue's history does; returns the new entries. */
	turn(n: number): SessionEntry[] {
		return appendTurn(this.header, toolBytes(n));
	}
	snapshot(): SessionData {
		return { ...this.header, entries: [...this.header.entries] };
	}
}

/** One store under test, as the loop sees it. */
interface Contender {
	name: string;
	save(data: SessionData, added: SessionEntry[], turn: number): Promise<void>;
	/** Milliseconds the last save spent in the database driver. */
	databaseMs(): number;
	/** Milliseconds the last save spent before its promise was returned (checks, serialization). */
	prepareMs(): number;
	/** A full load through a fresh reader; returns the number of entries. */
	load(): Promise<number>;
}

export interface ShapeRatios {
	name: string;
	database: 'postgres' | 'sqlite';
	turns: number;
	saveLastP50: number;
	referenceLastP50: number;
	saveFirstP50: number;
	saveEndP50: number;
	/** The reference's own last-50 ÷ first-50 ratio: how much the machine and the server drifted during the run. */
	referenceFlat: number;
	loadMs: number;
	referenceLoadMs: number;
	writtenPerSave: number;
	/** The reference's bytes written per save, for the same turns: the floor of the database's own format. */
	referenceWrittenPerSave: number;
	newJsonPerSave: number;
	/** Medians over the last 10 % of turns: time before the promise, time in the driver, the rest. */
	profile: { prepareMs: number; databaseMs: number; otherMs: number };
	ratios: { saveVsReference: number; flat: number; loadVsText: number; writeAmp: number };
}

async function runShape(
	database: 'postgres' | 'sqlite',
	turns: number,
	contenders: Contender[],
	reference: {
		save(data: SessionData, added: SessionEntry[], turn: number): Promise<void>;
		load(): Promise<number>;
		storeWhole(data: SessionData): Promise<void>;
	},
	meter: WriteMeter,
	progress: (line: string) => void,
): Promise<ShapeRatios[]> {
	const session = new FlueShapedSession();
	const ms = contenders.map(() => [] as number[]);
	const db = contenders.map(() => [] as number[]);
	const prep = contenders.map(() => [] as number[]);
	const wal = contenders.map(() => [] as number[]);
	const ref: number[] = [];
	const refWal: number[] = [];
	const added: number[] = [];
	for (let turn = 0; turn < turns; turn++) {
		const entries = session.turn(turn);
		added.push(jsonBytes(entries));
		// Rotate who goes first, so a burst of load on the machine is shared out.
		const order = [...contenders.keys(), -1];
		for (let k = 0; k < turn % order.length; k++) order.push(order.shift()!);
		for (const i of order) {
			if (i === -1) {
				const data = session.snapshot();
				const before = await meter.written();
				const t0 = performance.now();
				await reference.save(data, entries, turn);
				ref.push(performance.now() - t0);
				refWal.push((await meter.written()) - before);
				continue;
			}
			const c = contenders[i]!;
			const before = await meter.written();
			const t0 = performance.now();
			// Flue's call: a new top-level object and a new array, the same entry objects.
			await c.save(session.snapshot(), entries, turn);
			ms[i]!.push(performance.now() - t0);
			wal[i]!.push((await meter.written()) - before);
			db[i]!.push(c.databaseMs());
			prep[i]!.push(c.prepareMs());
			await meter.tidy?.();
		}
		if ((turn + 1) % 250 === 0)
			progress(
				`  ${database}: turn ${turn + 1}, last save ${contenders.map((c, i) => `${c.name} ${ms[i]!.at(-1)!.toFixed(2)} ms`).join(', ')}, reference ${ref.at(-1)!.toFixed(2)} ms`,
			);
	}
	await reference.storeWhole(session.snapshot());
	// Loads interleaved as well: a fresh reader each time, checked to return the whole session.
	const loads = contenders.map(() => [] as number[]);
	const refLoads: number[] = [];
	const expected = session.header.entries.length;
	for (let r = 0; r <= LOADS; r++) {
		for (const [i, c] of contenders.entries()) {
			const t0 = performance.now();
			const n = await c.load();
			if (r > 0) loads[i]!.push(performance.now() - t0);
			if (n !== expected) throw new Error(`${c.name}: a full load returned ${n} entries, expected ${expected}`);
		}
		const t0 = performance.now();
		const n = await reference.load();
		if (r > 0) refLoads.push(performance.now() - t0);
		if (n !== expected) throw new Error(`reference: a full load returned ${n} entries, expected ${expected}`);
	}
	const tail = Math.max(1, Math.floor(turns / 10));
	const edge = Math.min(50, turns);
	const last = <T>(xs: T[], n: number) => xs.slice(xs.length - n);
	const refLast = quantile(last(ref, tail), 0.5);
	const refLoad = quantile(refLoads, 0.5);
	return contenders.map((c, i) => {
		const saveLast = quantile(last(ms[i]!, tail), 0.5);
		const first = quantile(ms[i]!.slice(0, edge), 0.5);
		const end = quantile(last(ms[i]!, edge), 0.5);
		const load = quantile(loads[i]!, 0.5);
		const written = quantile(last(wal[i]!, tail), 0.5);
		const newJson = quantile(last(added, tail), 0.5);
		const databaseMs = quantile(last(db[i]!, tail), 0.5);
		const prepareMs = quantile(last(prep[i]!, tail), 0.5);
		return {
			name: c.name,
			database,
			turns,
			saveLastP50: saveLast,
			referenceLastP50: refLast,
			saveFirstP50: first,
			saveEndP50: end,
			referenceFlat: quantile(last(ref, edge), 0.5) / quantile(ref.slice(0, edge), 0.5),
			loadMs: load,
			referenceLoadMs: refLoad,
			writtenPerSave: written,
			referenceWrittenPerSave: quantile(last(refWal, tail), 0.5),
			newJsonPerSave: newJson,
			profile: { prepareMs, databaseMs, otherMs: Math.max(0, saveLast - prepareMs - databaseMs) },
			ratios: { saveVsReference: saveLast / refLast, flat: end / first, loadVsText: load / refLoad, writeAmp: written / newJson },
		};
	});
}

/** flue-persist (log layout) on Postgres in Flue's call shape, against a hand-written append-log. */
export async function flueShapeOnPostgres(url: string, admin: Admin, schema: string, turns: number, progress: (line: string) => void): Promise<ShapeRatios[]> {
	await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
	const pools: pg.Pool[] = [];
	try {
		const contenders: Contender[] = [];
		for (const [name, options, table] of [
			['flue-persist log, default options', {}, 'fp_default'],
			['flue-persist log, immutableEntries: true', { immutableEntries: true }, 'fp_immutable'],
		] as const) {
			const t = timedPool(url);
			pools.push(t.pool);
			const store = postgresStore(t.pool, { schema, table, ...options });
			await store.migrate();
			let prepared = 0;
			contenders.push({
				name,
				async save(data) {
					t.reset();
					const t0 = performance.now();
					const pending = store.save(SESSION, data);
					prepared = performance.now() - t0;
					await pending;
				},
				databaseMs: t.spent,
				prepareMs: () => prepared,
				async load() {
					const reader: FluePersistStore = postgresStore(t.pool, { schema, table });
					try {
						return (await reader.load(SESSION))?.entries.length ?? 0;
					} finally {
						await reader.close();
					}
				},
			});
		}
		const refPool = new pg.Pool({ connectionString: url, max: 4 });
		refPool.on('error', () => undefined);
		pools.push(refPool);
		const s = `"${schema}"`;
		await refPool.query(`CREATE TABLE ${s}.ref_sessions (id TEXT PRIMARY KEY, leaf_id TEXT, metadata TEXT NOT NULL, updated_at BIGINT NOT NULL)`);
		await refPool.query(
			`CREATE TABLE ${s}.ref_entries (session_id TEXT NOT NULL, entry_id TEXT NOT NULL, pos INTEGER NOT NULL, parent_id TEXT, data TEXT NOT NULL, PRIMARY KEY (session_id, entry_id))`,
		);
		await refPool.query(`CREATE TABLE ${s}.ref_blob (id TEXT PRIMARY KEY, data TEXT NOT NULL)`);
		const reference = {
			async save(data: SessionData, added: SessionEntry[], turn: number) {
				const params: unknown[] = [SESSION, data.leafId, JSON.stringify(data.metadata), Date.now()];
				const rows = added.map((e, k) => {
					params.push(e.id, turn * 4 + k, e.parentId, JSON.stringify(e));
					const b = params.length - 3;
					return `($1, $${b}, $${b + 1}, $${b + 2}, $${b + 3})`;
				});
				await refPool.query(
					`WITH ins AS (INSERT INTO ${s}.ref_entries (session_id, entry_id, pos, parent_id, data) VALUES ${rows.join(', ')}) ` +
						`INSERT INTO ${s}.ref_sessions (id, leaf_id, metadata, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET leaf_id = excluded.leaf_id, metadata = excluded.metadata, updated_at = excluded.updated_at`,
					params,
				);
			},
			async storeWhole(data: SessionData) {
				await refPool.query(`INSERT INTO ${s}.ref_blob (id, data) VALUES ($1, $2)`, [SESSION, JSON.stringify(data)]);
			},
			async load() {
				const { rows } = await refPool.query(`SELECT data FROM ${s}.ref_blob WHERE id = $1`, [SESSION]);
				return (JSON.parse(String(rows[0]!.data)) as SessionData).entries.length;
			},
		};
		await admin.query('CHECKPOINT');
		return await runShape('postgres', turns, contenders, reference, walMeter(admin), progress);
	} finally {
		for (const p of pools) await p.end();
		await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
	}
}

/** A better-sqlite3 Database whose transactions add up the time spent in the driver. */
function timedDatabase(db: Database.Database): { db: BetterSqliteDatabase; spent: () => number; reset: () => void } {
	let spent = 0;
	const wrapped: BetterSqliteDatabase = {
		prepare: (sql) => db.prepare(sql) as never,
		pragma: (source, options) => db.pragma(source, options),
		exec: (sql) => db.exec(sql),
		get inTransaction() {
			return db.inTransaction;
		},
		close: () => undefined,
		transaction(fn) {
			const tx = db.transaction(fn);
			const time = (run: () => unknown) => {
				const t0 = performance.now();
				try {
					return run();
				} finally {
					spent += performance.now() - t0;
				}
			};
			return { immediate: () => time(() => tx.immediate()), deferred: () => time(() => tx.deferred()) };
		},
	};
	return { db: wrapped, spent: () => spent, reset: () => (spent = 0) };
}

/** flue-persist (log layout) on SQLite in Flue's call shape, against a hand-written append-log in a file of its own. */
export async function flueShapeOnSqlite(dir: string, turns: number, progress: (line: string) => void): Promise<ShapeRatios[]> {
	const opened: Database.Database[] = [];
	try {
		const contenders: Contender[] = [];
		const files: string[] = [];
		for (const [name, options, file] of [
			['flue-persist log, default options', {}, 'shape-default.db'],
			['flue-persist log, immutableEntries: true', { immutableEntries: true }, 'shape-immutable.db'],
		] as const) {
			const path = join(dir, file);
			files.push(path);
			const raw = openBenchSqlite(path);
			opened.push(raw);
			const t = timedDatabase(raw);
			const store = sqliteStore(t.db, options);
			let prepared = 0;
			contenders.push({
				name,
				async save(data) {
					t.reset();
					const t0 = performance.now();
					const pending = store.save(SESSION, data);
					prepared = performance.now() - t0;
					await pending;
				},
				databaseMs: t.spent,
				prepareMs: () => prepared,
				async load() {
					// A fresh store over the application's open connection, as the reference reads through one.
					const reader = sqliteStore(raw as unknown as BetterSqliteDatabase);
					try {
						return (await reader.load(SESSION))?.entries.length ?? 0;
					} finally {
						await reader.close();
					}
				},
			});
		}
		const refFile = join(dir, 'shape-reference.db');
		const ref = openBenchSqlite(refFile);
		opened.push(ref);
		files.push(refFile);
		ref.exec('CREATE TABLE ref_sessions (id TEXT PRIMARY KEY, leaf_id TEXT, metadata TEXT NOT NULL, updated_at INTEGER NOT NULL)');
		ref.exec(
			'CREATE TABLE ref_entries (session_id TEXT NOT NULL, entry_id TEXT NOT NULL, pos INTEGER NOT NULL, parent_id TEXT, data TEXT NOT NULL, PRIMARY KEY (session_id, entry_id))',
		);
		ref.exec('CREATE TABLE ref_blob (id TEXT PRIMARY KEY, data TEXT NOT NULL)');
		const insert = ref.prepare(
			'INSERT INTO ref_entries (session_id, entry_id, pos, parent_id, data) VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?), (?, ?, ?, ?, ?), (?, ?, ?, ?, ?)',
		);
		const upsert = ref.prepare(
			'INSERT INTO ref_sessions (id, leaf_id, metadata, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET leaf_id = excluded.leaf_id, metadata = excluded.metadata, updated_at = excluded.updated_at',
		);
		const select = ref.prepare('SELECT data FROM ref_blob WHERE id = ?');
		const saveTurn = ref.transaction((data: SessionData, added: SessionEntry[], turn: number) => {
			insert.run(...added.flatMap((e, k) => [SESSION, e.id, turn * 4 + k, e.parentId, JSON.stringify(e)]));
			upsert.run(SESSION, data.leafId, JSON.stringify(data.metadata), Date.now());
		});
		const reference = {
			async save(data: SessionData, added: SessionEntry[], turn: number) {
				saveTurn.immediate(data, added, turn);
			},
			async storeWhole(data: SessionData) {
				ref.prepare('INSERT INTO ref_blob (id, data) VALUES (?, ?)').run(SESSION, JSON.stringify(data));
			},
			async load() {
				const row = select.get(SESSION) as { data: string };
				return (JSON.parse(row.data) as SessionData).entries.length;
			},
		};
		// Bytes written: growth of the store files' WALs (automatic checkpoints are off); checkpointed untimed past 64 MB.
		let flushed = 0;
		const walOf = () => files.reduce((n, f) => n + fileSize(`${f}-wal`), 0);
		const meter: WriteMeter = {
			async written() {
				return flushed + walOf();
			},
			async tidy() {
				if (walOf() < 64 * 1024 * 1024) return;
				flushed += walOf();
				for (const db of opened) db.pragma('wal_checkpoint(TRUNCATE)');
			},
		};
		return await runShape('sqlite', turns, contenders, reference, meter, progress);
	} finally {
		for (const db of opened) db.close();
	}
}

const f = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

/** The four ratios as a Markdown table, each with its goal and verdict. */
export function renderShape(results: ShapeRatios[], profile: boolean): string {
	const verdict = (value: number, goal: number) => `${f(value)} ${value <= goal ? '✓' : `✗ (goal ≤ ${goal})`}`;
	const rows = results.map((r) => [
		r.database,
		r.name,
		`${verdict(r.ratios.saveVsReference, GOALS.saveVsReference)} (${f(r.saveLastP50)} vs ${f(r.referenceLastP50)} ms)`,
		`${verdict(r.ratios.flat, GOALS.flat)} (${f(r.saveFirstP50)} → ${f(r.saveEndP50)} ms; the reference's own: ${f(r.referenceFlat)})`,
		`${verdict(r.ratios.loadVsText, GOALS.loadVsText)} (${f(r.loadMs, 1)} vs ${f(r.referenceLoadMs, 1)} ms)`,
		`${verdict(r.ratios.writeAmp, GOALS.writeAmp)} (${(r.writtenPerSave / 1024).toFixed(1)} KB vs ${(r.newJsonPerSave / 1024).toFixed(1)} KB)`,
		f(r.referenceWrittenPerSave / r.newJsonPerSave),
	]);
	const head = [
		'db',
		'store',
		'save p50, last 10 % ÷ reference',
		'save p50, last 50 ÷ first 50 turns',
		'full load ÷ one TEXT row + JSON.parse',
		'written per save ÷ new JSON',
		"the reference's written ÷ new JSON",
	];
	const out = [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`);
	if (profile) {
		out.push('');
		out.push(
			'Where a save goes (medians over the last 10 % of turns): before the promise is returned (checks, serialization, lineage), in the database driver (round trip and statement), and the rest of the library (queue, plan, bookkeeping).',
		);
		out.push('');
		const p = [['db', 'store', 'save p50 ms', 'before the promise ms', 'database ms', 'rest of the library ms', 'reference save p50 ms']];
		p.push(p[0]!.map(() => '---'));
		for (const r of results)
			p.push([r.database, r.name, f(r.saveLastP50), f(r.profile.prepareMs), f(r.profile.databaseMs), f(r.profile.otherMs), f(r.referenceLastP50)]);
		out.push(...p.map((r) => `| ${r.join(' | ')} |`));
	}
	return out.join('\n');
}
