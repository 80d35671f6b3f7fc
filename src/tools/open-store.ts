/**
 * Store URLs: how the session tools name a database, and how they open a store on it.
 *
 * | URL | database |
 * | --- | --- |
 * | `sqlite:<path>` | a SQLite file (better-sqlite3 when installed, else node:sqlite) |
 * | `postgres://…`, `postgresql://…` | Postgres (pg); `?schema=` picks the schema |
 * | `d1:<path>` | a local D1 database persisted by miniflare or wrangler (a SQLite file) |
 * | `do:<path>` | one local Durable Object's SQLite storage persisted by miniflare or wrangler |
 *
 * Every URL takes `?layout=log|blob` and `?table=<name>`; when absent they are read from the
 * database (the `layout:<table>:<layout>` keys of `flue_persist_meta`, or which tables exist).
 * Local D1 and Durable Object files are opened with the same driver through `sqliteStore`, the
 * same SQL core `d1Store` and `durableObjectStore` run inside workerd, with values split at the
 * Cloudflare row limit so that what the tools write stays readable by the Worker.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import type pg from 'pg';
import { CLOUDFLARE_LIMITS } from '../backends/cloudflare.js';
import { detectDriver, postgresClient } from '../backends/postgres/driver.js';
import { postgresStore } from '../backends/postgres/index.js';
import { driverOf, isWritable, SqliteConnection, type SqliteDatabase, type SqliteOpener, sqliteClient, sqliteOpener } from '../backends/sqlite/driver.js';
import { sqliteStore } from '../backends/sqlite/index.js';
import { checkIdentifier } from '../sql/identifiers.js';
import { sqliteTableNames } from '../sql/sqlite-schema.js';
import { escapeText } from './format.js';
import { DEFAULT_TABLE, describeFound, type Inspection, inspectDatabase } from './inspect.js';

export { type Inspection, inspectDatabase } from './inspect.js';

import { ConfigError, unprefixedMessage } from '../errors.js';
import { FLUE2_TABLES } from '../flue2/names.js';
import { sqliteFileTables } from '../flue2/sqlite-file.js';
import type { FluePersistStore, Layout } from '../types.js';
import { resolveD1, resolveDurableObject } from './local-state.js';
import { type RawSql, rawSql } from './raw-sql.js';

/** The scheme of a store URL. */
export type StoreKind = 'sqlite' | 'postgres' | 'd1' | 'do';

/** A parsed store URL. */
export interface StoreUrl {
	kind: StoreKind;
	/** The URL as given, with any password replaced by `***`: safe to print. */
	display: string;
	/** The working directory relative paths were resolved against; messages show paths relative to it. */
	cwd: string;
	/** sqlite, d1, do: the path, resolved against the working directory. */
	path?: string;
	/** postgres: the connection string without the parameters the tools consume. */
	connectionString?: string;
	layout?: Layout;
	table?: string;
	/** postgres */
	schema?: string;
	/** d1 */
	database?: string;
	/** do */
	objectClass?: string;
	objectName?: string;
	objectId?: string;
}

const KNOWN_PARAMS: Record<StoreKind, string[]> = {
	sqlite: ['layout', 'table'],
	postgres: ['layout', 'table', 'schema'],
	d1: ['layout', 'table', 'database'],
	do: ['layout', 'table', 'class', 'name', 'id'],
};

const URL_FORMS = 'sqlite:<file>, postgres://user:password@host/db, d1:<dir or file>, do:<dir or file>';

/** Query parameters that carry a secret: `password`, `sslpassword`, `pass`, `pwd`, `passwd`, `token`, `secret`. */
const SECRET_PARAM = /^(.*password.*|pass|passwd|pwd|token|secret)$/i;

/**
 * A URL safe to print, log or put in an export header: the password of its user part and the value
 * of every secret query parameter become `***`. Works on text that is not a valid URL (a password
 * holding `@`, `/`, `#` or `?`): the user part runs to the last `@`, so too much is hidden rather
 * than too little.
 *
 * @example
 * redactUrl('postgres://u:pa@ss@host/db?password=x') // 'postgres://u:***@host/db?password=***'
 */
export function redactUrl(text: string): string {
	const scheme = /^[a-z][a-z0-9+.-]*:(\/\/)?/i.exec(text)?.[0] ?? '';
	let rest = text.slice(scheme.length);
	let user = '';
	if (scheme.endsWith('//')) {
		const at = rest.lastIndexOf('@');
		if (at !== -1) {
			const info = rest.slice(0, at);
			const colon = info.indexOf(':');
			user = colon === -1 ? `${info}@` : `${info.slice(0, colon)}:***@`;
			rest = rest.slice(at + 1);
		}
	}
	const q = rest.indexOf('?');
	if (q !== -1) {
		const hash = rest.indexOf('#', q);
		const query = rest.slice(q + 1, hash === -1 ? undefined : hash);
		const redacted = query
			.split('&')
			.map((pair) => {
				const eq = pair.indexOf('=');
				if (eq === -1) return pair;
				let key = pair.slice(0, eq);
				try {
					key = decodeURIComponent(key.replace(/\+/g, ' '));
				} catch {
					// A key that does not decode is compared as written.
				}
				return SECRET_PARAM.test(key) ? `${pair.slice(0, eq)}=***` : pair;
			})
			.join('&');
		rest = `${rest.slice(0, q + 1)}${redacted}${hash === -1 ? '' : rest.slice(hash)}`;
	}
	return `${scheme}${user}${rest}`;
}

/** Refuses a parameter given twice (`?schema=a&schema=b`): which one wins would be a guess. */
function checkDuplicateParams(params: URLSearchParams, display: string): void {
	const seen = new Set<string>();
	for (const key of params.keys()) {
		if (seen.has(key)) throw new ConfigError(`${display}: parameter ${JSON.stringify(key)} is given more than once. Give it once.`);
		seen.add(key);
	}
}

function checkLayoutParam(value: string | null, display: string): Layout | undefined {
	if (value === null) return undefined;
	if (value === 'log' || value === 'blob') return value;
	throw new ConfigError(`${display}: layout must be log or blob (got ${JSON.stringify(value)}).`);
}

/** Parses a store URL; relative paths are resolved against `cwd`. */
export function parseStoreUrl(text: string, cwd: string): StoreUrl {
	const display = redactUrl(text);
	const scheme = /^([a-z0-9]+):/i.exec(text)?.[1]?.toLowerCase();
	if (scheme === 'postgres' || scheme === 'postgresql') {
		let url: URL;
		try {
			url = new URL(text);
		} catch {
			throw new ConfigError(
				`${display} is not a valid Postgres URL. Write it as postgres://user:password@host:5432/database, with characters such as @ / # ? in the password percent-encoded (%40 %2F %23 %3F).`,
			);
		}
		checkDuplicateParams(url.searchParams, display);
		const take = (key: string) => {
			const value = url.searchParams.get(key);
			url.searchParams.delete(key);
			return value;
		};
		const layout = checkLayoutParam(take('layout'), display);
		const table = take('table') ?? undefined;
		const schema = take('schema') ?? undefined;
		if (table !== undefined) checkIdentifier(table, 'table', 'postgres');
		if (schema !== undefined) checkIdentifier(schema, 'schema', 'postgres');
		return { kind: 'postgres', display, cwd, connectionString: url.toString(), layout, table, schema };
	}
	if (scheme !== 'sqlite' && scheme !== 'd1' && scheme !== 'do') {
		// A path to a file (data/sessions.db) is the likeliest slip: say which URL opens it.
		const path = resolve(cwd, text);
		const isFile = scheme === undefined && existsSync(path) && statSync(path).isFile();
		if (isFile || (scheme === undefined && /\.(db|sqlite3?)$/i.test(text))) {
			throw new ConfigError(
				`${JSON.stringify(display)} is not a store URL${isFile ? ', but it is a file' : ''}. To open it as a SQLite database, write sqlite:${text}.`,
			);
		}
		throw new ConfigError(`${JSON.stringify(display)} is not a store URL. Use one of: ${URL_FORMS}.`);
	}
	const rest = text.slice(scheme.length + 1);
	const q = rest.indexOf('?');
	let rawPath = q === -1 ? rest : rest.slice(0, q);
	const params = new URLSearchParams(q === -1 ? '' : rest.slice(q + 1));
	checkDuplicateParams(params, display);
	for (const key of params.keys()) {
		if (!KNOWN_PARAMS[scheme].includes(key)) {
			throw new ConfigError(
				`${display}: unknown parameter ${JSON.stringify(key)}. A ${scheme}: URL takes ${KNOWN_PARAMS[scheme].map((k) => `?${k}=`).join(', ')}.`,
			);
		}
	}
	// sqlite:///abs/file.db is the file-URL spelling of sqlite:/abs/file.db.
	if (rawPath.startsWith('//')) rawPath = rawPath.slice(2);
	if (rawPath === '')
		throw new ConfigError(
			`${display} names no file. Write ${scheme}:<path>, for example ${scheme === 'sqlite' ? 'sqlite:./data/sessions.db' : `${scheme}:.wrangler/state/v3/${scheme}`}.`,
		);
	if (rawPath === '~' || rawPath.startsWith('~/')) rawPath = homedir() + rawPath.slice(1);
	const path = isAbsolute(rawPath) ? rawPath : resolve(cwd, rawPath);
	const table = params.get('table') ?? undefined;
	if (table !== undefined) checkIdentifier(table, 'table', scheme);
	return {
		kind: scheme,
		display,
		cwd,
		path,
		layout: checkLayoutParam(params.get('layout'), display),
		table,
		database: params.get('database') ?? undefined,
		objectClass: params.get('class') ?? undefined,
		objectName: params.get('name') ?? undefined,
		objectId: params.get('id') ?? undefined,
	};
}

/**
 * What a command does with the database: `read` needs stored sessions and opens SQLite files
 * read-only when it can; `modify` needs stored sessions and may change them; `write` may create
 * the database and its tables (the destination of an import or a copy).
 */
export type Intent = 'read' | 'modify' | 'write';

/** The table and layout a command works on. */
export interface Target {
	table: string;
	layout: Layout;
	/** Whether the session tables of this layout exist yet. */
	exists: boolean;
}

/** Whether any table of `table` in `layout` exists, identified or not. */
function layoutTablesExist(inspection: Inspection, table: string, layout: Layout): boolean {
	const n = sqliteTableNames(table);
	const names = layout === 'blob' ? [n.blob, n.blobChunks] : [n.log, n.entries];
	return names.some((n) => inspection.tables.has(n));
}

/**
 * Picks the table and layout from the options and what the database holds, or says what to pass.
 * Only positively identified tables are picked; a destination table is created only where no
 * table of that name exists, so no command ever acts on a table it does not know to be one.
 */
function chooseTarget(
	inspection: Inspection,
	wanted: { layout?: Layout; table?: string },
	intent: Intent,
	where: string,
	fallbackLayout: Layout = 'log',
): Target {
	const candidates = [...inspection.sessionTables.keys()].sort();
	let table = wanted.table;
	if (table === undefined) {
		if (candidates.length === 1) table = candidates[0]!;
		else if (candidates.length === 0) table = DEFAULT_TABLE;
		else {
			throw new ConfigError(`${where} holds several session tables: ${describeFound(inspection)}. Pick one with --table (or ?table= in the URL).`);
		}
	}
	const present = inspection.sessionTables.get(table) ?? new Set<Layout>();
	let layout = wanted.layout;
	if (layout === undefined) {
		if (present.size === 1) layout = [...present][0]!;
		// After a sealed migration the log layout is the live one; the blob table is its backup.
		else if (present.size === 2 && inspection.sealed.has(table)) layout = 'log';
		else if (present.size === 2) {
			throw new ConfigError(
				`${where} holds table ${table} in both layouts (blob and log), as after a migration between them. Pick one with --layout log or --layout blob (or ?layout=); \`flue-persist doctor\` checks that the two agree.`,
			);
		} else if (intent === 'write') layout = fallbackLayout;
		else
			throw new ConfigError(
				`${where} holds no flue-persist sessions${wanted.table ? ` in table ${table}` : ''} (found ${describeFound(inspection)}). Nothing was read or written. ${wanted.table ? 'Check the URL and --table: no command acts on a table it has not identified as a session table' : 'Check the URL, or pick the table with --table'}.`,
			);
	}
	const exists = present.has(layout);
	if (!exists && intent === 'write' && layoutTablesExist(inspection, table, layout)) {
		throw new ConfigError(
			`${where} has a table named like the ${layout} layout of ${table} that is not a flue-persist or Flue session table (found ${describeFound(inspection)}). Nothing was written. Pick another table with --table (or ?table=).`,
		);
	}
	if (!exists && intent !== 'write') {
		throw new ConfigError(
			`${where} has no sessions in table ${table} with the ${layout} layout (found ${describeFound(inspection)}). Nothing was read or written. Check --layout and --table.`,
		);
	}
	return { table, layout, exists };
}

/** A database opened for the tools: raw SQL on it, and how to close it. */
export interface OpenedDatabase {
	url: StoreUrl;
	raw: RawSql;
	/** Values longer than this are stored in parts (the Cloudflare row limit for d1: and do:). */
	chunkBytes: number | undefined;
	/** SQLite family: the database (better-sqlite3 or node:sqlite). Postgres: the pool. */
	handle: { kind: 'sqlite'; db: SqliteDatabase; file: string; readonly: boolean } | { kind: 'postgres'; pool: pg.Pool; schema: string | null };
	close(): Promise<void>;
}

/** Imports a database driver (`pg`, `mysql2/promise`), or says which package to install for `display`. */
export async function loadDriver<T>(name: string, install: string, display: string): Promise<T> {
	try {
		// A variable specifier: the drivers are optional peer dependencies, loaded only when a URL needs one.
		const specifier = name;
		const module = (await import(specifier)) as { default?: T };
		return (module.default ?? module) as T;
	} catch (cause) {
		throw new ConfigError(`${display} needs the driver ${name.split('/')[0]}, which is not installed. Run \`${install}\` in this project and try again.`, {
			cause,
		});
	}
}

/** Opens the database a URL names, without touching its tables. */
export async function openDatabase(url: StoreUrl, intent: Intent, options: { readonly?: boolean } = {}): Promise<OpenedDatabase> {
	if (url.kind === 'postgres') {
		const pgModule = await loadDriver<typeof pg>('pg', 'npm install pg@8', url.display);
		// A command that only reads runs every statement in read-only transactions: the server refuses a write.
		const readOnly = intent === 'read' || options.readonly === true;
		const pool = new pgModule.Pool({ connectionString: url.connectionString, max: 8, ...(readOnly ? { options: '-c default_transaction_read_only=on' } : {}) });
		// An idle client that loses its server must not crash the process; the next query reports it.
		pool.on('error', () => undefined);
		const raw = rawSql(postgresClient(detectDriver(pool), url.schema ?? null));
		let schemaFound = true;
		try {
			const [row] = await raw.query('SELECT ?::text IS NULL OR EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = ?::text) AS found', [
				url.schema ?? null,
				url.schema ?? null,
			]);
			schemaFound = row?.found === true;
		} catch (cause) {
			await pool.end().catch(() => undefined);
			throw new ConfigError(`cannot connect to ${url.display}: ${(cause as Error).message}. Check the URL and that the server is running.`, { cause });
		}
		// A destination's schema is created by the store; anything else needs it to exist.
		if (!schemaFound && intent !== 'write') {
			await pool.end().catch(() => undefined);
			throw new ConfigError(
				`${url.display}: the schema ${JSON.stringify(url.schema)} does not exist in this database. Nothing was read or written. Check ?schema= (schemas are case-sensitive).`,
			);
		}
		return { url, raw, chunkBytes: undefined, handle: { kind: 'postgres', pool, schema: url.schema ?? null }, close: () => pool.end() };
	}
	const opener = await toolSqliteOpener(url.display);
	const mayCreate = intent === 'write';
	const show = (path: string) => {
		const rel = relative(url.cwd, path);
		return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
	};
	const how = { mayCreate, show, describe: (file: string) => describeSqliteFile(opener, file) };
	let file: string;
	if (url.kind === 'd1') file = resolveD1(url.path!, { database: url.database }, how).file;
	else if (url.kind === 'do') file = resolveDurableObject(url.path!, { class: url.objectClass, name: url.objectName, id: url.objectId }, how).file;
	else file = url.path!;
	const exists = existsSync(file);
	if (!exists && !mayCreate) throw new ConfigError(`${url.display}: there is no file ${show(file)}. Check the path.`);
	if (exists && statSync(file).isDirectory()) {
		throw new ConfigError(
			`${url.display}: ${show(file)} is a directory, not a SQLite file. Name the database file in it (sqlite:${show(file)}/sessions.db), or use d1:${show(file)} or do:${show(file)} for the state wrangler keeps.`,
		);
	}
	if (!exists) mkdirSync(dirname(file), { recursive: true });
	const readonly = options.readonly === true && exists;
	// A connection opened read-only cannot remove the -wal and -shm files of a WAL database when it
	// closes; on a file this process may write, query_only refuses every write just the same.
	const driverReadonly = readonly && !isWritable(file);
	let db: SqliteDatabase | undefined;
	let connection: SqliteConnection;
	try {
		db = opener.open(file, { readOnly: driverReadonly, mustExist: !mayCreate });
		connection = toolConnection(db);
		if (readonly && !driverReadonly) connection.query('PRAGMA query_only = ON');
		// Fails here, not at the first query, when the file is not a SQLite database.
		connection.query('SELECT count(*) FROM sqlite_master');
	} catch (cause) {
		db?.close();
		throw new ConfigError(`${url.display}: cannot open ${show(file)} as a SQLite database: ${(cause as Error).message}.`, { cause });
	}
	try {
		if (!exists) connection.query('PRAGMA journal_mode = WAL');
		// A copy or import writes thousands of one-session transactions. In WAL mode NORMAL skips the
		// sync per commit and a crash still leaves only whole transactions; closing the database
		// checkpoints the WAL with a sync, so what a finished command wrote is durable. A database in
		// rollback-journal mode keeps FULL, where NORMAL could damage it on power loss.
		if (!readonly)
			connection.query(connection.query('PRAGMA journal_mode')[0]?.journal_mode === 'wal' ? 'PRAGMA synchronous = NORMAL' : 'PRAGMA synchronous = FULL');
	} catch (error) {
		db.close();
		throw error;
	}
	const chunkBytes = url.kind === 'sqlite' ? undefined : CLOUDFLARE_LIMITS.maxValueBytes;
	return {
		url,
		raw: rawSql(sqliteClient(connection)),
		chunkBytes,
		handle: { kind: 'sqlite', db, file, readonly },
		close: async () => void db.close(),
	};
}

/** The connection the tools run SQL on: integers beyond 2^53 are read rounded, so doctor reads what the store refuses. */
export function toolConnection(db: SqliteDatabase): SqliteConnection {
	return new SqliteConnection(db, driverOf(db)!, null, 'rounded');
}

/**
 * The SQLite driver the tools open files with (better-sqlite3 when installed, else node:sqlite),
 * or a CONFIG error naming `display`. A file it opens waits up to 5 s for another process's lock.
 */
export async function toolSqliteOpener(display: string): Promise<SqliteOpener> {
	let opener: SqliteOpener;
	try {
		opener = await sqliteOpener();
	} catch (cause) {
		throw new ConfigError(`${display}: ${unprefixedMessage(cause)}`, { cause });
	}
	return {
		...opener,
		open(path, options) {
			const db = opener.open(path, options);
			try {
				db.exec('PRAGMA busy_timeout = 5000');
			} catch (error) {
				db.close();
				throw error;
			}
			return db;
		},
	};
}

/** A one-line description of a SQLite file's session tables, for listings of candidate files. */
function describeSqliteFile(opener: SqliteOpener, file: string): string {
	try {
		const db = opener.open(file, { readOnly: true });
		try {
			const names = toolConnection(db)
				.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' ORDER BY name")
				.map((r) => String(r.name));
			// Names from a file are shown, never trusted: control characters are made visible.
			return names.length > 0 ? `tables: ${names.map(escapeText).join(', ')}` : '(empty)';
		} finally {
			db.close();
		}
	} catch {
		return '(not readable)';
	}
}

/** A store opened on a URL, with the database under it. */
export interface OpenedStore {
	store: FluePersistStore;
	database: OpenedDatabase;
	target: Target;
	inspection: Inspection;
	/** For messages: the URL (password hidden), the table and the layout. */
	describe: string;
	close(): Promise<void>;
}

/** How `openStore` opens a URL. */
export interface OpenStoreOptions {
	cwd: string;
	intent: Intent;
	/** `--layout`, overriding the URL's `?layout=`. */
	layout?: Layout;
	/** `--table`, overriding the URL's `?table=`. */
	table?: string;
	/** The layout of a destination that holds no sessions yet. Default `log`. */
	fallbackLayout?: Layout;
}

function flue2Refusal(display: string): ConfigError {
	return new ConfigError(
		`${display} is a Flue 2 database (it has ${FLUE2_TABLES.meta}): it holds agent instances, not flue-persist sessions, so sessions are neither read from it nor written into it. Flue 2 instances move between Flue 2 databases with copy, and with import of a Flue 2 export. Nothing was changed.`,
	);
}

/**
 * Opens a store on a URL. A command that only reads (`read`) gets a store that never writes: the
 * SQLite file is opened read-only, Postgres sessions are read-only, and nothing the store would
 * create on first use (meta, chunk or guard tables) is created. Stores opened to be written to
 * (`write`) use `last-writer-wins`: the copy or import has already decided, session by session,
 * to replace what is there.
 */
export async function openStore(urlText: string | StoreUrl, options: OpenStoreOptions): Promise<OpenedStore> {
	const url = typeof urlText === 'string' ? parseStoreUrl(urlText, options.cwd) : urlText;
	// A Flue 2 SQLite file is recognised from its schema pages, before SQLite opens it (src/flue2).
	if (url.kind === 'sqlite' && existsSync(url.path!) && !existsSync(`${url.path!}-wal`) && sqliteFileTables(url.path!)?.has(FLUE2_TABLES.meta))
		throw flue2Refusal(url.display);
	const wanted = { layout: options.layout ?? url.layout, table: options.table ?? url.table };
	const reading = options.intent === 'read';
	const database = await openDatabase(url, options.intent, { readonly: reading });
	try {
		const inspection = await inspectDatabase(database.raw);
		// A Flue 2 database (src/flue2) is no session store: the commands handle it before they get here (runIfFlue2).
		if (inspection.tables.has(FLUE2_TABLES.meta)) throw flue2Refusal(url.display);
		const target = chooseTarget(inspection, wanted, options.intent, url.display, options.fallbackLayout);
		const handle = database.handle;
		// A command that only reads opens the store in its own read-only mode: the same read path as
		// load, and nothing is created or written (the first call only checks the format stamp).
		const readOnly = reading;
		const concurrency = options.intent === 'write' ? 'last-writer-wins' : 'optimistic';
		const store: FluePersistStore =
			handle.kind === 'postgres'
				? postgresStore(handle.pool, { layout: target.layout, table: target.table, schema: handle.schema ?? undefined, concurrency, cacheBytes: 0, readOnly })
				: sqliteStore(handle.db, { layout: target.layout, table: target.table, concurrency, chunkBytes: database.chunkBytes, cacheBytes: 0, readOnly });
		// The tools write each session once: the store's cache of entry texts (for the next save) would only hold memory.
		// The first call checks the format stamp (and, for a store that writes, creates what the layout lacks).
		await store.list({ limit: 1 });
		return {
			store,
			database,
			target,
			inspection,
			describe: `${url.display} (table ${target.table}, ${target.layout} layout)`,
			close: async () => {
				await store.close().catch(() => undefined);
				await database.close();
			},
		};
	} catch (error) {
		await database.close().catch(() => undefined);
		throw error;
	}
}
