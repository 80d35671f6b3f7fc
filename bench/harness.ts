/**
 * One measurement loop for every system: grow the conversation a turn at a time, save after each
 * turn, and at each checkpoint length record the window of turns before it, a full load and the
 * storage size. Every system is driven by the same loop over the same data.
 */
import { performance } from 'node:perf_hooks';
import { conversation } from '../src/conformance/fixtures.js';
import type { SessionData, SessionEntry } from '../src/index.js';
import { appendTurn, jsonBytes, mean, quantile, toolBytes } from './workload.js';

/** A store under test, seen only through what the benchmark does with it. */
export interface BenchSystem {
	readonly name: string;
	readonly database: 'postgres' | 'sqlite';
	/** Creates tables and whatever a session needs before its first turn (not timed). */
	setup(): Promise<void>;
	/** Persists the conversation after a turn; `added` are the turn's four new entries. Timed. */
	save(session: SessionData, added: SessionEntry[], turn: number): Promise<void>;
	/** Reads the whole conversation back through a fresh reader; returns how many entries or messages came back. Timed. */
	load(): Promise<number>;
	/** Milliseconds the last save spent waiting for the database, when the system can tell (the rest is its own code). */
	lastDatabaseMs?(): number;
	/**
	 * Saves the conversation in one go, without the turns in between; used only to measure the
	 * full load at lengths a capped run did not reach. Systems that cannot do it leave it out.
	 */
	saveAtOnce?(session: SessionData): Promise<void>;
	/** Bytes on disk of everything the system stored, indexes included. */
	storageBytes(): Promise<number>;
	close(): Promise<void>;
}

/** Bytes the database has written so far (cumulative), and untimed housekeeping between saves. */
export interface WriteMeter {
	written(): Promise<number>;
	tidy?(): Promise<void>;
}

export interface Checkpoint {
	turns: number;
	/** Only the full load was measured, on a session saved in one go after the run was capped. */
	loadOnly?: boolean;
	/** Mean bytes written per save over the window of turns ending here. */
	writtenPerTurn: number;
	/** Mean JSON bytes of the entries each of those turns added. */
	newJsonPerTurn: number;
	saveMedianMs: number;
	saveP95Ms: number;
	/** Median of the part of each save spent waiting for the database, when known. */
	databaseMedianMs?: number;
	loadMs: number;
	storageBytes: number;
}

export interface SystemResult {
	name: string;
	database: 'postgres' | 'sqlite';
	checkpoints: Checkpoint[];
	/** Set when the run stopped before the last length because it used up its time. */
	cappedAt?: { turns: number; seconds: number };
	seconds: number;
	skipped?: string;
}

export const WINDOW = 20;
const LOADS = 5;

/** Median of LOADS full loads, after one that warms caches and prepared statements (checked, not timed). */
async function measureLoad(system: BenchSystem, expected: number, turn: number): Promise<number> {
	const loads: number[] = [];
	for (let i = 0; i <= LOADS; i++) {
		const t1 = performance.now();
		const count = await system.load();
		if (i > 0) loads.push(performance.now() - t1);
		if (count !== expected) throw new Error(`${system.name}: a full load at turn ${turn} returned ${count} items, expected ${expected}`);
	}
	return quantile(loads, 0.5);
}

/**
 * Runs one system up to the largest length, or until `maxSeconds` of saving have passed (then
 * the lengths not reached are reported as not measured, never extrapolated).
 */
export async function runSystem(
	system: BenchSystem,
	meter: WriteMeter,
	lengths: number[],
	maxSeconds: number,
	progress: (line: string) => void,
): Promise<SystemResult> {
	const started = performance.now();
	const last = Math.max(...lengths);
	await system.setup();
	const data: SessionData = conversation(0);
	const ms: number[] = [];
	const dbMs: number[] = [];
	const written: number[] = [];
	const added: number[] = [];
	const checkpoints: Checkpoint[] = [];
	let cappedAt: SystemResult['cappedAt'];
	try {
		for (let turn = 1; turn <= last; turn++) {
			const entries = appendTurn(data, toolBytes(turn - 1));
			const before = await meter.written();
			const t0 = performance.now();
			await system.save(data, entries, turn);
			ms.push(performance.now() - t0);
			if (system.lastDatabaseMs) dbMs.push(system.lastDatabaseMs());
			written.push((await meter.written()) - before);
			added.push(jsonBytes(entries));
			await meter.tidy?.();
			if (lengths.includes(turn)) {
				const from = Math.max(0, turn - WINDOW);
				const loadMs = await measureLoad(system, data.entries.length, turn);
				checkpoints.push({
					turns: turn,
					writtenPerTurn: mean(written.slice(from, turn)),
					newJsonPerTurn: mean(added.slice(from, turn)),
					saveMedianMs: quantile(ms.slice(from, turn), 0.5),
					saveP95Ms: quantile(ms.slice(from, turn), 0.95),
					...(dbMs.length > 0 ? { databaseMedianMs: quantile(dbMs.slice(from, turn), 0.5) } : {}),
					loadMs,
					storageBytes: await system.storageBytes(),
				});
				progress(
					`  ${system.name}: ${turn} turns, save ${checkpoints.at(-1)!.saveMedianMs.toFixed(2)} ms, ${((performance.now() - started) / 1000).toFixed(0)} s`,
				);
			}
			const seconds = (performance.now() - started) / 1000;
			if (seconds > maxSeconds && turn < last) {
				cappedAt = { turns: turn, seconds };
				progress(`  ${system.name}: stopped at turn ${turn} after ${seconds.toFixed(0)} s (the cap is ${maxSeconds} s)`);
				break;
			}
		}
		if (cappedAt && system.saveAtOnce) {
			for (const turn of lengths.filter((n) => n > cappedAt!.turns)) {
				while (data.entries.length < turn * 4) appendTurn(data, toolBytes(data.entries.length / 4));
				await system.saveAtOnce(data);
				checkpoints.push({
					turns: turn,
					loadOnly: true,
					writtenPerTurn: Number.NaN,
					newJsonPerTurn: Number.NaN,
					saveMedianMs: Number.NaN,
					saveP95Ms: Number.NaN,
					loadMs: await measureLoad(system, data.entries.length, turn),
					storageBytes: await system.storageBytes(),
				});
				progress(`  ${system.name}: full load of ${turn} turns saved in one go, ${checkpoints.at(-1)!.loadMs.toFixed(1)} ms`);
			}
		}
	} finally {
		await system.close();
	}
	return { name: system.name, database: system.database, checkpoints, cappedAt, seconds: (performance.now() - started) / 1000 };
}
