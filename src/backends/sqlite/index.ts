import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { checkLayout, createStore } from '../../core/engine.js';
import { ConfigError, TooLargeError, type FluePersistError } from '../../errors.js';
import { createSqliteAdapter, type SqlRow, type SqlStatement, type SqliteExecutor } from '../../sql/sqlite-core.js';
import type { FluePersistStore, StoreOptions } from '../../types.js';

/** The subset of a better-sqlite3 `Database` this store uses (better-sqlite3 9 to 12). */
export interface BetterSqliteDatabase {
	prepare(sql: string): BetterSqliteStatement;
	transaction(fn: () => unknown): { immediate(): unknown; deferred(): unknown };
	pragma(source: string, options?: { simple?: boolean }): unknown;
	close(): unknown;
}

export interface BetterSqliteStatement {
	readonly reader: boolean;
	all(...params: unknown[]): unknown[];
	run(...params: unknown[]): unknown;
}

export interface SqliteStoreOptions extends StoreOptions {
	/**
	 * Durability of a commit when the store opens the file itself: `'FULL'` (default) survives power
	 * loss, `'NORMAL'` survives a crash of the process and is faster. A database you pass in keeps its settings.
	 */
	synchronous?: 'FULL' | 'NORMAL';
	/** Milliseconds to wait for another connection's write lock. Default 5000. */
	busyTimeoutMs?: number;
	/** Values longer than this many bytes are stored in parts. Default 256 MiB. */
	chunkBytes?: number;
}

const BACKEND = 'sqlite';

function isDatabase(value: unknown): value is BetterSqliteDatabase {
	return typeof value === 'object' && value !== null && typeof (value as BetterSqliteDatabase).prepare === 'function' && typeof (value as BetterSqliteDatabase).transaction === 'function';
}

class BetterSqliteExecutor implements SqliteExecutor {
	readonly backend = BACKEND;
	readonly maxParams = 999;
	readonly maxStatementBytes = 64 * 1024 * 1024;
	private statements = new Map<string, BetterSqliteStatement>();
	private db: Promise<BetterSqliteDatabase> | null = null;

	constructor(
		private readonly source: string | BetterSqliteDatabase,
		private readonly options: { synchronous: 'FULL' | 'NORMAL'; busyTimeoutMs: number },
		readonly maxValueBytes: number,
	) {}

	private open(): Promise<BetterSqliteDatabase> {
		if (!this.db) {
			this.db = openDatabase(this.source, this.options);
			this.db.catch(() => (this.db = null));
		}
		return this.db;
	}

	private prepare(db: BetterSqliteDatabase, sql: string): BetterSqliteStatement {
		let stmt = this.statements.get(sql);
		if (!stmt) {
			if (this.statements.size > 500) this.statements.clear();
			stmt = db.prepare(sql);
			this.statements.set(sql, stmt);
		}
		return stmt;
	}

	async batch(statements: SqlStatement[], mode: 'read' | 'write'): Promise<SqlRow[][]> {
		const db = await this.open();
		const run = db.transaction(() =>
			statements.map((s) => {
				const stmt = this.prepare(db, s.sql);
				if (stmt.reader) return stmt.all(...s.params) as SqlRow[];
				stmt.run(...s.params);
				return [];
			}),
		);
		// A write transaction takes the write lock at BEGIN, so it never fails half-way for a lock.
		return (mode === 'write' ? run.immediate() : run.deferred()) as SqlRow[][];
	}

	async close(): Promise<void> {
		this.statements.clear();
		if (typeof this.source === 'string' && this.db) {
			const db = await this.db.catch(() => null);
			db?.close();
		}
		this.db = null;
	}

	classifyError(error: unknown, sessionId: string | undefined): FluePersistError | undefined {
		const code = (error as { code?: unknown })?.code;
		if (code === 'SQLITE_TOOBIG') {
			return new TooLargeError(`${sessionId === undefined ? '' : `session ${JSON.stringify(sessionId)}: `}a value is larger than this SQLite build allows. Lower the chunkBytes option.`, {
				backend: BACKEND,
				sessionId,
				cause: error,
			});
		}
		if (code === 'SQLITE_NOTADB') {
			return new ConfigError(`${typeof this.source === 'string' ? JSON.stringify(this.source) : 'the database'} is not a SQLite database. Point sqliteStore at a SQLite file or a new path.`, {
				backend: BACKEND,
				sessionId,
				cause: error,
			});
		}
		return undefined;
	}
}

async function openDatabase(source: string | BetterSqliteDatabase, options: { synchronous: 'FULL' | 'NORMAL'; busyTimeoutMs: number }): Promise<BetterSqliteDatabase> {
	if (typeof source !== 'string') return source;
	let Driver: new (path: string, options?: { timeout?: number }) => BetterSqliteDatabase;
	try {
		// Loaded only when the caller gives a path: the package never imports a driver it was not asked for.
		const specifier = 'better-sqlite3';
		Driver = ((await import(specifier)) as { default: typeof Driver }).default;
	} catch (cause) {
		throw new ConfigError('the driver better-sqlite3 is not installed. Run `npm install better-sqlite3@12`, or pass a Database you opened.', { backend: BACKEND, cause });
	}
	if (source !== ':memory:') mkdirSync(dirname(resolve(source)), { recursive: true });
	let db: BetterSqliteDatabase;
	try {
		db = new Driver(source, { timeout: options.busyTimeoutMs });
	} catch (cause) {
		throw new ConfigError(`cannot open SQLite file ${JSON.stringify(source)}: ${(cause as Error).message}. Check the path and its permissions.`, { backend: BACKEND, cause });
	}
	db.pragma('journal_mode = WAL');
	db.pragma(`synchronous = ${options.synchronous}`);
	return db;
}

/**
 * A store in a SQLite file, through better-sqlite3: the embedded default on Node.
 *
 * @example
 * import { sqliteStore } from 'flue-persist/sqlite'
 * const agent = await init({ model, persist: sqliteStore('./data/sessions.db') })
 */
export function sqliteStore(pathOrDatabase: string | BetterSqliteDatabase, options: SqliteStoreOptions = {}): FluePersistStore {
	if (typeof pathOrDatabase === 'string') {
		if (pathOrDatabase.length === 0) throw new ConfigError('sqliteStore needs a file path (or ":memory:") or a better-sqlite3 Database; got an empty string.', { backend: BACKEND });
	} else if (!isDatabase(pathOrDatabase)) {
		throw new ConfigError(`sqliteStore needs a file path or a better-sqlite3 Database (got ${pathOrDatabase === null ? 'null' : typeof pathOrDatabase}).`, { backend: BACKEND });
	}
	if (typeof options !== 'object' || options === null) throw new ConfigError('sqliteStore options must be an object.', { backend: BACKEND });
	const layout = checkLayout(options.layout, BACKEND, 'log');
	const synchronous = options.synchronous ?? 'FULL';
	if (synchronous !== 'FULL' && synchronous !== 'NORMAL') throw new ConfigError(`option synchronous must be 'FULL' or 'NORMAL' (got ${JSON.stringify(synchronous)}).`, { backend: BACKEND });
	const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
	if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) throw new ConfigError(`option busyTimeoutMs must be a whole number of milliseconds (got ${String(busyTimeoutMs)}).`, { backend: BACKEND });
	const chunkBytes = options.chunkBytes ?? 256 * 1024 * 1024;
	if (!Number.isInteger(chunkBytes) || chunkBytes < 1024) throw new ConfigError(`option chunkBytes must be a whole number of bytes, at least 1024 (got ${String(chunkBytes)}).`, { backend: BACKEND });
	const exec = new BetterSqliteExecutor(pathOrDatabase, Object.freeze({ synchronous, busyTimeoutMs }), chunkBytes);
	const adapter = createSqliteAdapter(exec, { layout, table: options.table ?? 'flue_sessions' });
	return createStore(adapter, {
		concurrency: options.concurrency,
		cacheBytes: options.cacheBytes,
		immutableEntries: options.immutableEntries,
		capabilities: { durable: pathOrDatabase !== ':memory:', maxSessionBytes: 64 * 1024 * 1024 },
	});
}
