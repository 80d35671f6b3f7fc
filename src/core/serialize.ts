import { InvalidInputError, quoteId } from '../errors.js';
import type { SessionDelta } from '../types.js';

/** Longest session or entry id accepted, in UTF-16 code units. */
const MAX_ID_LENGTH = 1024;

/**
 * Deepest nesting of objects and arrays accepted, the session object being level 1 (`entries`
 * is level 2, an entry 3, its `message` 4). Far beyond any Flue session, and well inside what `JSON.stringify`, the
 * databases' JSON functions and `JSON.parse` on load handle without running out of stack.
 */
export const MAX_DEPTH = 1000;

/** One entry as a store keeps it: its key, its parent and its exact JSON text. */
export interface EntryRecord {
	id: string;
	parentId: string | null;
	json: string;
}

/** A snapshot checked and turned into text, ready for any layout. */
export interface PreparedSnapshot {
	/** JSON text of every top-level field, with `entries` kept in place as `[]`. */
	header: string;
	leafId: string | null;
	/** In session order. `json` is empty when only ids are needed (blob layouts). */
	entries: EntryRecord[];
	/** `JSON.stringify(data)`, for blob layouts. */
	full: string | null;
	/** For the next snapshot of the key, when entry identity is trusted. */
	next?: PriorSnapshot;
	/** The previous snapshot whose records this one reused for its first `reused` entries, if any. */
	priorUsed?: PriorSnapshot;
	reused: number;
}

/** Checks a session id; every store calls this first. */
export function checkSessionId(id: unknown, backend: string): asserts id is string {
	if (typeof id !== 'string') {
		throw new InvalidInputError(`session id must be a string (got ${describe(id)}). Pass the key Flue gives to save/load/delete.`, { backend });
	}
	checkKeyText(id, 'session id', backend, id);
}

function checkKeyText(text: string, what: string, backend: string, sessionId: string): void {
	if (text.length === 0) {
		throw new InvalidInputError(`${what} must not be empty.`, { backend, sessionId });
	}
	if (text.length > MAX_ID_LENGTH) {
		throw new InvalidInputError(`${what} is ${text.length} characters long; the limit is ${MAX_ID_LENGTH}. Use a shorter id.`, { backend, sessionId });
	}
	if (text.includes('\u0000') || !text.isWellFormed()) {
		throw new InvalidInputError(
			`${what} ${quoteId(text)} contains a NUL character or a lone surrogate, which databases cannot store exactly. Use well-formed Unicode text.`,
			{ backend, sessionId },
		);
	}
}

function describe(value: unknown): string {
	if (value === null) return 'null';
	if (Array.isArray(value)) return 'an array';
	if (typeof value === 'object') {
		const name = (value as object).constructor?.name;
		return name && name !== 'Object' ? `a ${name}` : 'an object';
	}
	return typeof value === 'string' ? `string ${JSON.stringify(value.slice(0, 40))}` : `${typeof value} ${String(value)}`;
}

/**
 * Proves that a value survives JSON exactly: plain objects and arrays, strings, finite numbers,
 * booleans and null. Object properties that are `undefined` are dropped, as JSON drops them.
 * Returns the path of the first offending value, or null.
 */
function findNonJson(root: unknown, withPaths: boolean, rootDepth: number): { path: string; what: string } | null {
	const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value: root, path: '', depth: rootDepth }];
	const ancestors = new Set<object>();
	// Depth-first with explicit exit markers, so cycles are told apart from shared references.
	const exits: Array<object | null> = [];
	while (stack.length > 0) {
		const top = stack.pop()!;
		if (top.value === EXIT) {
			ancestors.delete(exits.pop()!);
			continue;
		}
		const { value, path, depth } = top;
		switch (typeof value) {
			case 'string':
			case 'boolean':
				continue;
			case 'number':
				if (!Number.isFinite(value)) return { path, what: String(value) };
				continue;
			case 'object':
				break;
			default:
				return { path, what: typeof value === 'undefined' ? 'undefined' : `a ${typeof value}` };
		}
		if (value === null) continue;
		if (depth > MAX_DEPTH) return { path, what: DEEP };
		const proto = Object.getPrototypeOf(value);
		const isArray = Array.isArray(value);
		if (!isArray && proto !== Object.prototype && proto !== null) {
			return { path, what: describe(value) };
		}
		if (ancestors.has(value)) return { path, what: 'a circular reference' };
		ancestors.add(value);
		exits.push(value);
		stack.push({ value: EXIT, path, depth });
		if (isArray) {
			const arr = value as unknown[];
			for (let i = arr.length - 1; i >= 0; i--) stack.push({ value: arr[i], path: withPaths ? `${path}[${i}]` : '', depth: depth + 1 });
		} else {
			for (const key of Object.keys(value)) {
				const child = (value as Record<string, unknown>)[key];
				if (child === undefined) continue;
				stack.push({ value: child, path: withPaths ? (path ? `${path}.${key}` : key) : '', depth: depth + 1 });
			}
		}
	}
	return null;
}
const EXIT = Symbol('exit');
const DEEP = 'too deep';

function assertJson(value: unknown, where: string, backend: string, sessionId: string, depth: number): void {
	// Paths are built only on the second walk, when there is something to report.
	const bad = findNonJson(value, false, depth) && findNonJson(value, true, depth);
	if (bad) {
		const at = bad.path ? `${where}.${bad.path}` : where;
		const shown = at.length > 200 ? `${at.slice(0, 200)}…` : at;
		if (bad.what === DEEP) {
			throw new InvalidInputError(
				`session ${quoteId(sessionId)}: ${shown} is nested more than ${MAX_DEPTH} levels deep (the session object being level 1), the limit a store accepts. Nothing was written. Flatten the value or store it as a JSON string.`,
				{ backend, sessionId },
			);
		}
		throw new InvalidInputError(
			`session ${quoteId(sessionId)}: ${shown} is ${bad.what}, which JSON cannot keep exactly. Store plain JSON values (convert dates to ISO strings, drop functions).`,
			{ backend, sessionId },
		);
	}
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
	if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
	const proto = Object.getPrototypeOf(value);
	return proto === Object.prototype || proto === null;
}

function checkEntryShape(
	entry: unknown,
	index: number,
	seen: Set<string>,
	backend: string,
	sessionId: string,
): asserts entry is Record<string, unknown> & { id: string } {
	if (!isPlainObject(entry)) {
		throw new InvalidInputError(`session ${quoteId(sessionId)}: entries[${index}] is ${describe(entry)}; every entry must be an object.`, {
			backend,
			sessionId,
		});
	}
	const { id, parentId } = entry;
	if (typeof id !== 'string') {
		throw new InvalidInputError(`session ${quoteId(sessionId)}: entries[${index}].id is ${describe(id)}; every entry needs a string id.`, {
			backend,
			sessionId,
		});
	}
	checkKeyText(id, `entries[${index}].id`, backend, sessionId);
	if (parentId !== undefined && parentId !== null && typeof parentId !== 'string') {
		throw new InvalidInputError(`session ${quoteId(sessionId)}: entries[${index}].parentId is ${describe(parentId)}; it must be a string or null.`, {
			backend,
			sessionId,
		});
	}
	if (typeof parentId === 'string' && (parentId.includes('\u0000') || !parentId.isWellFormed())) {
		throw new InvalidInputError(
			`session ${quoteId(sessionId)}: entries[${index}].parentId contains a NUL character or a lone surrogate, which databases cannot store exactly.`,
			{ backend, sessionId },
		);
	}
	if (seen.has(id)) {
		throw new InvalidInputError(`session ${quoteId(sessionId)}: entry id ${quoteId(id)} appears twice; entry ids must be unique within a session.`, {
			backend,
			sessionId,
		});
	}
	seen.add(id);
}

function checkLeaf(leafId: unknown, backend: string, sessionId: string): string | null {
	if (leafId === undefined || leafId === null) return null;
	if (typeof leafId !== 'string') {
		throw new InvalidInputError(`session ${quoteId(sessionId)}: leafId is ${describe(leafId)}; it must be a string or null.`, { backend, sessionId });
	}
	return leafId;
}

/**
 * Checks a full snapshot and turns it into text in one synchronous step, so that a caller who
 * changes the object after `save()` returns cannot change what is written.
 */
export function prepareSnapshot(
	id: string,
	data: unknown,
	backend: string,
	want: { entryJson: boolean; full: boolean },
	memo?: EntryMemo,
	trustIdentity = false,
	prior?: PriorSnapshot,
): PreparedSnapshot {
	if (!isPlainObject(data)) {
		throw new InvalidInputError(`session ${quoteId(id)}: data is ${describe(data)}; save() takes the SessionData object Flue passes.`, {
			backend,
			sessionId: id,
		});
	}
	if (!Array.isArray(data.entries)) {
		throw new InvalidInputError(
			`session ${quoteId(id)}: data.entries is ${describe(data.entries)}; a session needs an entries array (use [] for an empty one).`,
			{ backend, sessionId: id },
		);
	}
	const header = { ...data, entries: [] };
	assertJson(header, 'data', backend, id, 1);
	const leafId = checkLeaf(data.leafId, backend, id);
	const list = data.entries as unknown[];
	// Fast path (entry identity trusted): a snapshot that keeps every entry object of the previous
	// one, in place, and appends new ones costs only its new entries, not the whole conversation.
	let start = 0;
	let entries: EntryRecord[];
	let index: Map<string, number>;
	// A shorter common prefix (the leaf dropped after a context overflow) still reuses what it covers.
	const common = trustIdentity && want.entryJson && prior ? commonPrefix(list, prior.refs) : 0;
	if (prior && common > 0) {
		start = common;
		entries = prior.entries.slice(0, start);
		entries.length = list.length;
		// The prior's index may map ids past the common prefix (a dropped leaf whose id Flue may use again):
		// only a full prefix can share it.
		index = start === prior.refs.length && prior.index ? prior.index : indexOf(prior.entries, start);
	} else {
		entries = new Array(list.length);
		index = new Map();
	}
	const seen = new Set<string>();
	for (let i = start; i < list.length; i++) {
		const entry: unknown = list[i];
		checkEntryShape(entry, i, seen, backend, id);
		if (start > 0 && (index.get(entry.id) ?? start) < start) {
			throw new InvalidInputError(`session ${quoteId(id)}: entry id ${quoteId(entry.id)} appears twice; entry ids must be unique within a session.`, {
				backend,
				sessionId: id,
			});
		}
		let json = '';
		const known = memo?.get(entry);
		if (known && (known.json !== null || !want.entryJson) && (trustIdentity || sameTree(entry, known.shadow))) {
			json = known.json ?? '';
		} else {
			assertJson(entry, `data.entries[${i}]`, backend, id, 3);
			const text = want.entryJson ? JSON.stringify(entry) : null;
			json = text ?? '';
			memo?.set(entry, { shadow: trustIdentity ? null : shadowOf(entry), json: text });
		}
		entries[i] = { id: entry.id, parentId: typeof entry.parentId === 'string' ? entry.parentId : null, json };
	}
	if (trustIdentity && want.entryJson) {
		for (let i = start; i < list.length; i++) index.set(entries[i]!.id, i);
	}
	return {
		header: JSON.stringify(header),
		leafId,
		entries,
		full: want.full ? JSON.stringify(data) : null,
		next: trustIdentity && want.entryJson ? { refs: list.slice(), entries, index } : undefined,
		priorUsed: start > 0 ? prior : undefined,
		reused: start,
	};
}

/** What the fast path of `prepareSnapshot` remembers of the previous snapshot of a key. */
export interface PriorSnapshot {
	/** The entry objects, as the caller passed them. */
	refs: unknown[];
	entries: EntryRecord[];
	/** Entry id → position, valid for positions below `refs.length`; null until a save needs it. */
	index: Map<string, number> | null;
}

function indexOf(records: readonly EntryRecord[], count: number): Map<string, number> {
	const index = new Map<string, number>();
	for (let i = 0; i < count; i++) index.set(records[i]!.id, i);
	return index;
}

/** How many leading objects `list` and `refs` share (identity, not content). */
function commonPrefix(list: readonly unknown[], refs: readonly unknown[]): number {
	const n = Math.min(list.length, refs.length);
	let i = 0;
	while (i < n && list[i] === refs[i]) i++;
	return i;
}

/** True when `list` starts with exactly the objects of `refs`, in order (identity, not content). */
export function samePrefix(list: readonly unknown[], refs: readonly unknown[]): boolean {
	if (refs.length > list.length) return false;
	for (let i = 0; i < refs.length; i++) if (list[i] !== refs[i]) return false;
	return true;
}

/**
 * Remembers, per entry object, a structural copy and its JSON text. Flue passes the same entry
 * objects on every save, so comparing a tree against its copy (strings compare by reference in
 * the common case) finds unchanged entries in time proportional to their node count, not their
 * bytes, and a save at turn 1,000 does not re-serialize 999 turns. An entry edited in place no
 * longer matches its copy and is serialized again.
 */
export type EntryMemo = WeakMap<object, { shadow: Shadow; json: string | null }>;

/** A structural copy: arrays copied, objects as [keys, values] pairs, leaves shared. */
type Shadow = unknown;
class ObjectShadow {
	constructor(
		readonly keys: string[],
		readonly values: Shadow[],
	) {}
}

function shadowOf(value: unknown): Shadow {
	if (typeof value !== 'object' || value === null) return value;
	if (Array.isArray(value)) return value.map(shadowOf);
	const keys: string[] = [];
	const values: Shadow[] = [];
	for (const key in value) {
		keys.push(key);
		values.push(shadowOf((value as Record<string, unknown>)[key]));
	}
	return new ObjectShadow(keys, values);
}

function sameTree(value: unknown, shadow: Shadow, depth = 0): boolean {
	if (typeof value !== 'object' || value === null) return value === shadow;
	if (depth > 500) return false;
	if (Array.isArray(value)) {
		if (!Array.isArray(shadow) || value.length !== shadow.length) return false;
		for (let i = 0; i < value.length; i++) if (!sameTree(value[i], shadow[i], depth + 1)) return false;
		return true;
	}
	if (!(shadow instanceof ObjectShadow) || Object.getPrototypeOf(value) !== Object.prototype) return false;
	const { keys, values } = shadow;
	let i = 0;
	for (const key in value) {
		if (i >= keys.length || key !== keys[i] || !sameTree((value as Record<string, unknown>)[key], values[i], depth + 1)) return false;
		i++;
	}
	return i === keys.length;
}

/** JSON of the top-level fields with `entries` as `[]` in its own place, so key order survives. */
export function headerText(data: Record<string, unknown>): string {
	return JSON.stringify({ ...data, entries: [] });
}

/** A delta checked and turned into text. */
export interface PreparedDelta {
	header: string;
	leafId: string | null;
	upsert: EntryRecord[];
	remove: string[];
	order: string[] | null;
}

/** Checks a delta the same way `prepareSnapshot` checks a full snapshot. */
export function prepareDelta(id: string, delta: unknown, backend: string): PreparedDelta {
	if (!isPlainObject(delta)) {
		throw new InvalidInputError(`session ${quoteId(id)}: delta is ${describe(delta)}; saveDelta() takes { upsert, remove, header }.`, {
			backend,
			sessionId: id,
		});
	}
	const { upsert, remove, header, order } = delta as Partial<SessionDelta>;
	if (!Array.isArray(upsert) || !Array.isArray(remove) || !isPlainObject(header)) {
		throw new InvalidInputError(`session ${quoteId(id)}: a delta needs upsert (array), remove (array of ids) and header (object).`, { backend, sessionId: id });
	}
	if ('entries' in header) {
		throw new InvalidInputError(`session ${quoteId(id)}: delta.header must not contain entries; put entries in upsert and remove.`, { backend, sessionId: id });
	}
	assertJson(header, 'delta.header', backend, id, 1);
	assertJson(upsert, 'delta.upsert', backend, id, 2);
	const seen = new Set<string>();
	const records = upsert.map((entry: unknown, i: number) => {
		checkEntryShape(entry, i, seen, backend, id);
		return { id: entry.id, parentId: typeof entry.parentId === 'string' ? entry.parentId : null, json: JSON.stringify(entry) };
	});
	for (const r of remove) {
		if (typeof r !== 'string') {
			throw new InvalidInputError(`session ${quoteId(id)}: delta.remove holds ${describe(r)}; it must list entry ids.`, { backend, sessionId: id });
		}
		if (seen.has(r)) {
			throw new InvalidInputError(`session ${quoteId(id)}: entry ${quoteId(r)} is both upserted and removed in one delta.`, { backend, sessionId: id });
		}
	}
	let orderList: string[] | null = null;
	if (order !== undefined) {
		if (!Array.isArray(order) || order.some((o) => typeof o !== 'string')) {
			throw new InvalidInputError(`session ${quoteId(id)}: delta.order must be an array of entry ids.`, { backend, sessionId: id });
		}
		orderList = order;
	}
	return {
		header: headerText({ ...(header as Record<string, unknown>) }),
		leafId: checkLeaf((header as Record<string, unknown>).leafId, backend, id),
		upsert: records,
		remove: remove as string[],
		order: orderList,
	};
}

/** UTF-8 length of a string without allocating. */
export function utf8Length(text: string): number {
	let bytes = text.length;
	for (let i = 0; i < text.length; i++) {
		const c = text.charCodeAt(i);
		if (c < 0x80) continue;
		if (c < 0x800) bytes += 1;
		else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
			const d = text.charCodeAt(i + 1);
			if (d >= 0xdc00 && d <= 0xdfff) {
				bytes += 2; // 4 bytes for 2 code units
				i++;
			} else bytes += 2;
		} else bytes += 2;
	}
	return bytes;
}
