/**
 * Deterministic session histories for the reliability tests: the snapshot of session `s` after
 * turn `t` is a pure function of (s, t), so a test can tell whether what it loads is exactly one
 * snapshot that was saved, and which one, without trusting anything the writer reported.
 *
 * A turn appends four entries (Flue's shape), edits an older entry in place every third turn
 * (so saves also rewrite stored rows, not only append) and rewrites the header (turn counter,
 * updatedAt), so a save torn between header and entries, or between entries, cannot match.
 */
import { conversation, emptySession } from '../../../src/conformance/fixtures.js';
import type { SessionData } from '../../../src/index.js';

export interface Progress {
	writer: string;
	turn: number;
}

/** The turn a snapshot was taken at, from its header; 0 for a snapshot with no turn yet. */
export function turnOf(data: SessionData): number {
	const turn = (data.metadata as { progress?: Progress }).progress?.turn;
	return typeof turn === 'number' ? turn : 0;
}

/** Moves `data` (the snapshot after turn `turn - 1` of session `s`) to the snapshot after `turn`. */
export function advance(data: SessionData, s: number, turn: number, toolBytes = 300): void {
	const added = conversation(1, { base: { ...data, entries: [] }, startAt: data.entries.length, toolBytes: toolBytes + ((s * 31 + turn) % 97) });
	for (const e of added.entries) (e as { session?: number }).session = s;
	data.entries.push(...added.entries);
	if (turn % 3 === 0) {
		// Not something Flue does, but a store must keep it exactly: an old entry changed in place.
		const target = data.entries[(turn * 7) % (data.entries.length - 4)] as { edits?: number[] };
		target.edits = [...(target.edits ?? []), turn];
	}
	data.leafId = added.leafId;
	data.updatedAt = new Date(Date.UTC(2026, 0, 1) + turn * 1000).toISOString();
	data.metadata = { ...data.metadata, progress: { writer: `s${s}`, turn } };
}

/** The snapshot of session `s` after turn `turn` (0: the empty session it starts as). */
export function snapshotAt(s: number, turn: number, toolBytes?: number): SessionData {
	const data = emptySession({ metadata: { owner: s } });
	for (let t = 1; t <= turn; t++) advance(data, s, t, toolBytes);
	return JSON.parse(JSON.stringify(data)) as SessionData;
}
