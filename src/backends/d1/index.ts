/**
 * Cloudflare D1 through the binding a Worker receives in `env`. The SQL is the SQLite family's
 * (`src/sql/sqlite-core.ts`); this file only says how D1 runs a statement list: one `batch()`,
 * which D1 executes as a single transaction.
 */

import { checkLayout, createStore } from '../../core/engine.js';
import { ConfigError, type FluePersistError, quoteId, TooLargeError } from '../../errors.js';
import { createSqliteAdapter, type SqliteExecutor, type SqlRow, type SqlStatement } from '../../sql/sqlite-core.js';
import { DEFAULT_TABLE } from '../../sql/sqlite-schema.js';
import type { FluePersistStore, StoreOptions } from '../../types.js';
import { CLOUDFLARE_LIMITS, checkChunkBytes, describeBinding, errorText } from '../cloudflare.js';

/** The subset of a D1 binding (`D1Database`) this store uses; no Cloudflare types needed. */
export interface D1DatabaseLike {
	prepare(sql: string): D1PreparedStatementLike;
	batch(statements: D1PreparedStatementLike[]): Promise<Array<{ results?: unknown[] }>>;
}

/** The subset of a `D1PreparedStatement` this store uses. `bind` returns a new statement. */
export interface D1PreparedStatementLike {
	bind(...values: unknown[]): D1PreparedStatementLike;
}

export interface D1StoreOptions extends StoreOptions {
	/**
	 * Values longer than this many bytes (UTF-8) are stored in parts. Default and largest 1,900,000,
	 * below Cloudflare's 2,000,000-byte row limit; lower it if your database refuses rows that size.
	 */
	chunkBytes?: number;
}

const BACKEND = 'd1';

function isD1(value: unknown): value is D1DatabaseLike {
	return (
		typeof value === 'object' &&
		value !== null &&
		typeof (value as D1DatabaseLike).prepare === 'function' &&
		typeof (value as D1DatabaseLike).batch === 'function'
	);
}

class D1Executor implements SqliteExecutor {
	readonly backend = BACKEND;
	readonly maxParams = CLOUDFLARE_LIMITS.maxParams;
	readonly maxStatementBytes = CLOUDFLARE_LIMITS.maxStatementBytes;
	private readonly prepared = new Map<string, D1PreparedStatementLike>();

	constructor(
		private readonly db: D1DatabaseLike,
		readonly maxValueBytes: number,
	) {}

	private prepare(sql: string): D1PreparedStatementLike {
		let stmt = this.prepared.get(sql);
		if (!stmt) {
			if (this.prepared.size > 200) this.prepared.clear();
			stmt = this.db.prepare(sql);
			this.prepared.set(sql, stmt);
		}
		return stmt;
	}

	// D1 has no interactive transactions; batch() runs its statements as one transaction, which is
	// exactly the all-or-nothing list the core builds (a guard insert first, then the writes).
	async batch(statements: SqlStatement[]): Promise<SqlRow[][]> {
		if (statements.length === 0) return [];
		const results = await this.db.batch(statements.map((s) => this.prepare(s.sql).bind(...s.params)));
		return results.map((r) => (r?.results ?? []) as SqlRow[]);
	}

	async close(): Promise<void> {
		// The binding belongs to the Worker; there is nothing to release.
		this.prepared.clear();
	}

	classifyError(error: unknown, sessionId: string | undefined): FluePersistError | undefined {
		if (errorText(error).includes('SQLITE_TOOBIG')) {
			return new TooLargeError(
				`${sessionId === undefined ? '' : `session ${quoteId(sessionId)}: `}D1 refused a value or statement as too big. Nothing was written. Lower the chunkBytes option (now ${this.maxValueBytes}).`,
				{ backend: BACKEND, sessionId, cause: error },
			);
		}
		return undefined;
	}
}

/**
 * A store in a Cloudflare D1 database, for sessions that other Workers, dashboards or exports
 * read outside the agent. Pass the binding from `env`; its shape is checked here.
 *
 * @example
 * import { d1Store } from 'flue-persist/d1'
 * const agent = await init({ model, persist: d1Store(env.DB, { layout: 'blob' }) })
 */
export function d1Store(db: D1DatabaseLike, options: D1StoreOptions = {}): FluePersistStore {
	if (!isD1(db)) {
		throw new ConfigError(
			`d1Store needs a D1 database binding such as env.DB (got ${describeBinding(db)}). Add a D1 binding to wrangler.jsonc, ` +
				`"d1_databases": [{ "binding": "DB", "database_name": "flue-sessions", "database_id": "<id from wrangler d1 create>" }], and pass env.DB.`,
			{ backend: BACKEND },
		);
	}
	if (typeof options !== 'object' || options === null) throw new ConfigError('d1Store options must be an object.', { backend: BACKEND });
	const layout = checkLayout(options.layout, BACKEND, 'log');
	const adapter = createSqliteAdapter(new D1Executor(db, checkChunkBytes(options.chunkBytes, BACKEND)), { layout, table: options.table ?? DEFAULT_TABLE });
	return createStore(adapter, {
		concurrency: options.concurrency,
		cacheBytes: options.cacheBytes ?? 16 * 1024 * 1024,
		immutableEntries: options.immutableEntries,
		capabilities: { durable: true, maxSessionBytes: CLOUDFLARE_LIMITS.maxSessionBytes },
	});
}
