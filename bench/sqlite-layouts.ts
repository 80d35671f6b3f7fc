/**
 * SQLite: blob vs log, measured side by side in one run.
 *
 * A generated agent conversation (4 entries a turn: user, assistant tool call, a 2 KB tool
 * result — 8 KB every fifth turn — and the reply) is saved after every turn the way Flue saves it:
 * the whole snapshot through `save()`. Per layout it reports the WAL bytes each save appends
 * (automatic checkpoints off, so the WAL only grows), median and p95 save latency over a window
 * of turns, the latency ratio between late and early turns, full-load latency and file size.
 *
 * Run: npx tsx bench/sqlite-layouts.ts [turns]. `npm run bench` (bench/run.ts) measures these
 * layouts again next to Postgres and the peer stores.
 */

import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { sqliteStore } from '../src/backends/sqlite/index.js';
import { conversation } from '../src/conformance/fixtures.js';
import type { Layout, SessionData } from '../src/index.js';
import { appendTurn, machine as machineInfo, quantile, toolBytes } from './workload.js';

export { appendTurn } from './workload.js';

export interface LayoutResult {
	layout: Layout;
	immutableEntries: boolean;
	turns: number;
	walBytesPerSave: { early: number; late: number };
	newJsonBytesPerTurn: number;
	saveMs: { earlyMedian: number; lateMedian: number; lateP95: number };
	loadMs: number;
	fileBytes: number;
}

function fileSize(path: string): number {
	try {
		return statSync(path).size;
	} catch {
		return 0;
	}
}

export async function measureLayout(layout: Layout, turns: number, dir: string, immutableEntries = false): Promise<LayoutResult> {
	const file = join(dir, `${layout}${immutableEntries ? '-immutable' : ''}.db`);
	const db = new Database(file);
	db.pragma('journal_mode = WAL');
	db.pragma('synchronous = FULL');
	db.pragma('wal_autocheckpoint = 0');
	const store = sqliteStore(db, { layout, immutableEntries });
	const id = 'agent-session:["bench","thread"]';
	const data: SessionData = conversation(0);
	const window = Math.min(20, Math.max(5, Math.floor(turns / 10)));
	const early: { ms: number[]; wal: number[] } = { ms: [], wal: [] };
	const late: { ms: number[]; wal: number[] } = { ms: [], wal: [] };
	let newJson = 0;
	for (let t = 0; t < turns; t++) {
		const added = appendTurn(data, toolBytes(t));
		const walBefore = fileSize(`${file}-wal`);
		const start = performance.now();
		await store.save(id, data);
		const ms = performance.now() - start;
		const wal = fileSize(`${file}-wal`) - walBefore;
		if (t >= turns - window) {
			late.ms.push(ms);
			late.wal.push(wal);
			newJson += added.reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e)), 0);
		} else if (t >= 10 && t < 10 + window) {
			early.ms.push(ms);
			early.wal.push(wal);
		}
	}
	db.pragma('wal_checkpoint(TRUNCATE)');
	const reader = sqliteStore(file, { layout });
	const loads: number[] = [];
	for (let i = 0; i < 5; i++) {
		const start = performance.now();
		await reader.load(id);
		loads.push(performance.now() - start);
	}
	await reader.close();
	await store.close();
	db.close();
	const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
	return {
		layout,
		immutableEntries,
		turns,
		walBytesPerSave: { early: mean(early.wal), late: mean(late.wal) },
		newJsonBytesPerTurn: newJson / late.ms.length,
		saveMs: { earlyMedian: quantile(early.ms, 0.5), lateMedian: quantile(late.ms, 0.5), lateP95: quantile(late.ms, 0.95) },
		loadMs: quantile(loads, 0.5),
		fileBytes: fileSize(file),
	};
}

export function machine(): string {
	const m = machineInfo();
	return `${m.cores} × ${m.cpu}, Node ${m.node}`;
}

export function formatRows(results: LayoutResult[]): string {
	const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
	const rows = results.map((r) => [
		`sqlite ${r.layout}${r.immutableEntries ? ' (immutableEntries)' : ''}`,
		String(r.turns),
		kb(r.walBytesPerSave.late),
		(r.walBytesPerSave.late / r.newJsonBytesPerTurn).toFixed(1),
		r.saveMs.earlyMedian.toFixed(2),
		r.saveMs.lateMedian.toFixed(2),
		r.saveMs.lateP95.toFixed(2),
		(r.saveMs.lateMedian / r.saveMs.earlyMedian).toFixed(2),
		r.loadMs.toFixed(1),
		kb(r.fileBytes),
	]);
	const head = ['system', 'turns', 'WAL/save', 'write amp', 'save ms (turn 10+)', 'save ms (last)', 'p95 (last)', 'late/early', 'load ms', 'file'];
	const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
	return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
	const turns = Number(process.argv[2] ?? 1000);
	const dir = mkdtempSync(join(tmpdir(), 'flue-persist-bench-'));
	try {
		const results: LayoutResult[] = [];
		for (const layout of ['blob', 'log'] as Layout[]) results.push(await measureLayout(layout, turns, dir));
		results.push(await measureLayout('log', turns, dir, true));
		console.log(`SQLite layouts, ${turns} turns, ${machine()}`);
		console.log(formatRows(results));
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}
