/**
 * The benchmark workload, shared by every system: a Flue-shaped agent conversation that grows
 * by one turn at a time, and the small statistics the reports use.
 */
import { cpus } from 'node:os';
import { conversation } from '../src/conformance/fixtures.js';
import type { SessionData, SessionEntry } from '../src/index.js';

/** Tool output of a turn: 2 KB, and 8 KB every fifth turn (a file read, a long listing). */
export const toolBytes = (turn: number) => (turn % 5 === 4 ? 8192 : 2048);

/** Adds one turn the way Flue does: the same entry objects stay, four new ones are appended. */
export function appendTurn(data: SessionData, bytes: number): SessionEntry[] {
	const turn = conversation(1, { base: { ...data, entries: [] }, startAt: data.entries.length, toolBytes: bytes });
	data.entries.push(...turn.entries);
	data.leafId = turn.leafId;
	data.updatedAt = turn.updatedAt;
	return turn.entries;
}

/** UTF-8 bytes of the JSON text of the given entries: the logical size of what a turn adds. */
export function jsonBytes(entries: readonly unknown[]): number {
	let n = 0;
	for (const e of entries) n += Buffer.byteLength(JSON.stringify(e));
	return n;
}

export function quantile(values: readonly number[], q: number): number {
	if (values.length === 0) return Number.NaN;
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function mean(values: readonly number[]): number {
	return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** CPU model and count and the Node version: what a reader needs to compare runs. */
export function machine(): { cpu: string; cores: number; node: string } {
	return { cpu: cpus()[0]?.model.trim() ?? 'unknown CPU', cores: cpus().length, node: process.version };
}
