/**
 * `npm run bench`: flue-persist and its peers, side by side in one run, on one Postgres server
 * (DATABASE_URL, or an embedded server started here) and on SQLite.
 *
 * Every system saves the same generated conversation after every turn and is measured by the
 * same loop (bench/harness.ts). Results are printed and written to bench/results/.
 *
 * Options: --turns 50,200,1000   lengths to report (the run goes to the largest)
 *          --max-seconds 150     time one system may spend before it is stopped (and says so)
 *          --only <text>         run only the systems whose name contains the text
 *          --no-peers            leave out LangGraph and Mastra
 *          --profile             split each save into the library's own time and the database's
 *          --shape-only          only the Flue-call-shape run against the reference append-log
 *          --no-write            print only; do not write bench/results/
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { type EmbeddedServer, startEmbeddedPostgres } from '../test/support/postgres-server.js';
import { flueShapeOnPostgres, flueShapeOnSqlite, renderShape, type ShapeRatios } from './flue-shape.js';
import { type BenchSystem, type Checkpoint, runSystem, type SystemResult, WINDOW, type WriteMeter } from './harness.js';
import { flueOnPostgres, jsonbRecipe, walMeter } from './systems/postgres.js';
import { flueOnSqlite } from './systems/sqlite.js';
import { machine } from './workload.js';

const here = dirname(fileURLToPath(import.meta.url));
const peersDir = join(here, 'peers');

function option(name: string): string | undefined {
	const i = process.argv.indexOf(`--${name}`);
	return i >= 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const lengths = (option('turns') ?? '50,200,1000').split(',').map(Number);
if (lengths.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--turns takes whole numbers separated by commas, such as 50,200,1000');
const maxSeconds = Number(option('max-seconds') ?? 150);
const only = option('only');
const wantPeers = !flag('no-peers');
const profile = flag('profile');
const shapeOnly = flag('shape-only');
const log = (line: string) => console.log(line);

/** The peers live in their own package; installed on first use from its lockfile. */
function peersReady(): string | null {
	if (existsSync(join(peersDir, 'node_modules', '@langchain', 'langgraph')) && existsSync(join(peersDir, 'node_modules', '@mastra', 'pg'))) return null;
	log('Installing the peer stores once into bench/peers (npm ci --prefix bench/peers) ...');
	try {
		execFileSync('npm', ['ci', '--prefix', peersDir, '--no-audit', '--no-fund'], { stdio: 'inherit' });
		return null;
	} catch (error) {
		return `not installed (npm ci --prefix bench/peers failed: ${(error as Error).message.split('\n')[0]})`;
	}
}

interface Planned {
	name: string;
	database: 'postgres' | 'sqlite';
	make: (schema: string) => Promise<{ system: BenchSystem; meter: WriteMeter }>;
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
const f = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

function table(head: string[], rows: string[][]): string {
	return [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

async function main() {
	const sqliteDir = mkdtempSync(join(tmpdir(), 'flue-persist-bench-'));
	let server: EmbeddedServer | undefined;
	if (!process.env.DATABASE_URL) {
		log('DATABASE_URL is not set: starting an embedded Postgres server for this run ...');
		server = await startEmbeddedPostgres();
	}
	const url: string = process.env.DATABASE_URL || server!.url;
	const admin = new pg.Pool({ connectionString: url, max: 2 });
	admin.on('error', () => undefined);
	const results: SystemResult[] = [];
	try {
		const pgVersion = String((await admin.query('SHOW server_version')).rows[0].server_version).split(' ')[0]!;
		const memory = new Database(':memory:');
		const sqliteVersion = (memory.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
		memory.close();
		const peerProblem = wantPeers ? peersReady() : 'left out (--no-peers)';
		const planned: Planned[] = [];
		/** The flue-persist configurations measured on each database. */
		const variants = [
			['blob', false],
			['log', false],
			['log', true],
		] as const;
		const variantName = (layout: string, immutable: boolean) => `flue-persist ${layout}${immutable ? ' (immutableEntries)' : ''}`;
		for (const [layout, immutable] of variants) {
			planned.push({ name: variantName(layout, immutable), database: 'sqlite', make: async () => flueOnSqlite(sqliteDir, layout, immutable) });
		}
		for (const [layout, immutable] of variants) {
			planned.push({
				name: variantName(layout, immutable),
				database: 'postgres',
				make: async (schema) => {
					const system = flueOnPostgres(url, admin, schema, layout, immutable);
					return { system, meter: walMeter(admin) };
				},
			});
		}
		planned.push({
			name: 'JSONB upsert recipe',
			database: 'postgres',
			make: async (schema) => ({ system: jsonbRecipe(url, admin, schema), meter: walMeter(admin) }),
		});
		const peer = (name: string, load: (schema: string) => Promise<BenchSystem>): Planned => ({
			name,
			database: 'postgres',
			make: async (schema) => {
				if (peerProblem) throw new Skip(peerProblem);
				return { system: await load(schema), meter: walMeter(admin) };
			},
		});
		planned.push(peer('LangGraph PostgresSaver', async (schema) => (await import('./peers/langgraph.js')).langgraphSystem(admin, schema, newPool(url))));
		planned.push(peer('Mastra PostgresStore', async (schema) => (await import('./peers/mastra.js')).mastraSystem(url, admin, schema)));

		const info = {
			...machine(),
			postgres: pgVersion,
			sqlite: sqliteVersion,
			postgresSource: server ? 'embedded (started by the bench)' : 'DATABASE_URL',
			// Other work on the machine shows up in every latency; the 1-minute load average says how much there was.
			loadAverage: { start: loadavg()[0]!, end: Number.NaN },
		};
		log(`flue-persist bench: ${info.cores} × ${info.cpu}, Node ${info.node}, Postgres ${info.postgres} (${info.postgresSource}), SQLite ${info.sqlite}`);
		log(`lengths ${lengths.join(', ')} turns; a system stops after ${maxSeconds} s`);
		// First what a Flue user gets: Flue's call shape, default options, against a hand-written append-log.
		const shapeTurns = Math.max(...lengths);
		log(`Flue's call shape, ${shapeTurns} turns, interleaved with a reference append-log ...`);
		const shape: ShapeRatios[] = [];
		if (!only || 'postgres'.includes(only)) shape.push(...(await flueShapeOnPostgres(url, admin, `bench_${randomBytes(4).toString('hex')}`, shapeTurns, log)));
		if (!only || 'sqlite'.includes(only)) shape.push(...(await flueShapeOnSqlite(sqliteDir, shapeTurns, log)));
		log('');
		log(renderShape(shape, profile));
		log('');
		for (const p of shapeOnly ? [] : planned) {
			if (only && !`${p.name} ${p.database}`.includes(only)) continue;
			const schema = `bench_${randomBytes(4).toString('hex')}`;
			log(`${p.name} on ${p.database} ...`);
			try {
				// Every Postgres system starts right after a checkpoint, so full-page images weigh on each alike.
				if (p.database === 'postgres') await admin.query('CHECKPOINT');
				const { system, meter } = await p.make(schema);
				results.push(await runSystem(system, meter, lengths, maxSeconds, log));
			} catch (error) {
				if (!(error instanceof Skip)) throw error;
				log(`  skipped: ${error.message}`);
				results.push({ name: p.name, database: p.database, checkpoints: [], seconds: 0, skipped: error.message });
			} finally {
				// Dropped at once, so that vacuuming its dead rows does not land in the next system's WAL.
				if (p.database === 'postgres') await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
			}
		}
		info.loadAverage.end = loadavg()[0]!;
		const report = render(results, info, shape, profile);
		log('');
		log(report);
		if (!flag('no-write')) {
			const dir = join(here, 'results');
			mkdirSync(dir, { recursive: true });
			const slug = `${info.cores}x-${info.cpu
				.toLowerCase()
				.replace(/[^a-z0-9]+/g, '-')
				.replace(/^-|-$/g, '')}`;
			const base = join(dir, `${new Date().toISOString().slice(0, 10)}-${slug}`);
			writeFileSync(`${base}.md`, `${report}\n`);
			writeFileSync(
				`${base}.json`,
				`${JSON.stringify({ date: new Date().toISOString(), machine: info, lengths, window: WINDOW, maxSeconds, shape, results }, null, 2)}\n`,
			);
			log(`\nwritten: bench/results/${base.split('/').pop()}.md and .json`);
		}
	} finally {
		await admin.end();
		await server?.destroy();
		rmSync(sqliteDir, { recursive: true, force: true });
	}
}

class Skip extends Error {}

function newPool(url: string): pg.Pool {
	const pool = new pg.Pool({ connectionString: url, max: 4 });
	pool.on('error', () => undefined);
	return pool;
}

function render(
	results: SystemResult[],
	info: ReturnType<typeof machine> & { postgres: string; sqlite: string; postgresSource: string; loadAverage: { start: number; end: number } },
	shape: ShapeRatios[],
	withProfile: boolean,
): string {
	const out: string[] = [];
	out.push(`# flue-persist bench, ${new Date().toISOString().slice(0, 10)}`);
	out.push('');
	out.push(
		`Machine: ${info.cores} × ${info.cpu}, Node ${info.node}, 1-minute load average ${f(info.loadAverage.start, 1)} at the start and ${f(info.loadAverage.end, 1)} at the end. ` +
			`Postgres ${info.postgres} (${info.postgresSource}, default settings), SQLite ${info.sqlite} (WAL, synchronous = FULL).`,
	);
	out.push('');
	if (shape.length > 0) {
		out.push('## What a Flue user gets');
		out.push('');
		out.push(
			`Flue 0.4's call shape (after every turn \`save(id, { ...header, entries: [...entries] })\`: a new object and a new array, the same entry objects), log layout, ${shape[0]!.turns} turns of about ${(shape[0]!.newJsonPerSave / 1024).toFixed(1)} KB of new JSON each, ` +
				'interleaved turn by turn with a hand-written append-log (one statement or transaction per turn: insert the new entries, upsert the session row). ' +
				'Full loads through a fresh store, against reading the session as one TEXT row and JSON.parse. Bytes written: Postgres WAL (pg_current_wal_lsn), SQLite WAL growth; medians.',
		);
		out.push('');
		out.push(renderShape(shape, withProfile));
		out.push('');
		out.push('## Side by side with the stores people pick instead');
		out.push('');
	}
	out.push(
		`Workload: one conversation saved after every turn; 4 entries a turn (user message, assistant tool call, tool result of 2 KB and 8 KB every fifth turn, assistant reply). ` +
			`Each row covers the ${WINDOW} turns up to the length shown: bytes written per save (Postgres: WAL bytes from pg_current_wal_lsn; SQLite: WAL frames of 4 KB pages), ` +
			`write amplification (bytes written ÷ JSON bytes of the turn's new entries), save latency, then a full load (median of 5 through a fresh reader) and the storage size (tables, indexes and TOAST, dead row versions included) at that length.`,
	);
	out.push('');
	const rows: string[][] = [];
	for (const r of results) {
		if (r.skipped) {
			rows.push([r.name, r.database, '—', `skipped: ${r.skipped}`, '', '', '', '', '']);
			continue;
		}
		for (const c of r.checkpoints) {
			if (c.loadOnly) {
				rows.push([
					r.name,
					r.database,
					String(c.turns),
					`run stopped at turn ${r.cappedAt?.turns} after ${f(r.cappedAt?.seconds ?? 0, 0)} s; load of a session saved in one go:`,
					'',
					'',
					'',
					f(c.loadMs, 1),
					mb(c.storageBytes),
				]);
				continue;
			}
			rows.push([
				r.name,
				r.database,
				String(c.turns),
				kb(c.writtenPerTurn),
				f(c.writtenPerTurn / c.newJsonPerTurn, 1),
				f(c.saveMedianMs),
				f(c.saveP95Ms),
				f(c.loadMs, 1),
				mb(c.storageBytes),
			]);
		}
		for (const n of lengths.filter((n) => !r.checkpoints.some((c) => c.turns === n))) {
			// Only systems that cannot save a whole session in one go end up here.
			rows.push([
				r.name,
				r.database,
				String(n),
				`not measured: stopped at turn ${r.cappedAt?.turns ?? '?'} after ${f(r.cappedAt?.seconds ?? 0, 0)} s`,
				'',
				'',
				'',
				'',
				'',
			]);
		}
	}
	out.push(table(['system', 'db', 'turns', 'written / save', 'write amp', 'save p50 ms', 'save p95 ms', 'full load ms', 'storage'], rows));
	out.push('');
	const first = Math.min(...lengths);
	const last = Math.max(...lengths);
	out.push(
		`Ratios at ${last} turns: write amplification, save latency at turn ${last} ÷ at turn ${first} (medians), full load ÷ the flue-persist blob layout's on the same database.`,
	);
	out.push('');
	const ratioRows: string[][] = [];
	const at = (r: SystemResult | undefined, n: number) => r?.checkpoints.find((c) => c.turns === n);
	for (const r of results.filter((x) => !x.skipped)) {
		const blob = results.find((x) => x.name === 'flue-persist blob' && x.database === r.database);
		const measured = (c: Checkpoint | undefined) => (c?.loadOnly ? undefined : c);
		const end = measured(at(r, last));
		const start = at(r, first);
		const blobEnd = at(blob, last);
		const split = (c: Checkpoint | undefined) =>
			c?.databaseMedianMs === undefined ? '' : ` (database ${f(c.databaseMedianMs)} + own ${f(c.saveMedianMs - c.databaseMedianMs)})`;
		ratioRows.push([
			r.name,
			r.database,
			end ? f(end.writtenPerTurn / end.newJsonPerTurn, 1) : 'n/a',
			end && start ? f(end.saveMedianMs / start.saveMedianMs) : 'n/a',
			start ? `${f(start.saveMedianMs)}${split(start)}` : 'n/a',
			end ? `${f(end.saveMedianMs)}${split(end)}` : 'n/a',
			at(r, last) && blobEnd ? f(at(r, last)!.loadMs / blobEnd.loadMs) : 'n/a',
			`${f(r.seconds, 0)} s${r.cappedAt ? ` (stopped at turn ${r.cappedAt.turns})` : ''}`,
		]);
	}
	out.push(
		table(['system', 'db', 'write amp', `latency ${last} ÷ ${first}`, `save ms at ${first}`, `save ms at ${last}`, 'load ÷ blob', 'run time'], ratioRows),
	);
	out.push('');
	return out.join('\n');
}

await main();
