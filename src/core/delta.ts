/**
 * The delta engine shared by every backend.
 *
 * A store remembers what it last persisted for a key (`BaseState`: each entry's JSON text and its
 * position). Given a new full snapshot it works out the entries to add, change and remove, and
 * whether the snapshot is stale (it drops entries that someone else added). Log layouts write only
 * that; blob layouts use the staleness check alone.
 */
import { ConflictError, InvalidInputError, quoteId } from '../errors.js';
import type { SessionData, SessionDelta, SessionEntry } from '../types.js';
import { type EntryRecord, type PreparedDelta, prepareDelta, prepareSnapshot } from './serialize.js';

export interface StoredEntry {
	json: string;
	parentId: string | null;
	/** Sort key of the entry in its session; only the order matters. */
	pos: number;
}

/** What a store knows was persisted for one key. Map order is session order. */
export interface BaseState {
	entries: Map<string, StoredEntry>;
	leafId: string | null;
	nextPos: number;
	/** UTF-8 bytes of the header and every entry text (log layouts), kept up to date per save. */
	bytes: number;
	/** UTF-8 bytes of the header alone. */
	headerBytes: number;
	/** Sum of the entry texts' lengths, for the cache budget. */
	textLength: number;
}

export interface PositionedEntry extends EntryRecord {
	pos: number;
}

/** The writes that turn a base state into a new snapshot. */
export interface EntryPlan {
	/** Every entry of the new snapshot with its position, in order. */
	entries: PositionedEntry[];
	added: PositionedEntry[];
	changed: PositionedEntry[];
	removed: string[];
	/** True when the order changed beyond "kept entries, then new ones": rewrite every entry. */
	rewrite: boolean;
	nextPos: number;
}

/** Diffs a new snapshot's entries against what is stored. */
export function planEntries(base: BaseState | null, next: EntryRecord[]): EntryPlan {
	const stored = base?.entries ?? new Map<string, StoredEntry>();
	const entries: PositionedEntry[] = new Array(next.length);
	const added: PositionedEntry[] = [];
	const changed: PositionedEntry[] = [];
	let nextPos = base?.nextPos ?? 0;
	let lastKept = -1;
	let sawNew = false;
	let rewrite = false;
	let kept = 0;
	for (let i = 0; i < next.length; i++) {
		const e = next[i]!;
		const old = stored.get(e.id);
		// The records are fresh per save and owned here, so the position is set on them in place.
		const p = e as PositionedEntry;
		if (old) {
			kept++;
			if (sawNew || old.pos < lastKept) rewrite = true;
			lastKept = old.pos;
			p.pos = old.pos;
			if (old.json !== e.json) changed.push(p);
		} else {
			sawNew = true;
			p.pos = nextPos++;
			added.push(p);
		}
		entries[i] = p;
	}
	// Ids are unique in `next`, so when every stored entry was kept nothing was removed: the common
	// case (a new turn) needs no second pass over the session.
	const removed: string[] = [];
	if (kept < stored.size) {
		const present = new Set(next.map((e) => e.id));
		for (const id of stored.keys()) if (!present.has(id)) removed.push(id);
	}
	if (rewrite) {
		for (let i = 0; i < entries.length; i++) entries[i]!.pos = i;
		nextPos = entries.length;
	}
	return { entries, added, changed, removed, rewrite, nextPos };
}

/**
 * The plan of a snapshot whose first `kept` records are exactly the stored entries, in order,
 * followed by new entries (ids not stored): only the new entries get positions and are written.
 */
export function appendPlan(base: BaseState, next: EntryRecord[], kept: number): EntryPlan {
	let nextPos = base.nextPos;
	const added: PositionedEntry[] = new Array(next.length - kept);
	for (let i = kept; i < next.length; i++) {
		const p = next[i] as PositionedEntry;
		p.pos = nextPos++;
		added[i - kept] = p;
	}
	return { entries: next as PositionedEntry[], added, changed: [], removed: [], rewrite: false, nextPos };
}

/**
 * Entries the stored session has and the new snapshot lacks, when that makes the snapshot stale.
 *
 * Flue removes entries in one case only: on context overflow it drops the failed assistant
 * message at the leaf and moves the leaf back to its parent. That is not a conflict. Any other
 * missing entry means the writer never saw it: another writer added it after this snapshot was
 * taken, and saving would erase that writer's turn.
 */
export function staleDrops(base: BaseState, nextIds: Set<string>, nextLeaf: string | null): string[] {
	const dropped: string[] = [];
	for (const id of base.entries.keys()) if (!nextIds.has(id)) dropped.push(id);
	return allowLeafRemoval(base, dropped, nextLeaf);
}

/** Same as `staleDrops`, for a new entry list: counts first, so the common case allocates nothing. */
export function staleDropsOf(base: BaseState, next: EntryRecord[], nextLeaf: string | null): string[] {
	let kept = 0;
	for (let i = 0; i < next.length; i++) if (base.entries.has(next[i]!.id)) kept++;
	if (kept === base.entries.size) return [];
	return staleDrops(base, new Set(next.map((e) => e.id)), nextLeaf);
}

function allowLeafRemoval(base: BaseState, dropped: string[], nextLeaf: string | null): string[] {
	if (dropped.length === 1 && dropped[0] === base.leafId) {
		const leaf = base.entries.get(base.leafId)!;
		if (nextLeaf === leaf.parentId) return [];
	}
	return dropped;
}

/** The message of the conflict error for a stale snapshot. */
export function staleMessage(sessionId: string, dropped: string[]): string {
	const shown = dropped.slice(0, 5).map(quoteId).join(', ') + (dropped.length > 5 ? `, … (${dropped.length} in all)` : '');
	return `session ${quoteId(sessionId)}: this snapshot is stale: it lacks ${dropped.length} stored ${dropped.length === 1 ? 'entry' : 'entries'} (${shown}) that another writer saved. Nothing was written. Load the session again and retry the turn, serialize turns per session, or create the store with concurrency: 'last-writer-wins'.`;
}

/** Applies a checked delta to a base state, giving the full new entry list in order. */
export function applyDeltaRecords(sessionId: string, backend: string, base: BaseState | null, delta: PreparedDelta): EntryRecord[] {
	const stored = base?.entries ?? new Map<string, StoredEntry>();
	for (const id of delta.remove) {
		if (!stored.has(id)) {
			throw new ConflictError(
				`session ${quoteId(sessionId)}: the delta removes entry ${quoteId(id)}, which is not stored; it was computed against another snapshot. Nothing was written. Load the session and save it in full.`,
				{ backend, sessionId },
			);
		}
	}
	const removed = new Set(delta.remove);
	const upserts = new Map(delta.upsert.map((e) => [e.id, e] as const));
	const out: EntryRecord[] = [];
	for (const [id, e] of stored) {
		if (removed.has(id)) continue;
		const replacement = upserts.get(id);
		if (replacement) {
			out.push(replacement);
			upserts.delete(id);
		} else out.push({ id, parentId: e.parentId, json: e.json });
	}
	for (const e of upserts.values()) out.push(e);
	if (!delta.order) return out;
	const byId = new Map(out.map((e) => [e.id, e] as const));
	if (delta.order.length !== out.length || new Set(delta.order).size !== out.length || delta.order.some((id) => !byId.has(id))) {
		throw new InvalidInputError(
			`session ${quoteId(sessionId)}: delta.order must list every entry of the resulting session exactly once (${out.length} entries).`,
			{ backend, sessionId },
		);
	}
	return delta.order.map((id) => byId.get(id)!);
}

function baseFromRecords(records: EntryRecord[], leafId: string | null): BaseState {
	const entries = new Map<string, StoredEntry>();
	for (const [pos, r] of records.entries()) entries.set(r.id, { json: r.json, parentId: r.parentId, pos });
	return { entries, leafId, nextPos: records.length, bytes: 0, headerBytes: 0, textLength: 0 };
}

/**
 * What changed from `previous` to `next`, as a `SessionDelta` that `saveDelta` accepts.
 *
 * @example
 * await store.saveDelta(id, computeDelta(lastSaved, current))
 */
export function computeDelta(previous: SessionData | null, next: SessionData): SessionDelta {
	const want = { entryJson: true, full: false };
	const prev = previous ? prepareSnapshot('delta', previous, 'delta', want) : null;
	const cur = prepareSnapshot('delta', next, 'delta', want);
	const plan = planEntries(prev ? baseFromRecords(prev.entries, prev.leafId) : null, cur.entries);
	const touched = new Set([...plan.added, ...plan.changed].map((e) => e.id));
	const { entries: _entries, ...header } = next;
	const delta: SessionDelta = {
		upsert: next.entries.filter((e: SessionEntry) => touched.has(e.id)),
		remove: plan.removed,
		header,
	};
	if (plan.rewrite) delta.order = next.entries.map((e) => e.id);
	return delta;
}

/**
 * Applies a delta to a snapshot and returns a new snapshot; `previous` is not changed.
 *
 * @example
 * const next = applyDelta(previous, computeDelta(previous, current)) // deep-equals current
 */
export function applyDelta(previous: SessionData | null, delta: SessionDelta): SessionData {
	const prev = previous ? prepareSnapshot('delta', previous, 'delta', { entryJson: true, full: false }) : null;
	const prepared = prepareDelta('delta', delta, 'delta');
	const records = applyDeltaRecords('delta', 'delta', prev ? baseFromRecords(prev.entries, prev.leafId) : null, prepared);
	return assemble(
		prepared.header,
		records.map((r) => r.json),
	);
}

/** Builds a session object from its stored header text and entry texts. */
export function assemble(header: string, entryJson: string[]): SessionData {
	const data = JSON.parse(header) as SessionData;
	data.entries = entryJson.map((j) => JSON.parse(j) as SessionEntry);
	return data;
}
