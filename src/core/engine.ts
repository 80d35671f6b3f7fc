/**
 * The part of every store that does not depend on the database: input checks, per-key ordering,
 * the cache of what was persisted, the delta plan and the concurrency rules. A backend supplies
 * a `StorageAdapter` with its I/O and nothing else.
 */
import { BackendError, ConfigError, ConflictError, CorruptError, FluePersistError, InvalidInputError, isFluePersistError, quoteId } from '../errors.js';
import type { ConcurrencyMode, FluePersistStore, Layout, ListOptions, ListPage, SessionData, SessionDelta, StoreCapabilities } from '../types.js';
import { applyDeltaRecords, assemble, planEntries, staleDropsOf, staleMessage, type BaseState, type EntryPlan, type StoredEntry } from './delta.js';
import { KeyedQueue } from './keyed-queue.js';
import { checkSessionId, prepareDelta, prepareSnapshot, utf8Length, type EntryMemo, type EntryRecord, type PriorSnapshot } from './serialize.js';

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
/** Attempts a last-writer-wins save makes while other writers keep moving the revision. */
const LWW_ATTEMPTS = 32;

/** What this store instance knows about one key. */
interface Known {
	/** Revision last read or written; null when the session was seen absent. */
	rev: number | null;
	/** Entries as persisted at `rev`; undefined when evicted from the cache. */
	base: BaseState | undefined;
	cachedBytes: number;
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
		this.capabilities = Object.freeze({ saveDelta: true, list: true, ...options.capabilities });
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
			return this.queue.run(id, () => this.commit(id, () => snap, { needEntryJson: false, historyCheck: true }));
		} catch (error) {
			return Promise.reject(error);
		}
	}

	saveDelta(id: string, delta: SessionDelta): Promise<void> {
		try {
			this.assertOpen();
			checkSessionId(id, this.backend);
			const prepared = prepareDelta(id, delta, this.backend);
			return this.queue.run(id, () =>
				this.commit(
					id,
					(base) => {
						const entries = applyDeltaRecords(id, this.backend, base, prepared);
						let full: string | null = null;
						if (!this.isLog) full = JSON.stringify(assemble(prepared.header, entries.map((e) => e.json)));
						return { header: prepared.header, leafId: prepared.leafId, entries, full };
					},
					// Removals in a delta are named on purpose, so only the revision guards it.
					{ needEntryJson: !this.isLog, historyCheck: false },
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
			this.remember(id, found ? found.rev : null, found ? found.base : undefined);
			return found ? (found.data as T) : null;
		});
	}

	delete(id: string): Promise<void> {
		return this.queued(id, async () => {
			await this.ready();
			await this.io(id, () => this.adapter.remove(id));
			this.remember(id, null, undefined);
		});
	}

	async list(options: ListOptions = {}): Promise<ListPage> {
		this.assertOpen();
		const { prefix = '', limit = 100, cursor = null } = options ?? {};
		if (typeof prefix !== 'string') throw new InvalidInputError(`list: prefix must be a string (got ${typeof prefix}).`, { backend: this.backend });
		if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
			throw new InvalidInputError(`list: limit must be a whole number from 1 to 1000 (got ${String(limit)}).`, { backend: this.backend });
		}
		if (cursor !== null && typeof cursor !== 'string') throw new InvalidInputError('list: cursor must be the string a previous page returned, or null.', { backend: this.backend });
		await this.ready();
		return this.io(undefined, () => this.adapter.list({ prefix, limit, cursor }));
	}

	async close(): Promise<void> {
		if (this.closed) return;
		this.closed = true;
		await this.queue.drain();
		this.known.clear();
		this.priors.clear();
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
	private async readState(id: string, needEntryJson: boolean): Promise<{ rev: number; data: SessionData; base: BaseState } | null> {
		const raw = await this.io(id, () => this.adapter.read(id));
		if (!raw) return null;
		const corrupt = (detail: string, cause?: unknown) =>
			new CorruptError(`session ${quoteId(id)}: the stored data cannot be read back (${detail}). Nothing was changed. Run \`flue-persist doctor\` to find the damage, or delete the session.`, {
				backend: this.backend,
				sessionId: id,
				cause,
			});
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
			return { rev: raw.rev, data, base: { entries, leafId: typeof data.leafId === 'string' ? data.leafId : null, nextPos: data.entries.length, bytes: 0, headerBytes: 0, textLength: 0 } };
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
			let parsed;
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
		return { rev: raw.rev, data, base: { entries, leafId: typeof data.leafId === 'string' ? data.leafId : null, nextPos, bytes, headerBytes, textLength } };
	}

	/** The core of save and saveDelta: diff, check, write, remember. */
	private async commit(id: string, build: (base: BaseState | null) => Target, opts: { needEntryJson: boolean; historyCheck: boolean }): Promise<void> {
		await this.ready();
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
			const target = build(base);
			if (this.concurrency === 'optimistic' && opts.historyCheck && base) {
				const dropped = staleDropsOf(base, target.entries, target.leafId);
				if (dropped.length > 0) throw new ConflictError(staleMessage(id, dropped), { backend: this.backend, sessionId: id });
			}
			const plan = this.isLog ? planEntries(base, target.entries) : null;
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
					// A dropped connection can hide a write that committed: read the truth next time.
					this.forget(id);
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
			this.remember(id, write.rev, this.nextBase(base, target, plan, bytes, headerBytes));
			return;
		}
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
			target.entries.forEach((e, pos) => entries.set(e.id, { json: '', parentId: e.parentId, pos }));
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
	private remember(id: string, rev: number | null, base: BaseState | undefined): void {
		this.forget(id);
		const cachedBytes = base ? base.textLength * 2 + base.entries.size * 64 : 0;
		const keep = base !== undefined && cachedBytes <= this.cacheLimit;
		this.known.set(id, { rev, base: keep ? base : undefined, cachedBytes: keep ? cachedBytes : 0 });
		if (keep) this.cachedTotal += cachedBytes;
		// Oldest first: Map iteration order is insertion order and remember() re-inserts.
		for (const [key, k] of this.known) {
			if (this.cachedTotal <= this.cacheLimit && this.known.size <= MAX_KNOWN_KEYS) break;
			if (key === id) continue;
			// What is evicted for the budget goes from both caches; the prior only speeds up prepare.
			this.priors.delete(key);
			if (this.known.size > MAX_KNOWN_KEYS) {
				this.forget(key);
			} else if (k.base) {
				this.cachedTotal -= k.cachedBytes;
				k.base = undefined;
				k.cachedBytes = 0;
			}
		}
	}
}
