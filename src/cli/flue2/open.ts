/**
 * Opening a Flue 2 database for the read commands: recognise it by its tables and stamp, and give
 * the format owner (src/flue2/format.ts) a `Flue2Sql` on it. SQLite files are opened so that
 * nothing on disk changes, not even a `-wal` or `-shm` file appearing beside them; MySQL sessions
 * are made read-only. Drivers are loaded only when a URL needs one.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { type SqliteDatabase, type SqliteOpener, sqliteClient } from '../../backends/sqlite/driver.js';
import { ConfigError } from '../../errors.js';
import { checkFlue2Stamp, type Flue2Inspection, type Flue2Row, type Flue2Sql, inspectFlue2, isFlue2Tables } from '../../flue2/format.js';
import { sqliteFileTables } from '../../flue2/sqlite-file.js';
import type { Flue2WriteSql } from '../../flue2/write.js';
import type { SqlClient } from '../../sql/client.js';
import { loadDriver, openDatabase, parseStoreUrl, redactUrl, toolConnection, toolSqliteOpener } from '../../tools/open-store.js';
import { CliError, type CliIo, EXIT } from '../program.js';
import { guarded } from '../session-io.js';

/** A Flue 2 database opened for reading. */
export interface Flue2Database {
	sql: Flue2Sql;
	/** The URL as typed, password hidden: safe to print, and to suggest commands with. */
	display: string;
	/** The database file, for a `sqlite:` URL. */
	file: string | null;
	inspection: Flue2Inspection;
	close(): Promise<void>;
}

/** The WAL flag of a SQLite file header (bytes 18 and 19 are 2 in WAL mode). */
function isWalFile(file: string): boolean {
	const fd = openSync(file, 'r');
	try {
		const header = Buffer.alloc(20);
		return readSync(fd, header, 0, 20, 0) === 20 && header[18] === 2 && header[19] === 2;
	} finally {
		closeSync(fd);
	}
}

/**
 * Opens a SQLite file so that reading it changes nothing on disk. A read-only SQLite connection
 * to a WAL-mode file creates `-wal` and `-shm` files when they are absent; then the whole
 * database is in the main file, which is opened as a snapshot instead (`openSnapshot`). When
 * both files exist (a Flue process has it open, or did not close cleanly), a read-only connection
 * uses them as they are.
 */
function openSqliteReadOnly(opener: SqliteOpener, file: string, display: string): SqliteDatabase {
	const wal = existsSync(`${file}-wal`);
	const shm = existsSync(`${file}-shm`);
	try {
		if (!isWalFile(file) || (wal && shm)) return opener.open(file, { readOnly: true });
		if (wal) {
			throw new ConfigError(
				`${display}: ${file}-wal exists without its -shm file, so the last writes may not be in the database file yet, and reading it would create the -shm file. Open the database once with Flue (or the sqlite3 shell) to recover the WAL, then run this again.`,
			);
		}
		return opener.openSnapshot(file);
	} catch (cause) {
		if (cause instanceof ConfigError) throw cause;
		throw new ConfigError(`${display}: cannot open ${file} as a SQLite database: ${(cause as Error).message}.`, { cause });
	}
}

interface MysqlConnection {
	query(sql: string, params?: unknown[]): Promise<[unknown, unknown]>;
	beginTransaction(): Promise<void>;
	commit(): Promise<void>;
	rollback(): Promise<void>;
	release(): void;
}

interface MysqlPool {
	query(sql: string, params?: unknown[]): Promise<[unknown, unknown]>;
	getConnection(): Promise<MysqlConnection>;
	on(event: 'connection', listener: (connection: { query(sql: string): unknown }) => void): void;
	end(): Promise<void>;
}

async function openMysql(urlText: string, display: string, options: { write?: boolean } = {}): Promise<{ sql: Flue2WriteSql; close(): Promise<void> }> {
	let url: URL;
	try {
		url = new URL(urlText);
	} catch {
		throw new ConfigError(`${display} is not a valid MySQL URL. Write it as mysql://user:password@host:3306/database.`);
	}
	if (url.pathname.replace(/^\//, '') === '') throw new ConfigError(`${display} names no database. Write it as mysql://user:password@host:3306/database.`);
	const mysql2 = await loadDriver<{ createPool(options: object): MysqlPool }>('mysql2/promise', 'npm install mysql2@3', display);
	const pool = mysql2.createPool({ uri: urlText, connectionLimit: 2, supportBigNumbers: true, bigNumberStrings: false });
	// Every session of a reading pool refuses writes: the read commands must not change a row.
	if (!options.write) pool.on('connection', (connection) => void connection.query('SET SESSION TRANSACTION READ ONLY'));
	const rowsOf = (result: [unknown, unknown]) => (Array.isArray(result[0]) ? (result[0] as Flue2Row[]) : []);
	const changesOf = (result: [unknown, unknown]) => Number((result[0] as { affectedRows?: unknown } | null)?.affectedRows ?? 0);
	const onConnection = (connection: MysqlConnection): SqlClient => {
		const tx: SqlClient = {
			dialect: 'mysql',
			query: async (text, params = []) => rowsOf(await connection.query(text, params)),
			run: async (text, params = []) => changesOf(await connection.query(text, params)),
			transaction: (fn) => fn(tx),
		};
		return tx;
	};
	const sql: Flue2WriteSql = {
		dialect: 'mysql',
		async query(text, params = []) {
			return rowsOf(await pool.query(text, params));
		},
		async run(text, params = []) {
			return changesOf(await pool.query(text, params));
		},
		async transaction(fn) {
			const connection = await pool.getConnection();
			try {
				await connection.beginTransaction();
				const result = await fn(onConnection(connection));
				await connection.commit();
				return result;
			} catch (error) {
				await connection.rollback().catch(() => undefined);
				throw error;
			} finally {
				connection.release();
			}
		},
	};
	try {
		await sql.query('SELECT 1');
	} catch (cause) {
		await pool.end().catch(() => undefined);
		throw new ConfigError(`cannot connect to ${display}: ${(cause as Error).message}. Check the URL and that the server is running.`, { cause });
	}
	return { sql, close: () => pool.end() };
}

/**
 * Opens the database a URL names when it is a Flue 2 database; null when it is not (the session
 * commands then handle it as before). `mysql://` URLs are Flue 2 only.
 */
export async function openFlue2IfAny(io: CliIo, urlText: string): Promise<Flue2Database | null> {
	const display = redactUrl(urlText);
	const scheme = /^([a-z0-9]+):/i.exec(urlText)?.[1]?.toLowerCase();
	let opened: { sql: Flue2Sql; close(): Promise<void> };
	let file: string | null = null;
	if (scheme === 'mysql' || scheme === 'mariadb') opened = await openMysql(urlText.replace(/^mariadb:/i, 'mysql:'), display);
	else if (scheme === 'sqlite') {
		const url = parseStoreUrl(urlText, io.cwd);
		// What is not a file (missing, a directory) is left to the session commands, which say what it is.
		if (!existsSync(url.path!) || !statSync(url.path!).isFile()) return null;
		// Decided from the file's schema pages when no -wal file can hold newer ones, or when a -wal
		// without its -shm makes the file unreadable here: a session store is then handed over
		// without SQLite ever opening it here.
		if (!existsSync(`${url.path!}-wal`) || !existsSync(`${url.path!}-shm`)) {
			const names = sqliteFileTables(url.path!);
			if (names !== null && !isFlue2Tables(names)) return null;
		}
		const db = openSqliteReadOnly(await toolSqliteOpener(display), url.path!, display);
		opened = { sql: sqliteClient(toolConnection(db)), close: async () => void db.close() };
		file = url.path!;
	} else if (scheme === 'postgres' || scheme === 'postgresql') {
		const url = parseStoreUrl(urlText, io.cwd);
		const database = await openDatabase(url, 'read', { readonly: true });
		opened = { sql: database.raw, close: () => database.close() };
	} else return null;
	try {
		const inspection = await inspectFlue2(opened.sql);
		if (!inspection.isFlue2) {
			if (scheme === 'mysql' || scheme === 'mariadb')
				throw new ConfigError(
					`${display} holds no Flue 2 tables (flue_meta, flue_conversation_streams). flue-persist reads MySQL databases written by Flue 2's @flue/mysql adapter; check the database name.`,
				);
			await opened.close();
			return null;
		}
		return { sql: opened.sql, display, file, inspection, close: opened.close };
	} catch (error) {
		await opened.close().catch(() => undefined);
		throw error;
	}
}

/**
 * Runs `fn` on the URL's database when it is a Flue 2 database and returns true; returns false
 * (having opened and closed it) when it is not. `checkStamp: false` lets doctor report the stamp
 * instead of being refused by it.
 */
export async function runIfFlue2(
	io: CliIo,
	urlText: string,
	fn: (db: Flue2Database) => Promise<void>,
	options: { checkStamp?: boolean; flags?: { layout?: string; table?: string } } = {},
): Promise<boolean> {
	return guarded(async () => {
		const db = await openFlue2IfAny(io, urlText);
		if (!db) return false;
		try {
			if (options.flags?.layout !== undefined || options.flags?.table !== undefined) {
				throw new CliError(
					`${db.display} is a Flue 2 database: --layout and --table apply to flue-persist session stores only. Run the command without them.`,
					EXIT.USAGE,
				);
			}
			if (options.checkStamp !== false) checkFlue2Stamp(db.inspection, db.display);
			await fn(db);
		} finally {
			await db.close();
		}
		return true;
	});
}

/** A Flue 2 database opened for writing. */
export interface Flue2WriteDatabase extends Omit<Flue2Database, 'sql'> {
	sql: Flue2WriteSql;
}

/**
 * Opens a Flue 2 database to write instances into (import, copy, prune). The database must
 * already hold the runtime's tables and stamp: the tools do not create Flue's schema, the runtime
 * does when it starts (so the tables are exactly those of the adapter that will read them).
 */
export async function openFlue2ForWrite(io: CliIo, urlText: string, options: { checkStamp?: boolean } = {}): Promise<Flue2WriteDatabase> {
	const display = redactUrl(urlText);
	const scheme = /^([a-z0-9]+):/i.exec(urlText)?.[1]?.toLowerCase();
	let opened: { sql: Flue2WriteSql; close(): Promise<void> };
	let file: string | null = null;
	if (scheme === 'mysql' || scheme === 'mariadb') opened = await openMysql(urlText.replace(/^mariadb:/i, 'mysql:'), display, { write: true });
	else if (scheme === 'sqlite' || scheme === 'postgres' || scheme === 'postgresql') {
		const url = parseStoreUrl(urlText, io.cwd);
		if (url.kind === 'sqlite' && !existsSync(url.path!)) throw new ConfigError(notFlue2(display));
		const database = await openDatabase(url, 'modify');
		opened = { sql: database.raw, close: () => database.close() };
		if (url.kind === 'sqlite') file = url.path!;
	} else throw new ConfigError(`${display}: Flue 2 databases are sqlite:<file>, postgres://… or mysql://… URLs.`);
	try {
		const inspection = await inspectFlue2(opened.sql);
		if (!inspection.isFlue2) throw new ConfigError(notFlue2(display));
		if (options.checkStamp !== false) checkFlue2Stamp(inspection, display);
		return { sql: opened.sql, display, file, inspection, close: opened.close };
	} catch (error) {
		await opened.close().catch(() => undefined);
		throw error;
	}
}

function notFlue2(display: string): string {
	return `${display} holds no Flue 2 tables. Start your Flue app once on this database (its adapter creates and stamps the tables), then run this again. Nothing was written.`;
}
