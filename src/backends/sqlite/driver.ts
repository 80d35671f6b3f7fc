/**
 * The two Node drivers of a SQLite file, better-sqlite3 and `node:sqlite` (`DatabaseSync`), behind
 * one small connection. Every difference between them is settled here, once: how a statement that
 * returns no rows runs, transactions (node:sqlite has no `.transaction()` helper), row objects
 * (node:sqlite returns null-prototype objects), integers beyond 2^53 (better-sqlite3 rounds them,
 * node:sqlite throws), error codes (`SQLITE_BUSY` against `ERR_SQLITE_ERROR` with `errcode` 5), and
 * how a file is opened, read-only or not. Neither driver is imported at module level: a path loads
 * the one that is installed, a database passed in is used as it is.
 */
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../../errors.js';
import type { SqlClient, SqlRow } from '../../sql/client.js';

/** The subset of a better-sqlite3 `Database` this store uses (better-sqlite3 9 to 12). */
export interface BetterSqliteDatabase {
	prepare(sql: string): BetterSqliteStatement;
	transaction(fn: () => unknown): { immediate(): unknown; deferred(): unknown };
	pragma(source: string, options?: { simple?: boolean }): unknown;
	exec(sql: string): unknown;
	close(): unknown;
	readonly inTransaction: boolean;
	readonly readonly?: boolean;
}

export interface BetterSqliteStatement {
	readonly reader: boolean;
	all(...params: unknown[]): unknown[];
	run(...params: unknown[]): unknown;
	safeIntegers?(toggle?: boolean): unknown;
}

/** The subset of a `node:sqlite` `DatabaseSync` this store uses (Node 22.5 and later). */
export interface NodeSqliteDatabase {
	prepare(sql: string): NodeSqliteStatement;
	exec(sql: string): unknown;
	close(): unknown;
	/** Node 22.16 and later; older releases do not say. */
	readonly isTransaction?: boolean;
}

export interface NodeSqliteStatement {
	all(...params: unknown[]): unknown[];
	run(...params: unknown[]): unknown;
	setReadBigInts?(enabled: boolean): unknown;
}

/** A database `sqliteStore` accepts: better-sqlite3's `Database` or node:sqlite's `DatabaseSync`. */
export type SqliteDatabase = BetterSqliteDatabase | NodeSqliteDatabase;

/** The driver a store opens a path with. */
export type SqliteDriverName = 'better-sqlite3' | 'node:sqlite';

/** How the store opens a file it was given by path. */
export interface OpenOptions {
	driver: SqliteDriverName | undefined;
	readOnly: boolean;
	synchronous: 'FULL' | 'NORMAL';
	busyTimeoutMs: number;
}

const BACKEND = 'sqlite';

/** A stored integer outside the range a JavaScript number holds exactly. */
export class IntegerRangeError extends Error {
	constructor(readonly column: string) {
		super(`column ${column} holds an integer beyond ±2^53, which JavaScript cannot represent exactly`);
		this.name = 'IntegerRangeError';
	}
}

function fn(value: unknown, name: string): boolean {
	return typeof value === 'object' && value !== null && typeof (value as Record<string, unknown>)[name] === 'function';
}

/** Which driver made this database, or null when it is neither. */
export function driverOf(value: unknown): SqliteDriverName | null {
	if (!fn(value, 'prepare') || !fn(value, 'exec') || !fn(value, 'close')) return null;
	// better-sqlite3 alone has transaction() and pragma(); DatabaseSync has neither.
	if (fn(value, 'transaction') && fn(value, 'pragma')) return 'better-sqlite3';
	return 'node:sqlite';
}

/**
 * How integers beyond ±2^53 are read: `exact` refuses them (`IntegerRangeError`), as the store must;
 * `rounded` reads them as the nearest number, as the tools always have (doctor reads what the store
 * refuses).
 */
export type IntegerReading = 'exact' | 'rounded';

/** One open database, whichever driver is under it. */
export class SqliteConnection {
	private statements = new Map<string, (params: unknown[]) => SqlRow[]>();

	constructor(
		readonly db: SqliteDatabase,
		readonly driver: SqliteDriverName,
		/** Why the store must not write (a read-only file or option), or null. */
		readonly readOnlyReason: string | null,
		private readonly integers: IntegerReading = 'exact',
	) {}

	/** Runs one statement and returns its rows (none for a write), as plain objects with exact numbers. */
	query(sql: string, params: unknown[] = []): SqlRow[] {
		let run = this.statements.get(sql);
		if (!run) {
			if (this.statements.size > 500) this.statements.clear();
			run = this.compile(sql);
			this.statements.set(sql, run);
		}
		return run(params);
	}

	private compile(sql: string): (params: unknown[]) => SqlRow[] {
		if (this.driver === 'better-sqlite3') {
			const stmt = (this.db as BetterSqliteDatabase).prepare(sql);
			// all() refuses a statement that returns no data; run() is how better-sqlite3 runs it.
			if (!stmt.reader) {
				return (params) => {
					stmt.run(...params);
					return [];
				};
			}
			// Integers come back as BigInt, so a value beyond 2^53 is seen instead of rounded.
			stmt.safeIntegers?.(true);
			return (params) => plainRows(stmt.all(...params), this.integers);
		}
		const stmt = (this.db as NodeSqliteDatabase).prepare(sql);
		// node:sqlite runs any statement with all() (a write returns []), and by default throws on an
		// integer beyond 2^53 with ERR_OUT_OF_RANGE; reading BigInt makes both drivers report it alike.
		stmt.setReadBigInts?.(true);
		return (params) => plainRows(stmt.all(...params), this.integers);
	}

	/** Runs a statement that changes rows; returns how many it changed. */
	run(sql: string, params: unknown[] = []): number {
		const result = this.db.prepare(sql).run(...params) as { changes: number | bigint };
		return Number(result.changes);
	}

	/** True while a transaction is open on the database (the store's, the tools' or the caller's own). */
	inTransaction(): boolean {
		return this.driver === 'better-sqlite3' ? (this.db as BetterSqliteDatabase).inTransaction : (this.db as NodeSqliteDatabase).isTransaction === true;
	}

	/**
	 * Runs `body` in one transaction, all or nothing. A write takes the write lock at BEGIN
	 * (IMMEDIATE), so it waits for the busy timeout there and never fails half-way for a lock. Inside
	 * a transaction the caller opened on its own database, a savepoint nests in it instead.
	 */
	transaction<T>(mode: 'read' | 'write', body: () => T): T {
		const nested = this.inTransaction();
		this.db.exec(nested ? 'SAVEPOINT flue_persist' : mode === 'write' ? 'BEGIN IMMEDIATE' : 'BEGIN DEFERRED');
		let result: T;
		try {
			result = body();
		} catch (error) {
			try {
				this.db.exec(nested ? 'ROLLBACK TO flue_persist; RELEASE flue_persist' : 'ROLLBACK');
			} catch {
				// SQLite already rolled back (after SQLITE_FULL, IOERR or NOMEM); the first error is the one to report.
			}
			throw error;
		}
		this.db.exec(nested ? 'RELEASE flue_persist' : 'COMMIT');
		return result;
	}

	close(): void {
		this.statements.clear();
		this.db.close();
	}

	/** Forgets prepared statements (they belong to one database handle). */
	forget(): void {
		this.statements.clear();
	}
}

function plainRows(rows: unknown[], integers: IntegerReading): SqlRow[] {
	const out: SqlRow[] = new Array(rows.length);
	for (let i = 0; i < rows.length; i++) {
		const row = rows[i] as Record<string, unknown>;
		const plain: SqlRow = {};
		for (const key in row) {
			const value = row[key];
			if (typeof value === 'bigint') {
				if (integers === 'exact' && (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER))) throw new IntegerRangeError(key);
				plain[key] = Number(value);
			} else plain[key] = value;
		}
		out[i] = plain;
	}
	return out;
}

/**
 * The one SQL interface (`SqlClient`) over a SQLite connection, for the tools. A transaction
 * begins IMMEDIATE and runs `fn` with BEGIN and COMMIT by hand: both drivers are synchronous, and
 * `fn` only awaits this client's own calls, so every statement it runs lands inside; inside it,
 * `transaction` runs `fn` in the same one.
 *
 * @example
 * const sql = sqliteClient(await openSqliteFile('./data/sessions.db', options))
 */
export function sqliteClient(connection: SqliteConnection): SqlClient {
	let open = false;
	const client: SqlClient = {
		dialect: 'sqlite',
		query: async (sql, params = []) => connection.query(sql, params),
		run: async (sql, params = []) => connection.run(sql, params),
		async transaction(fn) {
			if (open) return fn(client);
			connection.db.exec('BEGIN IMMEDIATE');
			open = true;
			try {
				const result = await fn(client);
				connection.db.exec('COMMIT');
				return result;
			} catch (error) {
				// Always ROLLBACK, as SqliteConnection.transaction does: node:sqlite before 22.16 cannot
				// say whether a transaction is open, and one SQLite already rolled back makes this fail.
				try {
					connection.db.exec('ROLLBACK');
				} catch {
					// Already rolled back; the first error is the one to report.
				}
				throw error;
			} finally {
				open = false;
			}
		},
	};
	return client;
}

/** The names SQLite gives its primary result codes, as better-sqlite3 reports them. */
const PRIMARY_CODES: Record<number, string> = {
	1: 'SQLITE_ERROR',
	2: 'SQLITE_INTERNAL',
	3: 'SQLITE_PERM',
	4: 'SQLITE_ABORT',
	5: 'SQLITE_BUSY',
	6: 'SQLITE_LOCKED',
	7: 'SQLITE_NOMEM',
	8: 'SQLITE_READONLY',
	9: 'SQLITE_INTERRUPT',
	10: 'SQLITE_IOERR',
	11: 'SQLITE_CORRUPT',
	12: 'SQLITE_NOTFOUND',
	13: 'SQLITE_FULL',
	14: 'SQLITE_CANTOPEN',
	15: 'SQLITE_PROTOCOL',
	16: 'SQLITE_EMPTY',
	17: 'SQLITE_SCHEMA',
	18: 'SQLITE_TOOBIG',
	19: 'SQLITE_CONSTRAINT',
	20: 'SQLITE_MISMATCH',
	21: 'SQLITE_MISUSE',
	22: 'SQLITE_NOLFS',
	23: 'SQLITE_AUTH',
	24: 'SQLITE_FORMAT',
	25: 'SQLITE_RANGE',
	26: 'SQLITE_NOTADB',
};

/**
 * The primary SQLite result code of a driver error, named as SQLite names it (`SQLITE_BUSY`), or
 * undefined for an error that did not come from SQLite. better-sqlite3 puts the extended name in
 * `code` (`SQLITE_READONLY_DBMOVED`); node:sqlite puts `ERR_SQLITE_ERROR` in `code` and the
 * extended number in `errcode`.
 */
export function sqliteErrorCode(error: unknown): string | undefined {
	const e = error as { code?: unknown; errcode?: unknown } | null;
	if (typeof e?.errcode === 'number') return PRIMARY_CODES[e.errcode & 0xff];
	if (typeof e?.code === 'string' && e.code.startsWith('SQLITE_')) {
		const primary = Object.values(PRIMARY_CODES).find((name) => e.code === name || (e.code as string).startsWith(`${name}_`));
		return primary ?? e.code;
	}
	return undefined;
}

type BetterSqliteConstructor = new (path: string | Buffer, options?: { readonly?: boolean; fileMustExist?: boolean; timeout?: number }) => BetterSqliteDatabase;
type NodeSqliteConstructor = new (path: string, options?: { readOnly?: boolean; open?: boolean }) => NodeSqliteDatabase;

async function loadBetterSqlite(): Promise<BetterSqliteConstructor | null> {
	try {
		// A variable specifier keeps bundlers from pulling the optional peer in.
		const specifier = 'better-sqlite3';
		return ((await import(specifier)) as { default: BetterSqliteConstructor }).default;
	} catch {
		return null;
	}
}

async function loadNodeSqlite(): Promise<NodeSqliteConstructor | null> {
	try {
		const specifier = 'node:sqlite';
		return ((await import(specifier)) as { DatabaseSync: NodeSqliteConstructor }).DatabaseSync ?? null;
	} catch {
		// Node before 22.5 has no node:sqlite (22.5 to 22.12 only behind --experimental-sqlite).
		return null;
	}
}

/** Opens SQLite files with one driver. */
export interface SqliteOpener {
	driver: SqliteDriverName;
	/**
	 * Opens a file; `readOnly` opens it read-only at the driver. `mustExist` refuses to create a
	 * file that is not there (SQLite would create an empty database).
	 */
	open(path: string, options: { readOnly: boolean; mustExist?: boolean }): SqliteDatabase;
	/**
	 * Opens a copy of the file as it is now, taken once, without creating or changing any file
	 * beside it: a WAL-mode file whose -wal and -shm files are absent would get both from a plain
	 * read-only open. Only for a file in which the whole database is (no -wal file), since the copy
	 * is read with its WAL flag cleared. better-sqlite3 reads the copy from memory; node:sqlite,
	 * which cannot, from a private temporary file that its close removes.
	 */
	openSnapshot(path: string): SqliteDatabase;
}

/** The file's bytes with the WAL flag of its header cleared (bytes 18 and 19: 1 is rollback journal, 2 WAL). */
function withoutWalFlag(path: string): Buffer {
	const image = readFileSync(path);
	if (image.length >= 20) {
		image[18] = 1;
		image[19] = 1;
	}
	return image;
}

/**
 * Opens a private temporary copy of `image` read-only with node:sqlite. With `unlink`, the copy is
 * removed at once and read back, and null is returned (nothing left on disk) when that does not
 * work here; without, it is removed when the database is closed or the process exits.
 */
function openCopy(NodeSqlite: NodeSqliteConstructor, image: Uint8Array, unlink: true): SqliteDatabase | null;
function openCopy(NodeSqlite: NodeSqliteConstructor, image: Uint8Array, unlink: false): SqliteDatabase;
function openCopy(NodeSqlite: NodeSqliteConstructor, image: Uint8Array, unlink: boolean): SqliteDatabase | null {
	const dir = mkdtempSync(join(tmpdir(), 'flue-persist-read-'));
	const remove = () => rmSync(dir, { recursive: true, force: true });
	let db: NodeSqliteDatabase | undefined;
	try {
		const copy = join(dir, 'snapshot.db');
		writeFileSync(copy, image, { mode: 0o600 });
		db = new NodeSqlite(copy, { readOnly: true });
		if (unlink) {
			remove();
			db.prepare('SELECT count(*) FROM sqlite_master').all();
		}
	} catch (error) {
		db?.close();
		remove();
		if (unlink) return null;
		throw error;
	}
	if (unlink) return db;
	const open = db;
	process.once('exit', remove);
	return {
		prepare: (sql: string) => open.prepare(sql),
		exec: (sql: string) => open.exec(sql),
		close() {
			open.close();
			remove();
			process.off('exit', remove);
		},
		get isTransaction() {
			return open.isTransaction;
		},
	};
}

function mustExist(path: string): void {
	if (!existsSync(path)) throw new Error(`unable to open database file: ${path} does not exist`);
}

/**
 * The driver to open files with: better-sqlite3 when it is installed, else node:sqlite when the
 * runtime has it, or the one `driver` names. Throws a CONFIG error that says what to install.
 */
export async function sqliteOpener(driver?: SqliteDriverName): Promise<SqliteOpener> {
	const better = driver === 'node:sqlite' ? null : await loadBetterSqlite();
	if (better) {
		return {
			driver: 'better-sqlite3',
			open: (path, options) => new better(path, { readonly: options.readOnly, fileMustExist: options.readOnly || options.mustExist === true }),
			openSnapshot: (path) => new better(withoutWalFlag(path), { readonly: true }),
		};
	}
	const nodeSqlite = driver === 'better-sqlite3' ? null : await loadNodeSqlite();
	if (nodeSqlite) {
		return {
			driver: 'node:sqlite',
			open(path, options) {
				// node:sqlite has no fileMustExist: checked just before the open.
				if (options.mustExist) mustExist(path);
				return new nodeSqlite(path, options.readOnly ? { readOnly: true } : {});
			},
			openSnapshot(path) {
				const image = withoutWalFlag(path);
				// node:sqlite cannot read from memory, so the copy is a private temporary file. It is
				// unlinked as soon as it is open (the open handle keeps it readable), so a read that is
				// interrupted (Ctrl-C, SIGKILL) leaves no copy of the conversations behind. Where a
				// system refuses that, or SQLite cannot read an unlinked file, the copy stays until close
				// or exit instead.
				const unlinked = openCopy(nodeSqlite, image, true);
				return unlinked ?? openCopy(nodeSqlite, image, false);
			},
		};
	}
	throw new ConfigError(
		driver === 'better-sqlite3'
			? 'the driver better-sqlite3 is not installed. Run `npm install better-sqlite3@12`, or pass a Database you opened.'
			: driver === 'node:sqlite'
				? `this Node (${process.version}) has no node:sqlite; it needs Node 22.5 or later (22.13 without a flag). Install better-sqlite3 instead: \`npm install better-sqlite3@12\`.`
				: `no SQLite driver is available: better-sqlite3 is not installed and this Node (${process.version}) has no node:sqlite (Node 22.13 and later). Run \`npm install better-sqlite3@12\`, or use Node 22.13 or later.`,
		{ backend: BACKEND },
	);
}

/** Whether this process may write the file (false for a file that does not exist). */
export function isWritable(path: string): boolean {
	try {
		accessSync(path, constants.W_OK);
		return true;
	} catch {
		return false;
	}
}

/**
 * Opens a SQLite file with better-sqlite3 when it is installed, else with node:sqlite when the
 * runtime has it (or with the driver `options.driver` names), and sets it up for the store.
 */
export async function openSqliteFile(path: string, options: OpenOptions): Promise<SqliteConnection> {
	const memory = path === ':memory:';
	const exists = !memory && existsSync(path);
	const who = JSON.stringify(path);
	if (options.readOnly && !exists) {
		throw new ConfigError(`there is no SQLite file ${who} to open read-only. Check the path, or drop the readOnly option to create it.`, { backend: BACKEND });
	}
	// A file the process may not write (its permissions, an immutable or read-only file system) is
	// opened read-only: loads and lists work, and a write is refused with CONFIG before any I/O.
	const unwritable = exists && !isWritable(path);
	const readOnlyReason = unwritable
		? `the SQLite file ${who} is read-only (this process may not write it)`
		: options.readOnly
			? `the store was created with readOnly: true for ${who}`
			: null;
	// A connection opened read-only cannot checkpoint and delete a WAL file when it closes, so
	// reading a file in WAL mode that way leaves -wal and -shm beside it. A file the process may
	// write is opened as usual instead, with query_only set so that SQLite refuses every write on
	// this connection, and the last close cleans up as always.
	const driverReadOnly = unwritable;

	const opener = await sqliteOpener(options.driver);
	if (!memory && !exists) mkdirSync(dirname(resolve(path)), { recursive: true });
	let connection: SqliteConnection;
	try {
		connection = new SqliteConnection(opener.open(path, { readOnly: driverReadOnly }), opener.driver, readOnlyReason);
	} catch (cause) {
		throw new ConfigError(`cannot open SQLite file ${who}: ${(cause as Error).message}. Check the path and its permissions.`, { backend: BACKEND, cause });
	}
	try {
		// The same on both drivers: PRAGMA rather than better-sqlite3's timeout option, which node:sqlite lacks before 22.16.
		connection.query(`PRAGMA busy_timeout = ${options.busyTimeoutMs}`);
		if (readOnlyReason) {
			if (!driverReadOnly) connection.query('PRAGMA query_only = ON');
		} else {
			connection.query('PRAGMA journal_mode = WAL');
			connection.query(`PRAGMA synchronous = ${options.synchronous}`);
		}
	} catch (error) {
		connection.close();
		throw error;
	}
	return connection;
}
