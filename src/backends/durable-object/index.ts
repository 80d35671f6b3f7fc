/**
 * Durable Object SQLite, inside the Durable Object that owns the storage. The SQL is the SQLite
 * family's (`src/sql/sqlite-core.ts`); this file only says how a statement list runs: given
 * `ctx.storage`, in one `transactionSync`, all or nothing.
 */

import { checkLayout, createStore } from '../../core/engine.js';
import { BackendError, ConfigError, type FluePersistError, quoteId, TooLargeError } from '../../errors.js';
import { createSqliteAdapter, type SqliteExecutor, type SqlRow, type SqlStatement } from '../../sql/sqlite-core.js';
import { DEFAULT_TABLE } from '../../sql/sqlite-schema.js';
import type { FluePersistStore, StoreOptions } from '../../types.js';
import { CLOUDFLARE_LIMITS, checkChunkBytes, describeBinding, errorText } from '../cloudflare.js';

/** The subset of a Durable Object's `ctx.storage.sql` (`SqlStorage`) this store uses. */
export interface SqlStorageLike {
	exec(query: string, ...bindings: unknown[]): { toArray(): unknown[] };
}

/** The subset of a Durable Object's `ctx.storage` (`DurableObjectStorage`) this store uses. */
export interface DurableObjectStorageLike {
	readonly sql: SqlStorageLike;
	transactionSync<T>(closure: () => T): T;
}

/**
 * How Flue types `getCloudflareContext().storage` (`{ sql }`); at run time it is the object's full
 * `ctx.storage`, which the store checks when it is created.
 */
export interface FlueCloudflareStorage {
	readonly sql: unknown;
}

export interface DurableObjectStoreOptions extends StoreOptions {
	/**
	 * Values longer than this many bytes (UTF-8) are stored in parts. Default and largest 1,900,000,
	 * below Cloudflare's 2,000,000-byte row limit; lower it if your database refuses rows that size.
	 */
	chunkBytes?: number;
}

const BACKEND = 'durable-object';

/** A statement failed after earlier statements of the same write were applied and could not be undone. */
class PartialWriteError extends Error {
	constructor(
		readonly applied: number,
		readonly total: number,
		cause: unknown,
	) {
		super(`statement ${applied + 1} of ${total} failed: ${errorText(cause).trim()}`, { cause });
		this.name = 'PartialWriteError';
	}
}

function fnAt(value: unknown, name: string): boolean {
	try {
		return typeof (value as Record<string, unknown>)[name] === 'function';
	} catch {
		return false;
	}
}

class DurableObjectExecutor implements SqliteExecutor {
	readonly backend = BACKEND;
	readonly maxParams = CLOUDFLARE_LIMITS.maxParams;
	readonly maxStatementBytes = CLOUDFLARE_LIMITS.maxStatementBytes;

	constructor(
		private readonly sql: SqlStorageLike,
		private readonly storage: DurableObjectStorageLike | null,
		readonly maxValueBytes: number,
	) {}

	async batch(statements: SqlStatement[], mode: 'read' | 'write'): Promise<SqlRow[][]> {
		// Every call below is synchronous, so nothing else in the object runs between the statements:
		// a read sees one state, and Cloudflare commits the writes of one turn together.
		if (mode === 'read') return statements.map((s) => this.sql.exec(s.sql, ...s.params).toArray() as SqlRow[]);
		if (this.storage) {
			return this.storage.transactionSync(() => statements.map((s) => this.sql.exec(s.sql, ...s.params).toArray() as SqlRow[]));
		}
		// Without transactionSync a failed statement cannot be undone. The guard comes first, so a
		// stale revision still stops the write before anything changes; a later failure is reported as such.
		const rows: SqlRow[][] = [];
		for (const [i, s] of statements.entries()) {
			try {
				rows.push(this.sql.exec(s.sql, ...s.params).toArray() as SqlRow[]);
			} catch (error) {
				if (i === 0) throw error;
				throw new PartialWriteError(i, statements.length, error);
			}
		}
		return rows;
	}

	async close(): Promise<void> {
		// The storage belongs to the Durable Object; there is nothing to release.
	}

	classifyError(error: unknown, sessionId: string | undefined): FluePersistError | undefined {
		const who = sessionId === undefined ? '' : `session ${quoteId(sessionId)}: `;
		if (error instanceof PartialWriteError) {
			return new BackendError(
				`${who}${error.message}. ${error.applied} earlier statement(s) of this write stay applied, because the store was given ctx.storage.sql, which cannot roll back; the session may be half-written. ` +
					'Pass this.ctx.storage to durableObjectStore so that every write is one transaction, then load the session and check it (or delete it).',
				{ backend: BACKEND, sessionId, cause: error.cause },
			);
		}
		if (errorText(error).includes('SQLITE_TOOBIG')) {
			return new TooLargeError(
				`${who}Durable Object SQLite refused a value or statement as too big. Nothing was written. Lower the chunkBytes option (now ${this.maxValueBytes}).`,
				{
					backend: BACKEND,
					sessionId,
					cause: error,
				},
			);
		}
		return undefined;
	}
}

const SQLITE_FIX =
	'Give the Durable Object class SQLite storage in wrangler.jsonc ("migrations": [{ "tag": "v1", "new_sqlite_classes": ["YourAgent"] }]) and pass this.ctx.storage.';

/** Accepts `ctx.storage` (atomic writes) or `ctx.storage.sql`; anything else is a CONFIG error. */
function resolveStorage(value: unknown): { sql: SqlStorageLike; storage: DurableObjectStorageLike | null } {
	// A D1 database has exec() too (returning a promise), so prepare() tells it apart.
	if (fnAt(value, 'exec') && !fnAt(value, 'prepare')) return { sql: checkSqlEnabled(value as SqlStorageLike), storage: null };
	if (fnAt(value, 'transactionSync')) {
		let sql: unknown;
		try {
			sql = (value as DurableObjectStorageLike).sql;
		} catch (cause) {
			throw noSqlite(cause);
		}
		if (!fnAt(sql, 'exec'))
			throw new ConfigError(`durableObjectStore got a Durable Object storage without SQL (ctx.storage.sql is ${describeBinding(sql)}). ${SQLITE_FIX}`, {
				backend: BACKEND,
			});
		return { sql: checkSqlEnabled(sql as SqlStorageLike), storage: value as DurableObjectStorageLike };
	}
	throw new ConfigError(
		`durableObjectStore needs the Durable Object's storage: this.ctx.storage, or getCloudflareContext().storage in a Flue agent (got ${describeBinding(value)}). ` +
			'Create the store inside the Durable Object, and give its class SQLite storage in wrangler.jsonc ("migrations": [{ "tag": "v1", "new_sqlite_classes": ["YourAgent"] }]).',
		{ backend: BACKEND },
	);
}

function noSqlite(cause: unknown): ConfigError {
	return new ConfigError(
		`durableObjectStore needs SQLite storage, and this Durable Object class has none (${(cause as Error)?.message ?? String(cause)}). ${SQLITE_FIX}`,
		{ backend: BACKEND, cause },
	);
}

/** A class on the key-value storage backend has `sql` too, but every use of it throws; its size getter tells without running a statement. */
function checkSqlEnabled(sql: SqlStorageLike): SqlStorageLike {
	if ('databaseSize' in sql) {
		try {
			void (sql as { databaseSize: unknown }).databaseSize;
		} catch (cause) {
			throw noSqlite(cause);
		}
	}
	return sql;
}

/**
 * A store in the SQLite storage of the Durable Object that runs the agent: Flue's Cloudflare
 * default, with chunking past the 2 MB row limit, saves that write only what changed, and
 * optimistic concurrency.
 *
 * Pass `ctx.storage` (in a Flue agent, `getCloudflareContext().storage`): each save then runs in
 * one `transactionSync` and is all or nothing. `ctx.storage.sql` is accepted too; a stale save
 * still writes nothing, but a statement that fails half-way through a save cannot be rolled back.
 *
 * @example
 * import { getCloudflareContext } from '@flue/sdk/cloudflare'
 * import { durableObjectStore } from 'flue-persist/durable-object'
 * const agent = await init({ model, persist: durableObjectStore(getCloudflareContext().storage, { layout: 'blob' }) })
 */
export function durableObjectStore(
	storage: DurableObjectStorageLike | SqlStorageLike | FlueCloudflareStorage,
	options: DurableObjectStoreOptions = {},
): FluePersistStore {
	const resolved = resolveStorage(storage);
	if (typeof options !== 'object' || options === null) throw new ConfigError('durableObjectStore options must be an object.', { backend: BACKEND });
	const layout = checkLayout(options.layout, BACKEND, 'log');
	const adapter = createSqliteAdapter(new DurableObjectExecutor(resolved.sql, resolved.storage, checkChunkBytes(options.chunkBytes, BACKEND)), {
		layout,
		table: options.table ?? DEFAULT_TABLE,
	});
	return createStore(adapter, {
		concurrency: options.concurrency,
		cacheBytes: options.cacheBytes ?? 16 * 1024 * 1024,
		immutableEntries: options.immutableEntries,
		capabilities: { durable: true, maxSessionBytes: CLOUDFLARE_LIMITS.maxSessionBytes },
	});
}
