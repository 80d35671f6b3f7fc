/**
 * The session contract that Flue hands to a store, and the extensions flue-persist adds.
 *
 * Only `entries[].id`, `entries[].parentId` and `leafId` have a meaning to a store. Everything
 * else is opaque and must come back exactly as it was given, so that sessions written by later
 * Flue releases (other `version` values, new top-level fields, new entry types) survive.
 */

/*
 * These types mirror Flue 0.4's own, so that a value typed with one is assignable to the other in
 * both directions: Flue's SessionData goes into `save`, and what `load` returns goes back to Flue.
 * Where Flue declares a narrow type for a value a store never interprets (`version: 2`, the model
 * message, compaction usage), the field is `any` here: a store keeps whatever it was given, Flue
 * 0.4 writes version 2 and later releases write 3 and 5, and `any` is the only TypeScript type that
 * is both what Flue passes in and what Flue accepts back. The fields a store does read (`id`,
 * `parentId`, `leafId`) keep their exact types.
 */

/** Fields every session entry carries. Other fields are kept as they are. */
export interface SessionEntryBase {
	type: string;
	/** Unique within one session only; Flue may reuse an id after removing its entry. */
	id: string;
	parentId: string | null;
	/** ISO timestamp. */
	timestamp: string;
}

/** A model message (user, assistant or tool result) in the conversation. */
export interface MessageEntry extends SessionEntryBase {
	type: 'message';
	/** The model message (role, content parts, usage…), kept as given. */
	// biome-ignore lint/suspicious/noExplicitAny: Flue's own type for this field; `unknown` would make a Flue session unassignable to it
	message: any;
	source?: 'prompt' | 'skill' | 'shell' | 'task' | 'retry';
}

/** A summary that replaces the history before `firstKeptEntryId` in the model's context. */
export interface CompactionEntry extends SessionEntryBase {
	type: 'compaction';
	summary: string;
	firstKeptEntryId: string;
	tokensBefore: number;
	details?: { readFiles: string[]; modifiedFiles: string[] };
	/** Token usage of the summarising calls, kept as given. */
	// biome-ignore lint/suspicious/noExplicitAny: as `message` above
	usage?: any;
}

/** A summary of a branch that was left. */
export interface BranchSummaryEntry extends SessionEntryBase {
	type: 'branch_summary';
	fromId: string;
	summary: string;
	details?: unknown;
}

/**
 * One node of the session tree: the three kinds Flue 0.4 writes. A store keeps entries of other
 * kinds (from later Flue releases) as they are at run time; only these three are typed.
 */
export type SessionEntry = MessageEntry | CompactionEntry | BranchSummaryEntry;

/** What Flue passes to `save` and expects back from `load`. Later Flue releases add fields; they are kept. */
export interface SessionData {
	/** The session format: 2 in Flue 0.4, 3 and 5 in later releases. Kept as given (see above why `any`). */
	// biome-ignore lint/suspicious/noExplicitAny: assignable both ways with Flue's `version: 2` and later releases' numbers
	version: any;
	entries: SessionEntry[];
	leafId: string | null;
	// biome-ignore lint/suspicious/noExplicitAny: Flue's own type for the field
	metadata: Record<string, any>;
	createdAt: string;
	updatedAt: string;
}

/**
 * The three calls Flue makes. A store typed with this interface is accepted by Flue 0.4's
 * `init({ persist })` without a cast, and a store typed with Flue's `SessionStore` is one of these.
 */
export interface SessionStore {
	save(id: string, data: SessionData): Promise<void>;
	load(id: string): Promise<SessionData | null>;
	delete(id: string): Promise<void>;
}

/**
 * What changed between two snapshots of one session.
 *
 * Applying it to the older snapshot gives the newer one: entries named in `remove` go, entries in
 * `upsert` whose id is stored replace it in place, the others are appended in the order given, and
 * every top-level field is replaced by `header`. `order`, when present, is the full id order of
 * the new snapshot; it appears only when the new snapshot is not "kept entries, then new ones".
 */
export interface SessionDelta {
	upsert: SessionEntry[];
	remove: string[];
	/** Every top-level field of the new snapshot except `entries`. */
	header: Omit<SessionData, 'entries'>;
	order?: string[];
}

/** One row of `list()`. */
export interface SessionListItem {
	id: string;
	/** When the store last wrote the session (ISO). */
	updatedAt: string;
	/** Stored size in bytes (UTF-8 JSON text). */
	bytes: number;
}

export interface ListOptions {
	/** Only ids that start with this string. */
	prefix?: string;
	/** Page size. Default 100, at most 1000. */
	limit?: number;
	/** The `cursor` of the previous page. */
	cursor?: string | null;
}

export interface ListPage {
	sessions: SessionListItem[];
	/** Pass to the next call; `null` on the last page. */
	cursor: string | null;
}

/** How a store reacts to a writer whose snapshot is stale. */
export type ConcurrencyMode = 'optimistic' | 'last-writer-wins';

/** The storage layout of a SQL store. */
export type Layout = 'blob' | 'log';

/** Options every SQL store takes (`sqliteStore`, `postgresStore`, `d1Store`, `durableObjectStore`). */
export interface StoreOptions {
	/**
	 * `'log'` (default): a header row per session plus one row per entry; a save writes only what
	 * changed. `'blob'`: one row per session, `flue_sessions (id, data, updated_at)`, the table of
	 * Flue's own Cloudflare store and of the Postgres recipe.
	 */
	layout?: Layout;
	/** Table name (blob) or prefix of the table names (log: `<table>_log`, `<table>_entries`). Default `'flue_sessions'`. */
	table?: string;
	/** `'optimistic'` (default): a stale snapshot fails with CONFLICT. `'last-writer-wins'`: the last save wins. */
	concurrency?: ConcurrencyMode;
	/** Bytes of entry text cached to diff saves without reading the database. Default 64 MiB (16 MiB on Cloudflare). */
	cacheBytes?: number;
	/**
	 * Promise that entry objects are never edited in place once saved (true of Flue, which appends
	 * new entry objects): unchanged entries are then recognised by identity instead of being
	 * compared node by node, so a save costs the same at turn 1,000 as at turn 10. Default false.
	 */
	immutableEntries?: boolean;
}

/** What a store can do, so that tools and the conformance suite need not guess from names. */
export interface StoreCapabilities {
	/** `saveDelta` is available. */
	saveDelta: boolean;
	/** `list` is available. */
	list: boolean;
	/** Data outlives the process (a new instance on the same database sees it). */
	durable: boolean;
	/** Largest session the store is tested to keep, in bytes. */
	maxSessionBytes: number;
	/**
	 * The store receives the caller's own objects and tells a snapshot built from a stale copy by
	 * their lineage (true for every store built here). False when every call reaches the store
	 * through a copy of its arguments, as across an RPC boundary: then only the revision and history
	 * checks apply. Absent: the conformance suite skips its stale-writer cases for the store.
	 */
	lineage?: boolean;
}

/** A store built by flue-persist: a `SessionStore` plus optional extensions. */
export interface FluePersistStore extends SessionStore {
	/** Short backend name used in errors: `memory`, `sqlite`, `postgres`, `d1`, `durable-object`. */
	readonly backend: string;
	readonly layout: Layout | 'memory';
	readonly concurrency: ConcurrencyMode;
	readonly capabilities: StoreCapabilities;
	/** Returns what was saved; `T` lets the result be typed as the caller's session type, such as Flue's. */
	load<T extends SessionData = SessionData>(id: string): Promise<T | null>;
	/** Writes only what a delta names; the stored result equals `save` of the full snapshot. */
	saveDelta(id: string, delta: SessionDelta): Promise<void>;
	/** Ids with their last write time and stored size, ordered by id, paged. */
	list(options?: ListOptions): Promise<ListPage>;
	/** Every session (optionally under a prefix) in id order, read page by page as it is iterated. */
	listAll(options?: { prefix?: string }): AsyncIterable<SessionListItem>;
	/** Whether a session with exactly this id is stored; ordered after the calls on `id` made before it. */
	has(id: string): Promise<boolean>;
	/** Releases what the store opened itself. A client the caller passed in stays open. */
	close(): Promise<void>;
}
