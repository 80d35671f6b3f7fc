/**
 * The part of every store that does not depend on the database: input checks, per-key ordering,
 * the cache of what was persisted, the delta plan and the concurrency rules. A backend supplies
 * a `StorageAdapter` with its I/O and nothing else.
 */
import { BackendError, ConfigError, ConflictError, CorruptError, type FluePersistError, InvalidInputError, isFluePersistError, quoteId } from '../errors.js';
import type {
	ConcurrencyMode,
	FluePersistStore,
	Layout,
	ListOptions,
	ListPage,
	SessionData,
	SessionDelta,
	SessionListItem,
	StoreCapabilities,
} from '../types.js';
import { appendPlan, applyDeltaRecords, assemble, type BaseState, type EntryPlan, planEntries, type StoredEntry, staleDropsOf, staleMessage } from './delta.js';
import { KeyedQueue } from './keyed-queue.js';
import {
	checkSessionId,
	type EntryMemo,
	type EntryRecord,
	type PreparedSnapshot,
	type PriorSnapshot,
	prepareDelta,
	prepareSnapshot,
	samePrefix,
	utf8Length,
} from './serialize.js';

/** A session as a log layout stores it. */
export interface RawLogSession {
	rev: number;
	header: string;
	/** The stored `bytes` of the session, when the layout keeps it; computed when absent. */
	bytes?: number;
	/** In session order. */
	entries: Array<EntryRecord & { pos: number }>;
}

/** A session as a blob layout stores it. */
export interface RawBlobSession {
	rev: number;
	full: string;
}

/** Everything a backend needs to write one save atomically. */
export interface WritePlan {
	id: string;
	/** The revision the writer based its snapshot on; `null` means "the session must not exist". */
	expectedRev: number | null;
	/** The new revision: also the `updated_at` in milliseconds. */
	rev: number;
	header: string;
	/** Full JSON text (blob layouts only). */
	full: string | null;
	/** Entry changes (log layouts only). */
	plan: EntryPlan | null;
	/** UTF-8 bytes of header and entries (log layouts only). */
	bytes: number;
}

/** Thrown by an adapter when the stored revision is not `expectedRev`; nothing was written. */
export class StaleRevisionError extends Error {
	constructor(readonly sessionId: string) {
		super(`stale revision for ${sessionId}`);
		this.name = 'StaleRevisionError';
	}
}

/** The I/O of one backend in one layout. */
export interface StorageAdapter {
	readonly backend: string;
	readonly layout: Layout | 'memory';
	/** Creates or checks the schema and the format stamp. Called once, before any other call. */
	init(): Promise<void>;
	/** One consistent read of a session, or null. Log layouts return `RawLogSession`, others `RawBlobSession`. */
	read(id: string): Promise<RawLogSession | RawBlobSession | null>;
	/** One atomic write; throws `StaleRevisionError` when the stored revision is not `plan.expectedRev`. */
	write(plan: WritePlan): Promise<void>;
	remove(id: string): Promise<void>;
	list(options: { prefix: string; limit: number; cursor: string | null }): Promise<ListPage>;
	close(): Promise<void>;
	/** Turns a driver error into a typed one where the backend knows better than BACKEND. */
	classifyError?(error: unknown, sessionId: string | undefined): FluePersistError | undefined;
	/** Why this store may not write (known once `init` has run), or null: saves and deletes are then refused before any I/O. */
	readOnlyReason?(): string | null;
}

export interface EngineOptions {
	concurrency?: ConcurrencyMode;
	/** Bytes of entry text kept in memory to diff saves without reading the database. Default 64 MiB. */
	cacheBytes?: number;
	capabilities: Pick<StoreCapabilities, 'durable' | 'maxSessionBytes'>;
	/**
	 * Promise that an entry object, once saved, is never changed in place (Flue appends new entry
	 * objects and never edits old ones). The store then recognises unchanged entries by identity
	 * alone instead of comparing them node by node. Default false: an entry edited in place is
	 * always detected.
	 */
	immutableEntries?: boolean;
}

const MAX_KNOWN_KEYS = 100_000;
/** Entries at the end of a loaded session that carry its lineage themselves (besides its metadata). */
const TAGGED_ON_LOAD = 8;
/** Attempts a last-writer-wins save makes while other writers keep moving the revision. */
const LWW_ATTEMPTS = 32;
/** Page size `listAll` reads with: the largest `list` accepts. */
const LIST_ALL_PAGE = 1000;

/** What this store instance knows about one key. */
interface Known {
	/** Revision last read or written; null when the session was seen absent. */
	rev: number | null;
	/** Entries as persisted at `rev`; undefined when evicted from the cache. */
	base: BaseState | undefined;
	cachedBytes: number;
	/** The prepared snapshot written at `rev`, when this instance wrote it: its records are `base`'s entries. */
	committed?: PriorSnapshot;
}

/**
 * The revision a group of session objects belongs to. Every entry object and `metadata` object
 * that `load` hands out or `save` accepts is tagged with one; objects of one snapshot share it, so
 * moving the whole group to a new revision after a save is one assignment. A snapshot whose tagged
 * objects belong to an older revision than the one stored was built from a stale copy.
 */
interface Lineage {
	readonly key: string;
	/** The revision the objects were read or written at; null when they were saved into an absent session. */
	rev: number | null;
	/** The revision of a write whose outcome is unknown (the connection dropped): it may be the stored one. */
	inDoubt: number | null;
}

/** The lineages a snapshot's objects carry, and how many of its entries are the last snapshot's objects. */
interface Carriers {
	lineages: Lineage[];
	/** Entry objects in snapshot order (a copy of the caller's array). */
	objects: readonly unknown[];
	metadata: unknown;
	/** Leading objects known to be the key's head snapshot, all of its lineage. */
	from: number;
}

/** A target snapshot, as text. */
interface Target {
	header: string;
	leafId: string | null;
	entries: EntryRecord[];
	full: string | null;
}

/** Validates the options every store shares; returns the concurrency mode. */
export function checkConcurrency(value: unknown, backend: string): ConcurrencyMode {
	if (value === undefined) return 'optimistic';
	if (value === 'optimistic' || value === 'last-writer-wins') return value;
	throw new ConfigError(`option concurrency must be 'optimistic' or 'last-writer-wins' (got ${JSON.stringify(value)}).`, { backend });
}

/** Validates a `layout` option. */
export function checkLayout(value: unknown, backend: string, fallback: Layout): Layout {
	if (value === undefined) return fallback;
	if (value === 'blob' || value === 'log') return value;
	throw new ConfigError(`option layout must be 'blob' or 'log' (got ${JSON.stringify(value)}).`, { backend });
}

/**
 * Builds a store around an adapter.
 *
 * @example
 * const store = createStore(myAdapter, { capabilities: { durable: true, maxSessionBytes: 64 << 20 } })
 */
export function createStore(adapter: StorageAdapter, options: EngineOptions): FluePersistStore {
	return new Engine(adapter, options);
}

class Engine implements FluePersistStore {
	readonly backend: string;
	readonly layout: Layout | 'memory';
	readonly concurrency: ConcurrencyMode;
	readonly capabilities: StoreCapabilities;
	private readonly queue = new KeyedQueue();
	private readonly memo: EntryMemo = new WeakMap();
	private readonly immutableEntries: boolean;
	/** Per key, the last snapshot prepared (immutableEntries only); its size is bounded like the cache's. */
	private readonly priors = new Map<string, PriorSnapshot>();
	/** Lineage tag of each entry and metadata object this instance handed out or accepted. */
	private readonly lineage = new WeakMap<object, Lineage>();
	/** Per key, the entry objects of the last snapshot written or loaded, and their lineage. */
	private readonly heads = new Map<string, { refs: readonly unknown[]; lineage: Lineage }>();
	private readonly known = new Map<string, Known>();
	private readonly cacheLimit: number;
	private cachedTotal = 0;
	private initPromise: Promise<void> | null = null;
	private closed = false;

	constructor(
		private readonly adapter: StorageAdapter,
		options: EngineOptions,
	) {
		this.backend = adapter.backend;
		this.layout = adapter.layout;
		this.concurrency = checkConcurrency(options.concurrency, adapter.backend);
		const cacheBytes = options.cacheBytes ?? 64 * 1024 * 1024;
		if (!Number.isInteger(cacheBytes) || cacheBytes < 0) {
			throw new ConfigError(`option cacheBytes must be a whole number of bytes, 0 or more (got ${String(cacheBytes)}).`, { backend: this.backend });
		}
		this.cacheLimit = cacheBytes;
		if (options.immutableEntries !== undefined && typeof options.immutableEntries !== 'boolean') {
			throw new ConfigError(`option immutableEntries must be true or false (got ${JSON.stringify(options.immutableEntries)}).`, { backend: this.backend });
		}
		this.immutableEntries = options.immutableEntries ?? false;
		this.capabilities = Object.freeze({ saveDelta: true, list: true, lineage: true, ...options.capabilities });
	}

	private get isLog(): boolean {
		return this.layout === 'log';
	}

	save(id: string, data: SessionData): Promise<void> {
		try {
			this.assertOpen();
			checkSessionId(id, this.backend);
			// Checked and serialized now, before any await: later changes to `data` cannot leak in.
			const snap = prepareSnapshot(id, data, this.backend, { entryJson: this.isLog, full: !this.isLog }, this.memo, this.immutableEntries, this.priors.get(id));
			if (snap.next) this.priors.set(id, snap.next);
			const carriers = this.carriersOf(id, (data as SessionData).entries, (data as SessionData).metadata, true);
			return this.queue.run(id, () => this.commit(id, () => snap, { needEntryJson: false, historyCheck: true, carriers, snap }));
		} catch (error) {
			return Promise.reject(error);
		}
	}

	saveDelta(id: string, delta: SessionDelta): Promise<void> {
		try {
			this.assertOpen();
			checkSessionId(id, this.backend);
			const prepared = prepareDelta(id, delta, this.backend);
			const carriers = this.carriersOf(id, delta.upsert, (delta.header as { metadata?: unknown }).metadata, false);
			return this.queue.run(id, () =>
				this.commit(
					id,
					(base) => {
						const entries = applyDeltaRecords(id, this.backend, base, prepared);
						let full: string | null = null;
						if (!this.isLog)
							full = JSON.stringify(
								assemble(
									prepared.header,
									entries.map((e) => e.json),
								),
							);
						return { header: prepared.header, leafId: prepared.leafId, entries, full };
					},
					// Removals in a delta are named on purpose, so only revision and lineage guard it.
					{ needEntryJson: !this.isLog, historyCheck: false, carriers },
				),
			);
		} catch (error) {
			return Promise.reject(error);
		}
	}

	load<T extends SessionData = SessionData>(id: string): Promise<T | null> {
		return this.queued(id, async () => {
			await this.ready();
			const found = await this.readState(id, false);
			let prior: PriorSnapshot | undefined;
			if (found?.records && this.immutableEntries) {
				// Entry identity is trusted: the objects handed out are the stored texts, so the next save that
				// keeps them costs its new entries alone, also right after a restart.
				prior = { refs: found.data.entries.slice(), entries: found.records, index: null };
				this.priors.set(id, prior);
			}
			this.remember(id, found ? found.rev : null, found ? found.base : undefined, prior);
			if (!found) return null;
			// The objects handed out belong to this revision: a save built from them later is checked against
			// it. The head covers a snapshot that starts with them; the metadata object and the last entries
			// carry the lineage on their own, which any snapshot built from this copy keeps unless it drops
			// them (and then the history check sees the drop). Tagging every entry would cost the load a
			// WeakMap insertion per entry.
			const lineage: Lineage = { key: id, rev: found.rev, inDoubt: null };
			const entries = Array.isArray(found.data.entries) ? found.data.entries : [];
			for (let i = Math.max(0, entries.length - TAGGED_ON_LOAD); i < entries.length; i++) this.tag(entries[i], lineage, true);
			this.tag(found.data.metadata, lineage, true);
			this.heads.set(id, { refs: entries.slice(), lineage });
			return found.data as T;
		});
	}

	delete(id: string): Promise<void> {
		return this.queued(id, async () => {
			await this.ready();
			this.refuseReadOnly(id);
			await this.io(id, () => this.adapter.remove(id));
			this.remember(id, null, undefined);
			// Objects of the deleted session keep their old revision: a save built from them is stale.
			this.heads.delete(id);
			this.priors.delete(id);
		});
	}

	async list(options: ListOptions = {}): Promise<ListPage> {
		this.assertOpen();
		const { prefix = '', limit = 100, cursor = null } = options ?? {};
		if (typeof prefix !== 'string') throw new InvalidInputError(`list: prefix must be a string (got ${typeof prefix}).`, { backend: this.backend });
		if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
			throw new InvalidInputError(`list: limit must be a whole number from 1 to 1000 (got ${String(limit)}).`, { backend: this.backend });
		}
		if (cursor !== null && typeof cursor !== 'string')
			throw new InvalidInputError('list: cursor must be the string a previous page returned, or null.', { backend: this.backend });
		await this.ready();
		return this.io(undefined, () => this.adapter.list({ prefix, limit, cursor }));
	}

	async *listAll(options: { prefix?: string } = {}): AsyncGenerator<SessionListItem, void, undefined> {
		let cursor: string | null = null;
		do {
			const page: ListPage = await this.list({ prefix: options?.prefix ?? '', limit: LIST_ALL_PAGE, cursor });
			yield* page.sessions;
			cursor = page.cursor;
		} while (cursor !== null);
	}

	has(id: string): Promise<boolean> {
		// Queued with the key's saves and deletes, so it answers after the calls made before it. The
		// smallest id that starts with `id` is `id` itself, so one row of the prefix listing tells.
		return this.queued(id, async () => {
			await this.ready();
			const page = await this.io(id, () => this.adapter.list({ prefix: id, limit: 1, cursor: null }));
			return page.sessions[0]?.id === id;
		});
	}

	async close(): Promise<void> {
		if (this.closed) return;
		this.closed = true;
		await this.queue.drain();
		this.known.clear();
		this.priors.clear();
		this.heads.clear();
		await this.io(undefined, () => this.adapter.close());
	}

	/** Checks the store and the id, then runs `task` in the key's queue. */
	private queued<T>(id: string, task: () => Promise<T>): Promise<T> {
		try {
			this.assertOpen();
			checkSessionId(id, this.backend);
		} catch (error) {
			return Promise.reject(error);
		}
		return this.queue.run(id, task);
	}

	private assertOpen(): void {
		if (this.closed) throw new ConfigError('this store is closed; create a new one.', { backend: this.backend });
	}

	/** A read-only store refuses a save or delete before it reads or writes anything. */
	private refuseReadOnly(id: string): void {
		const reason = this.adapter.readOnlyReason?.();
		if (reason) {
			throw new ConfigError(`session ${quoteId(id)} was not changed: ${reason}, so this store only loads and lists. Nothing was written.`, {
				backend: this.backend,
				sessionId: id,
			});
		}
	}

	private ready(): Promise<void> {
		if (!this.initPromise) {
			this.initPromise = this.io(undefined, () => this.adapter.init()).catch((error: unknown) => {
				this.initPromise = null; // a server that was down at startup may come back
				throw error;
			});
		}
		return this.initPromise;
	}

	/** Runs adapter I/O, turning driver errors into typed ones. */
	private async io<T>(sessionId: string | undefined, fn: () => Promise<T>): Promise<T> {
		try {
			return await fn();
		} catch (error) {
			if (error instanceof StaleRevisionError || isFluePersistError(error)) throw error;
			const typed = this.adapter.classifyError?.(error, sessionId);
			if (typed) throw typed;
			const what = sessionId === undefined ? '' : `session ${quoteId(sessionId)}: `;
			const reason = error instanceof Error ? error.message : String(error);
			throw new BackendError(`${what}the database call failed: ${reason}. Nothing is known to have changed; check that the database is reachable and retry.`, {
				backend: this.backend,
				sessionId,
				cause: error,
			});
		}
	}

	/** Reads a session and turns it into data plus a base state to diff against. */
	private async readState(
		id: string,
		needEntryJson: boolean,
	): Promise<{ rev: number; data: SessionData; base: BaseState; records?: Array<EntryRecord & { pos: number }> } | null> {
		const raw = await this.io(id, () => this.adapter.read(id));
		if (!raw) return null;
		const corrupt = (detail: string, cause?: unknown) =>
			new CorruptError(
				`session ${quoteId(id)}: the stored data cannot be read back (${detail}). Nothing was changed. Run \`flue-persist doctor\` to find the damage, or delete the session.`,
				{
					backend: this.backend,
					sessionId: id,
					cause,
				},
			);
		const entries = new Map<string, StoredEntry>();
		if ('full' in raw) {
			let data: SessionData;
			try {
				data = JSON.parse(raw.full) as SessionData;
			} catch (cause) {
				throw corrupt('not valid JSON', cause);
			}
			if (typeof data !== 'object' || data === null || !Array.isArray(data.entries)) throw corrupt('no entries array');
			data.entries.forEach((e, pos) => {
				if (typeof e?.id !== 'string') throw corrupt(`entries[${pos}] has no id`);
				entries.set(e.id, { json: needEntryJson ? JSON.stringify(e) : '', parentId: typeof e.parentId === 'string' ? e.parentId : null, pos });
			});
			return {
				rev: raw.rev,
				data,
				base: { entries, leafId: typeof data.leafId === 'string' ? data.leafId : null, nextPos: data.entries.length, bytes: 0, headerBytes: 0, textLength: 0 },
			};
		}
		let data: SessionData;
		try {
			data = assemble(raw.header, []);
		} catch (cause) {
			throw corrupt('the header is not valid JSON', cause);
		}
		let nextPos = 0;
		let textLength = 0;
		for (const e of raw.entries) {
			let parsed: SessionData['entries'][number];
			try {
				parsed = JSON.parse(e.json);
			} catch (cause) {
				throw corrupt(`entry ${quoteId(e.id)} is not valid JSON`, cause);
			}
			data.entries.push(parsed);
			entries.set(e.id, { json: e.json, parentId: e.parentId, pos: e.pos });
			textLength += e.json.length;
			if (e.pos >= nextPos) nextPos = e.pos + 1;
		}
		const headerBytes = utf8Length(raw.header);
		let bytes = raw.bytes;
		if (bytes === undefined) {
			bytes = headerBytes;
			for (const e of raw.entries) bytes += utf8Length(e.json);
		}
		return {
			rev: raw.rev,
			data,
			base: { entries, leafId: typeof data.leafId === 'string' ? data.leafId : null, nextPos, bytes, headerBytes, textLength },
			records: raw.entries,
		};
	}

	/** Collects the lineages of a snapshot's objects; `useHead` lets a snapshot that extends the head skip its prefix. */
	private carriersOf(id: string, list: readonly unknown[], metadata: unknown, useHead: boolean): Carriers {
		const lineages: Lineage[] = [];
		const objects = list.slice();
		let from = 0;
		const head = useHead ? this.heads.get(id) : undefined;
		// Flue's call shape: the last snapshot's entry objects, in place, then new ones. Only the new
		// ones can carry another lineage, so a save costs its new entries, not the conversation.
		if (head && head.refs.length > 0 && samePrefix(objects, head.refs)) {
			from = head.refs.length;
			lineages.push(head.lineage);
		}
		const add = (value: unknown) => {
			if (typeof value !== 'object' || value === null) return;
			const l = this.lineage.get(value);
			if (l && l.key === id && !lineages.includes(l)) lineages.push(l);
		};
		for (let i = from; i < objects.length; i++) add(objects[i]);
		add(metadata);
		return { lineages, objects, metadata, from };
	}

	/** Tags an object with a lineage; without `force`, only an object that has none for this key. */
	private tag(value: unknown, lineage: Lineage, force: boolean): void {
		if (typeof value !== 'object' || value === null) return;
		if (!force && this.lineage.get(value)?.key === lineage.key) return;
		this.lineage.set(value, lineage);
	}

	/** After a successful write: the snapshot's objects now belong to the new revision. */
	private advance(id: string, carriers: Carriers, rev: number, isFull: boolean): void {
		const { lineages, objects, metadata } = carriers;
		const single = lineages.length === 1;
		const lineage: Lineage = single ? lineages[0]! : { key: id, rev, inDoubt: null };
		lineage.rev = rev;
		lineage.inDoubt = null;
		// One lineage: only the objects it does not cover yet need a tag. None or several: one new lineage for all.
		for (let i = single ? carriers.from : 0; i < objects.length; i++) this.tag(objects[i], lineage, !single);
		this.tag(metadata, lineage, !single);
		if (isFull) this.heads.set(id, { refs: objects, lineage });
		else this.heads.delete(id);
	}

	/** The core of save and saveDelta: diff, check, write, remember. */
	private async commit(
		id: string,
		build: (base: BaseState | null) => Target,
		opts: { needEntryJson: boolean; historyCheck: boolean; carriers: Carriers; snap?: PreparedSnapshot },
	): Promise<void> {
		await this.ready();
		this.refuseReadOnly(id);
		const { carriers, snap } = opts;
		for (let attempt = 0; ; attempt++) {
			const known = this.known.get(id);
			let base: BaseState | null;
			let rev: number | null;
			if (known && (known.base !== undefined || known.rev === null) && !opts.needEntryJson) {
				base = known.base ?? null;
				rev = known.rev;
			} else {
				const fresh = await this.readState(id, opts.needEntryJson);
				const freshRev = fresh ? fresh.rev : null;
				if (this.concurrency === 'optimistic' && known && known.rev !== freshRev) {
					throw this.revisionConflict(id);
				}
				base = fresh ? fresh.base : null;
				rev = freshRev;
			}
			if (this.concurrency === 'optimistic') {
				// Objects read or written at an older revision than the stored one: a stale copy, even
				// when it drops nothing (a metadata change, or new entries on top of an old history).
				for (const l of carriers.lineages) {
					if (l.rev !== rev && !(l.inDoubt !== null && l.inDoubt === rev)) throw this.lineageConflict(id);
				}
			}
			const target = build(base);
			// Appending to the snapshot this instance last wrote (entry identity trusted): nothing can have
			// been dropped or changed, so the plan is the new entries alone.
			const appended =
				this.isLog &&
				snap?.priorUsed !== undefined &&
				known?.committed === snap.priorUsed &&
				base !== null &&
				known.rev === rev &&
				base.entries.size === snap.reused;
			if (!appended && this.concurrency === 'optimistic' && opts.historyCheck && base) {
				const dropped = staleDropsOf(base, target.entries, target.leafId);
				if (dropped.length > 0) throw new ConflictError(staleMessage(id, dropped), { backend: this.backend, sessionId: id });
			}
			const plan = !this.isLog ? null : appended ? appendPlan(base!, target.entries, snap!.reused) : planEntries(base, target.entries);
			// Sizes change by what the plan touches, so a long session costs no more to save than a short one.
			let bytes = 0;
			let headerBytes = 0;
			if (plan) {
				headerBytes = utf8Length(target.header);
				bytes = (base ? base.bytes - base.headerBytes : 0) + headerBytes;
				for (const rid of plan.removed) bytes -= utf8Length(base!.entries.get(rid)!.json);
				for (const e of plan.changed) bytes += utf8Length(e.json) - utf8Length(base!.entries.get(e.id)!.json);
				for (const e of plan.added) bytes += utf8Length(e.json);
			}
			const write: WritePlan = {
				id,
				expectedRev: rev,
				rev: Math.max(Date.now(), (rev ?? 0) + 1),
				header: target.header,
				full: target.full,
				plan,
				bytes,
			};
			try {
				await this.io(id, () => this.adapter.write(write));
			} catch (error) {
				if (!(error instanceof StaleRevisionError)) {
					// A dropped connection can hide a write that committed: read the truth next time, and
					// let the caller's objects match either revision.
					this.forget(id);
					for (const l of carriers.lineages) l.inDoubt = write.rev;
					throw error;
				}
				if (this.concurrency === 'optimistic') throw this.revisionConflict(id);
				this.forget(id); // last-writer-wins: read what is there now and write over it
				if (attempt + 1 >= LWW_ATTEMPTS) {
					throw new ConflictError(
						`session ${quoteId(id)}: other writers saved this session before each of ${LWW_ATTEMPTS} attempts to write over it (last-writer-wins). Nothing was written. Retry the save, or serialize writers of one session.`,
						{ backend: this.backend, sessionId: id },
					);
				}
				// Spread contending writers apart so one of them gets through each round.
				await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 * (attempt + 1))));
				continue;
			}
			this.remember(id, write.rev, this.nextBase(base, target, plan, bytes, headerBytes), snap?.next);
			this.advance(id, carriers, write.rev, snap !== undefined);
			return;
		}
	}

	private lineageConflict(id: string): ConflictError {
		return new ConflictError(
			`session ${quoteId(id)}: this snapshot was built from session objects read or saved before the latest save of this session (another caller saved since), so it is stale and would undo that save. Nothing was written. Load the session again and retry the turn, serialize turns per session, or create the store with concurrency: 'last-writer-wins'.`,
			{ backend: this.backend, sessionId: id },
		);
	}

	private revisionConflict(id: string): ConflictError {
		return new ConflictError(
			`session ${quoteId(id)}: another writer saved this session after this store last read it, so this snapshot is stale. Nothing was written. Load the session again and retry the turn, serialize turns per session, or create the store with concurrency: 'last-writer-wins'.`,
			{ backend: this.backend, sessionId: id },
		);
	}

	/** The base state after a successful write: updated in place by the plan when it can be. */
	private nextBase(base: BaseState | null, target: Target, plan: EntryPlan | null, bytes: number, headerBytes: number): BaseState {
		if (!plan) {
			const entries = new Map<string, StoredEntry>();
			for (const [pos, e] of target.entries.entries()) entries.set(e.id, { json: '', parentId: e.parentId, pos });
			return { entries, leafId: target.leafId, nextPos: target.entries.length, bytes: 0, headerBytes: 0, textLength: 0 };
		}
		if (!base || plan.rewrite) {
			const entries = new Map<string, StoredEntry>();
			let textLength = 0;
			for (const e of plan.entries) {
				entries.set(e.id, { json: e.json, parentId: e.parentId, pos: e.pos });
				textLength += e.json.length;
			}
			return { entries, leafId: target.leafId, nextPos: plan.nextPos, bytes, headerBytes, textLength };
		}
		for (const rid of plan.removed) {
			base.textLength -= base.entries.get(rid)!.json.length;
			base.entries.delete(rid);
		}
		for (const e of plan.changed) {
			const old = base.entries.get(e.id)!;
			base.textLength += e.json.length - old.json.length;
			old.json = e.json;
			old.parentId = e.parentId;
		}
		for (const e of plan.added) {
			base.entries.set(e.id, { json: e.json, parentId: e.parentId, pos: e.pos });
			base.textLength += e.json.length;
		}
		base.leafId = target.leafId;
		base.nextPos = plan.nextPos;
		base.bytes = bytes;
		base.headerBytes = headerBytes;
		return base;
	}

	private forget(id: string): void {
		const k = this.known.get(id);
		if (k) this.cachedTotal -= k.cachedBytes;
		this.known.delete(id);
	}

	/** Records what is persisted for a key, keeping the cache within its byte budget. */
	private remember(id: string, rev: number | null, base: BaseState | undefined, committed?: PriorSnapshot): void {
		this.forget(id);
		const cachedBytes = base ? base.textLength * 2 + base.entries.size * 64 : 0;
		const keep = base !== undefined && cachedBytes <= this.cacheLimit;
		this.known.set(id, { rev, base: keep ? base : undefined, cachedBytes: keep ? cachedBytes : 0, committed: keep ? committed : undefined });
		if (keep) this.cachedTotal += cachedBytes;
		// Oldest first: Map iteration order is insertion order and remember() re-inserts.
		for (const [key, k] of this.known) {
			if (this.cachedTotal <= this.cacheLimit && this.known.size <= MAX_KNOWN_KEYS) break;
			if (key === id) continue;
			// What is evicted for the budget goes from every cache; the prior and the head only speed up a save.
			this.priors.delete(key);
			this.heads.delete(key);
			if (this.known.size > MAX_KNOWN_KEYS) {
				this.forget(key);
			} else if (k.base) {
				this.cachedTotal -= k.cachedBytes;
				k.base = undefined;
				k.cachedBytes = 0;
				k.committed = undefined;
			}
		}
	}
}
