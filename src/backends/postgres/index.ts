import { checkConcurrency, checkLayout, createStore } from '../../core/engine.js';
import { KeyedQueue } from '../../core/keyed-queue.js';
import { checkSessionId } from '../../core/serialize.js';
import { BackendError, ConfigError, isFluePersistError, quoteId } from '../../errors.js';
import { checkIdentifier } from '../../sql/identifiers.js';
import type {
	ConcurrencyMode,
	FluePersistStore,
	ListOptions,
	ListPage,
	SessionData,
	SessionDelta,
	SessionListItem,
	StoreCapabilities,
	StoreOptions,
} from '../../types.js';
import { type MigrateOptions, type MigrateResult, PostgresAdapter } from './adapter.js';
import { classifyPostgresError, describeDriverError } from './classify.js';
import { type Driver, detectDriver, type PostgresClient, type Queryable } from './driver.js';
import { DEFAULT_TABLE, postgresTableNames } from './schema.js';

export type { MigrateOptions, MigrateResult } from './adapter.js';
export type {
	PgClient,
	PgPool,
	PgPoolClient,
	PgQueryResult,
	PgRow,
	PostgresClient,
	PostgresJsQueryable,
	PostgresJsReserved,
	PostgresJsRows,
	PostgresJsSql,
} from './driver.js';
export { postgresTableNames };

/**
 * Options of `postgresStore`, checked when the store is created.
 *
 * @example
 * postgresStore(pool, { layout: 'log', schema: 'flue', table: 'sessions', concurrency: 'optimistic' })
 */
export interface PostgresStoreOptions extends StoreOptions {
	/** Schema of the tables; created by `migrate()` when missing. Default: none, so the connection's search_path decides (usually `public`). */
	schema?: string;
	/**
	 * Never write: nothing is created, the first call only checks the format stamp, and a save,
	 * delete or `migrate()` is refused with CONFIG before any I/O. Loads and lists only. Default false.
	 */
	readOnly?: boolean;
}

/**
 * A Postgres session store: a `FluePersistStore` plus schema management and advisory locks.
 *
 * @example
 * const store: PostgresStore = postgresStore(pool)
 * await store.migrate() // at deploy time; the store also does it on first use
 */
export interface PostgresStore extends FluePersistStore {
	/**
	 * Creates the schema and tables that are missing and stamps the format version; refuses a
	 * database stamped by a newer or unknown format with FORMAT_VERSION. The store also does this
	 * on its first call; run it yourself to migrate at deploy time, or to copy a blob table into
	 * the log layout (`{ from: 'blob' }`, see the Postgres guide).
	 *
	 * @example
	 * const { created } = await store.migrate()
	 */
	migrate(options?: MigrateOptions): Promise<MigrateResult>;
	/**
	 * Runs `fn` while holding a Postgres advisory lock on the session, so that turns of one session
	 * run one at a time across every instance that uses this call. The lock is
	 * `pg_advisory_lock(key)` on a connection held for the duration of `fn` (with a single pg
	 * Client, `pg_try_advisory_lock` retried, so the shared connection is not blocked), where
	 * `key` is the first 8 bytes of SHA-256 of the UTF-8 text `'flue-persist:' || id`, read as a
	 * signed big-endian bigint: in SQL,
	 * `('x' || left(encode(sha256(convert_to('flue-persist:' || id, 'UTF8')), 'hex'), 16))::bit(64)::bigint`.
	 * It is released when `fn` settles, or by the server if the connection drops. Not re-entrant.
	 *
	 * @example
	 * await store.withSessionLock(threadId, async () => (await agent.session(threadId)).prompt(text))
	 */
	withSessionLock<T>(id: string, fn: () => Promise<T>): Promise<T>;
}

const BACKEND = 'postgres';

/**
 * SQL for the advisory lock key of the session id bound as `$1` (see `withSessionLock`), for code
 * that takes the same lock itself.
 *
 * @example
 * await client.query(`SELECT pg_advisory_lock(${SESSION_LOCK_KEY_SQL})`, [sessionId])
 */
export const SESSION_LOCK_KEY_SQL = "('x' || left(encode(sha256(convert_to('flue-persist:' || $1::text, 'UTF8')), 'hex'), 16))::bit(64)::bigint";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Turns a driver failure outside the engine (migrate, locks) into a typed error. */
function typed(error: unknown, sessionId: string | undefined, doing: string): Error {
	if (isFluePersistError(error)) return error;
	const known = classifyPostgresError(error, sessionId);
	if (known) return known;
	const what = sessionId === undefined ? '' : `session ${quoteId(sessionId)}: `;
	return new BackendError(`${what}${doing} failed: ${describeDriverError(error)}. Check that the database is reachable and retry.`, {
		backend: BACKEND,
		sessionId,
		cause: error,
	});
}

async function withAdvisoryLock<T>(driver: Driver, id: string, fn: () => Promise<T>): Promise<T> {
	// Errors of fn reach the caller untouched; only the store's own calls are turned into typed errors.
	let fnError: { error: unknown } | undefined;
	try {
		return await driver.session(async (q: Queryable) => {
			if (driver.shared) {
				for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
					const [row] = await q.query(`SELECT pg_try_advisory_lock(${SESSION_LOCK_KEY_SQL}) AS locked`, [id]);
					if (row?.locked === true) break;
					await sleep(wait);
				}
			} else {
				await q.query(`SELECT pg_advisory_lock(${SESSION_LOCK_KEY_SQL})`, [id]);
			}
			try {
				return await fn();
			} catch (error) {
				fnError = { error };
				throw error;
			} finally {
				// A failed unlock means the connection is gone (and the server dropped the lock with it),
				// or the pool destroys the connection because its query failed: either way it is released.
				await q.query(`SELECT pg_advisory_unlock(${SESSION_LOCK_KEY_SQL})`, [id]).catch(() => undefined);
			}
		});
	} catch (error) {
		if (fnError && fnError.error === error) throw error;
		throw typed(error, id, 'taking the advisory lock');
	}
}

/**
 * A store in Postgres, through the client you own: a `pg` Pool or Client, or a postgres.js `sql`.
 * Neither driver is imported by flue-persist; install the one you use.
 *
 * @example
 * import pg from 'pg'
 * import { postgresStore } from 'flue-persist/postgres'
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL })
 * const agent = await init({ model, persist: postgresStore(pool) })
 */
export function postgresStore(client: PostgresClient, options: PostgresStoreOptions = {}): PostgresStore {
	const driver = detectDriver(client);
	if (typeof options !== 'object' || options === null) throw new ConfigError('postgresStore options must be an object.', { backend: BACKEND });
	const layout = checkLayout(options.layout, BACKEND, 'log');
	const table = checkIdentifier(options.table ?? DEFAULT_TABLE, 'table', BACKEND);
	const schema = options.schema === undefined ? null : checkIdentifier(options.schema, 'schema', BACKEND);
	const concurrency = checkConcurrency(options.concurrency, BACKEND);
	const readOnly = options.readOnly ?? false;
	if (typeof readOnly !== 'boolean') throw new ConfigError(`option readOnly must be true or false (got ${JSON.stringify(readOnly)}).`, { backend: BACKEND });
	const adapter = new PostgresAdapter(driver, Object.freeze({ layout, table, schema, readOnly }));
	const engine = createStore(adapter, {
		concurrency,
		cacheBytes: options.cacheBytes,
		immutableEntries: options.immutableEntries,
		capabilities: { durable: true, maxSessionBytes: 64 * 1024 * 1024 },
	});
	return new PostgresSessionStore(engine, adapter, driver);
}

/** The engine's store, and what only Postgres adds beside it: migrations and advisory locks. */
class PostgresSessionStore implements PostgresStore {
	/** Waiters in this process queue in memory instead of each holding a connection. */
	private readonly locks = new KeyedQueue();
	private closed = false;

	constructor(
		private readonly engine: FluePersistStore,
		private readonly adapter: PostgresAdapter,
		private readonly driver: Driver,
	) {}

	get backend(): string {
		return this.engine.backend;
	}
	get layout(): FluePersistStore['layout'] {
		return this.engine.layout;
	}
	get concurrency(): ConcurrencyMode {
		return this.engine.concurrency;
	}
	get capabilities(): StoreCapabilities {
		return this.engine.capabilities;
	}

	save(id: string, data: SessionData): Promise<void> {
		return this.engine.save(id, data);
	}
	load<T extends SessionData = SessionData>(id: string): Promise<T | null> {
		return this.engine.load<T>(id);
	}
	delete(id: string): Promise<void> {
		return this.engine.delete(id);
	}
	saveDelta(id: string, delta: SessionDelta): Promise<void> {
		return this.engine.saveDelta(id, delta);
	}
	list(options?: ListOptions): Promise<ListPage> {
		return this.engine.list(options);
	}
	listAll(options?: { prefix?: string }): AsyncIterable<SessionListItem> {
		return this.engine.listAll(options);
	}
	has(id: string): Promise<boolean> {
		return this.engine.has(id);
	}

	async close(): Promise<void> {
		this.closed = true;
		await this.engine.close();
	}

	async migrate(migrateOptions?: MigrateOptions): Promise<MigrateResult> {
		this.assertOpen();
		try {
			return await this.adapter.migrate(migrateOptions);
		} catch (error) {
			throw typed(error, undefined, 'migrate()');
		}
	}

	async withSessionLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
		this.assertOpen();
		checkSessionId(id, BACKEND);
		if (typeof fn !== 'function')
			throw new ConfigError(`withSessionLock(${quoteId(id)}, fn): fn must be a function (got ${typeof fn}).`, { backend: BACKEND, sessionId: id });
		// The lock holds one connection while fn's own loads and saves need another: with one, they would wait forever.
		if (!this.driver.shared && this.driver.maxConnections === 1) {
			throw new ConfigError(
				`withSessionLock(${quoteId(id)}): the ${this.driver.kind} has max: 1, and the lock holds that connection while fn needs another. Create it with max: 2 or more.`,
				{
					backend: BACKEND,
					sessionId: id,
				},
			);
		}
		return this.locks.run(id, () => withAdvisoryLock(this.driver, id, fn));
	}

	private assertOpen(): void {
		if (this.closed) throw new ConfigError('this store is closed; create a new one.', { backend: BACKEND });
	}
}
