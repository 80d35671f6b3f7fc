import { checkLayout, createStore } from '../../core/engine.js';
import { ConfigError, CorruptError, type FluePersistError, quoteId, TooLargeError } from '../../errors.js';
import { createSqliteAdapter, type SqliteExecutor, type SqlRow, type SqlStatement } from '../../sql/sqlite-core.js';
import { DEFAULT_TABLE } from '../../sql/sqlite-schema.js';
import type { FluePersistStore, StoreOptions } from '../../types.js';
import { driverOf, IntegerRangeError, openSqliteFile, SqliteConnection, type SqliteDatabase, type SqliteDriverName, sqliteErrorCode } from './driver.js';

export type { BetterSqliteDatabase, BetterSqliteStatement, NodeSqliteDatabase, NodeSqliteStatement, SqliteDatabase, SqliteDriverName } from './driver.js';

export interface SqliteStoreOptions extends StoreOptions {
	/**
	 * Durability of a commit when the store opens the file itself: `'FULL'` (default) survives power
	 * loss, `'NORMAL'` survives a crash of the process and is faster. A database you pass in keeps its settings.
	 */
	synchronous?: 'FULL' | 'NORMAL';
	/** Milliseconds to wait for another connection's write lock, when the store opens the file itself. Default 5000. */
	busyTimeoutMs?: number;
	/** Values longer than this many bytes are stored in parts. Default 256 MiB. */
	chunkBytes?: number;
	/**
	 * Never write: no WAL switch, no tables created, loads and lists only; a save or delete is
	 * refused with CONFIG before any I/O. The file must exist. Default false; a file the process
	 * may not write, or a better-sqlite3 Database opened `readonly`, is read-only whatever this says.
	 */
	readOnly?: boolean;
	/**
	 * The driver that opens a path: `'better-sqlite3'` or `'node:sqlite'` (Node 22.13 and later).
	 * Default: better-sqlite3 when it is installed, else node:sqlite when the runtime has it.
	 */
	driver?: SqliteDriverName;
}

const BACKEND = 'sqlite';

class SqliteFileExecutor implements SqliteExecutor {
	readonly backend = BACKEND;
	readonly maxParams = 999;
	readonly maxStatementBytes = 64 * 1024 * 1024;
	private connection: Promise<SqliteConnection> | null = null;
	/** Set once the database is open. */
	readOnlyReason: string | null = null;

	constructor(
		private readonly source: string | SqliteDatabase,
		private readonly options: { synchronous: 'FULL' | 'NORMAL'; busyTimeoutMs: number; readOnly: boolean; driver: SqliteDriverName | undefined },
		readonly maxValueBytes: number,
	) {}

	private open(): Promise<SqliteConnection> {
		if (!this.connection) {
			this.connection = typeof this.source === 'string' ? openSqliteFile(this.source, this.options) : Promise.resolve(wrap(this.source, this.options.readOnly));
			this.connection.catch(() => (this.connection = null));
		}
		return this.connection;
	}

	async batch(statements: SqlStatement[], mode: 'read' | 'write'): Promise<SqlRow[][]> {
		const connection = await this.open();
		this.readOnlyReason = connection.readOnlyReason;
		return connection.transaction(mode, () => statements.map((s) => connection.query(s.sql, s.params)));
	}

	async close(): Promise<void> {
		const connection = await this.connection?.catch(() => null);
		this.connection = null;
		if (!connection) return;
		// A database passed in belongs to the caller, who closes it.
		if (typeof this.source === 'string') connection.close();
		else connection.forget();
	}

	classifyError(error: unknown, sessionId: string | undefined): FluePersistError | undefined {
		const who = sessionId === undefined ? '' : `session ${quoteId(sessionId)}: `;
		const file = typeof this.source === 'string' ? JSON.stringify(this.source) : 'the database';
		if (error instanceof IntegerRangeError) {
			return new CorruptError(
				`${who}${error.message}; flue-persist never writes such a value, so the row was changed by hand. Nothing was changed. Run \`flue-persist doctor\`.`,
				{
					backend: BACKEND,
					sessionId,
					cause: error,
				},
			);
		}
		switch (sqliteErrorCode(error)) {
			case 'SQLITE_TOOBIG':
				return new TooLargeError(`${who}a value is larger than this SQLite build allows. Lower the chunkBytes option.`, {
					backend: BACKEND,
					sessionId,
					cause: error,
				});
			case 'SQLITE_NOTADB':
				return new ConfigError(`${file} is not a SQLite database. Point sqliteStore at a SQLite file or a new path.`, {
					backend: BACKEND,
					sessionId,
					cause: error,
				});
			case 'SQLITE_READONLY':
				return new ConfigError(
					`${who}${file} is read-only, so nothing was written. Open a file this process may write, or use the store for loads and lists only.`,
					{
						backend: BACKEND,
						sessionId,
						cause: error,
					},
				);
			case 'SQLITE_CANTOPEN':
				return new ConfigError(`${who}cannot open ${file}: ${(error as Error).message}. Check the path and the permissions of its directory.`, {
					backend: BACKEND,
					sessionId,
					cause: error,
				});
			default:
				return undefined;
		}
	}
}

function wrap(db: SqliteDatabase, readOnly: boolean): SqliteConnection {
	const driver = driverOf(db)!;
	const opened = driver === 'better-sqlite3' && (db as { readonly?: unknown }).readonly === true;
	const reason = opened ? 'the better-sqlite3 Database was opened readonly' : readOnly ? 'the store was created with readOnly: true' : null;
	return new SqliteConnection(db, driver, reason);
}

/**
 * A store in a SQLite file: the embedded default on Node. Given a path, it opens the file with
 * better-sqlite3 when that is installed, else with Node's built-in `node:sqlite` (Node 22.13 and
 * later). It also accepts a database you opened with either driver.
 *
 * @example
 * import { sqliteStore } from 'flue-persist/sqlite'
 * const agent = await init({ model, persist: sqliteStore('./data/sessions.db') })
 */
export function sqliteStore(pathOrDatabase: string | SqliteDatabase, options: SqliteStoreOptions = {}): FluePersistStore {
	if (typeof pathOrDatabase === 'string') {
		if (pathOrDatabase.length === 0)
			throw new ConfigError('sqliteStore needs a file path (or ":memory:") or a better-sqlite3 Database; got an empty string.', { backend: BACKEND });
	} else if (driverOf(pathOrDatabase) === null) {
		throw new ConfigError(
			`sqliteStore needs a file path or a better-sqlite3 Database or node:sqlite DatabaseSync (got ${pathOrDatabase === null ? 'null' : typeof pathOrDatabase}).`,
			{ backend: BACKEND },
		);
	}
	if (typeof options !== 'object' || options === null) throw new ConfigError('sqliteStore options must be an object.', { backend: BACKEND });
	const layout = checkLayout(options.layout, BACKEND, 'log');
	const synchronous = options.synchronous ?? 'FULL';
	if (synchronous !== 'FULL' && synchronous !== 'NORMAL')
		throw new ConfigError(`option synchronous must be 'FULL' or 'NORMAL' (got ${JSON.stringify(synchronous)}).`, { backend: BACKEND });
	const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
	if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0)
		throw new ConfigError(`option busyTimeoutMs must be a whole number of milliseconds (got ${String(busyTimeoutMs)}).`, { backend: BACKEND });
	const chunkBytes = options.chunkBytes ?? 256 * 1024 * 1024;
	if (!Number.isInteger(chunkBytes) || chunkBytes < 1024)
		throw new ConfigError(`option chunkBytes must be a whole number of bytes, at least 1024 (got ${String(chunkBytes)}).`, { backend: BACKEND });
	const readOnly = options.readOnly ?? false;
	if (typeof readOnly !== 'boolean') throw new ConfigError(`option readOnly must be true or false (got ${JSON.stringify(readOnly)}).`, { backend: BACKEND });
	const driver = options.driver;
	if (driver !== undefined && driver !== 'better-sqlite3' && driver !== 'node:sqlite') {
		throw new ConfigError(`option driver must be 'better-sqlite3' or 'node:sqlite' (got ${JSON.stringify(driver)}).`, { backend: BACKEND });
	}
	const exec = new SqliteFileExecutor(pathOrDatabase, Object.freeze({ synchronous, busyTimeoutMs, readOnly, driver }), chunkBytes);
	const adapter = createSqliteAdapter(exec, { layout, table: options.table ?? DEFAULT_TABLE });
	return createStore(adapter, {
		concurrency: options.concurrency,
		cacheBytes: options.cacheBytes,
		immutableEntries: options.immutableEntries,
		capabilities: { durable: pathOrDatabase !== ':memory:', maxSessionBytes: 64 * 1024 * 1024 },
	});
}
