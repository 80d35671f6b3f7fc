/**
 * Store URLs: how the session tools name a database, and how they open a store on it.
 *
 * | URL | database |
 * | --- | --- |
 * | `sqlite:<path>` | a SQLite file (better-sqlite3) |
 * | `postgres://…`, `postgresql://…` | Postgres (pg); `?schema=` picks the schema |
 * | `d1:<path>` | a local D1 database persisted by miniflare or wrangler (a SQLite file) |
 * | `do:<path>` | one local Durable Object's SQLite storage persisted by miniflare or wrangler |
 *
 * Every URL takes `?layout=log|blob` and `?table=<name>`; when absent they are read from the
 * database (the `layout:<table>:<layout>` keys of `flue_persist_meta`, or which tables exist).
 * Local D1 and Durable Object files are opened with better-sqlite3 through `sqliteStore`, the
 * same SQL core `d1Store` and `durableObjectStore` run inside workerd, with values split at the
 * Cloudflare row limit so that what the tools write stays readable by the Worker.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import { CLOUDFLARE_LIMITS } from '../sql/cloudflare.js';
import { postgresStore } from '../backends/postgres/index.js';
import { sqliteStore } from '../backends/sqlite/index.js';
import { checkIdentifier } from '../core/chunks.js';
import { ConfigError } from '../errors.js';
import type { FluePersistStore, Layout } from '../types.js';
import { resolveD1, resolveDurableObject } from './local-state.js';
import { PostgresRawSql, SqliteRawSql, type RawSql } from './raw-sql.js';

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

/** Replaces the password of a URL with `***`. */
export function redactUrl(text: string): string {
	return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:)[^@/?#]*@/i, '$1***@');
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
			throw new ConfigError(`${display} is not a valid Postgres URL. Write it as postgres://user:password@host:5432/database.`);
		}
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
		throw new ConfigError(`${JSON.stringify(display)} is not a store URL. Use one of: ${URL_FORMS}.`);
	}
	const rest = text.slice(scheme.length + 1);
	const q = rest.indexOf('?');
	let rawPath = q === -1 ? rest : rest.slice(0, q);
	const params = new URLSearchParams(q === -1 ? '' : rest.slice(q + 1));
	for (const key of params.keys()) {
		if (!KNOWN_PARAMS[scheme].includes(key)) {
			throw new ConfigError(`${display}: unknown parameter ${JSON.stringify(key)}. A ${scheme}: URL takes ${KNOWN_PARAMS[scheme].map((k) => `?${k}=`).join(', ')}.`);
		}
	}
	// sqlite:///abs/file.db is the file-URL spelling of sqlite:/abs/file.db.
	if (rawPath.startsWith('//')) rawPath = rawPath.slice(2);
	if (rawPath === '') throw new ConfigError(`${display} names no file. Write ${scheme}:<path>, for example ${scheme === 'sqlite' ? 'sqlite:./data/sessions.db' : `${scheme}:.wrangler/state/v3/${scheme}`}.`);
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

/** What the database holds before any store touches it. */
export interface Inspection {
	tables: Set<string>;
	/** The `format_version` stamp, or null when there is none. */
	stamp: string | null;
	/** Session tables by base table name, with the layouts they are stored in. */
	sessionTables: Map<string, Set<Layout>>;
	/** Tables a flue-persist store has opened (named by `layout:` keys), as opposed to found by shape. */
	keyed: Set<string>;
}

const META = 'flue_persist_meta';
/** Flue's own table name, and the stores' default. */
const DEFAULT_TABLE = 'flue_sessions';

/** Reads which session tables a database holds, from the meta table and from the tables themselves. */
export async function inspectDatabase(raw: RawSql): Promise<Inspection> {
	const columns = await raw.tables();
	const tables = new Set(columns.keys());
	let stamp: string | null = null;
	const sessionTables = new Map<string, Set<Layout>>();
	const keyed = new Set<string>();
	const add = (table: string, layout: Layout) => {
		let set = sessionTables.get(table);
		if (!set) sessionTables.set(table, (set = new Set()));
		set.add(layout);
	};
	if (tables.has(META)) {
		const rows = await raw.query(`SELECT key, value FROM ${raw.name(META)} WHERE key = 'format_version' OR key LIKE 'layout:%'`);
		for (const row of rows) {
			const key = String(row.key);
			if (key === 'format_version') {
				stamp = String(row.value);
				continue;
			}
			const [, table, layout] = key.split(':');
			if (!table || (layout !== 'log' && layout !== 'blob')) continue;
			// A key can outlive its tables (dropped by hand); only tables that exist count.
			if (layout === 'log' ? tables.has(`${table}_log`) && tables.has(`${table}_entries`) : tables.has(table)) {
				add(table, layout);
				keyed.add(table);
			}
		}
	}
	for (const [name, cols] of columns) {
		if (name.endsWith('_log') && tables.has(`${name.slice(0, -4)}_entries`)) {
			add(name.slice(0, -4), 'log');
			continue;
		}
		if (name === META || name.endsWith('_chunks') || name.endsWith('_guard') || name.endsWith('_entries') || name.startsWith('_cf_') || name.startsWith('sqlite_')) continue;
		// Flue's own table, or one this package made: (id, data, updated_at).
		if (cols.has('id') && cols.has('data') && cols.has('updated_at')) add(name, 'blob');
	}
	// Where flue-persist has been, a table of the same shape that it never opened is an
	// application's table, not a session table; only Flue's own name is taken on its shape.
	if (keyed.size > 0) for (const table of [...sessionTables.keys()]) if (!keyed.has(table) && table !== DEFAULT_TABLE) sessionTables.delete(table);
	return { tables, stamp, sessionTables, keyed };
}

/** The table and layout a command works on. */
export interface Target {
	table: string;
	layout: Layout;
	/** Whether the session tables of this layout exist yet. */
	exists: boolean;
}

function describeTables(inspection: Inspection): string {
	if (inspection.sessionTables.size === 0) return 'no session tables';
	return [...inspection.sessionTables].map(([table, layouts]) => `table ${table} (${[...layouts].sort().join(' and ')} layout)`).join(', ');
}

/** Picks the table and layout from the options and what the database holds, or says what to pass. */
export function chooseTarget(
	inspection: Inspection,
	wanted: { layout?: Layout; table?: string },
	intent: Intent,
	where: string,
	fallbackLayout: Layout = 'log',
): Target {
	// A write never picks a table by its shape alone: it could be an application's own table.
	const candidates = [...inspection.sessionTables.keys()].filter((t) => intent !== 'write' || inspection.keyed.has(t) || t === DEFAULT_TABLE).sort();
	let table = wanted.table;
	if (table === undefined) {
		if (candidates.length === 1) table = candidates[0]!;
		else if (candidates.length === 0) table = DEFAULT_TABLE;
		else {
			throw new ConfigError(`${where} holds several session tables: ${describeTables(inspection)}. Pick one with --table (or ?table= in the URL).`);
		}
	}
	const present = inspection.sessionTables.get(table) ?? new Set<Layout>();
	let layout = wanted.layout;
	if (layout === undefined) {
		if (present.size === 1) layout = [...present][0]!;
		else if (present.size === 2) {
			throw new ConfigError(
				`${where} holds table ${table} in both layouts (blob and log), as after a migration between them. Pick one with --layout log or --layout blob (or ?layout=); \`flue-persist doctor\` checks that the two agree.`,
			);
		} else if (intent === 'write') layout = fallbackLayout;
		else throw new ConfigError(`${where} holds no flue-persist sessions${wanted.table ? ` in table ${table}` : ''} (found ${describeTables(inspection)}). Check the URL, or pick the table with --table.`);
	}
	const exists = present.has(layout);
	if (!exists && intent !== 'write') {
		throw new ConfigError(`${where} has no sessions in table ${table} with the ${layout} layout (found ${describeTables(inspection)}). Check --layout and --table.`);
	}
	return { table, layout, exists };
}

/** A database opened for the tools: raw SQL on it, and how to close it. */
export interface OpenedDatabase {
	url: StoreUrl;
	raw: RawSql;
	/** Values longer than this are stored in parts (the Cloudflare row limit for d1: and do:). */
	chunkBytes: number | undefined;
	/** SQLite family: the better-sqlite3 database. Postgres: the pool. */
	handle: { kind: 'sqlite'; db: BetterSqlite3.Database; file: string; readonly: boolean } | { kind: 'postgres'; pool: pg.Pool; schema: string | null };
	close(): Promise<void>;
}

async function loadDriver<T>(name: string, install: string, display: string): Promise<T> {
	try {
		// A variable specifier: the drivers are optional peer dependencies, loaded only when a URL needs one.
		const specifier = name;
		const module = (await import(specifier)) as { default?: T };
		return (module.default ?? module) as T;
	} catch (cause) {
		throw new ConfigError(`${display} needs the driver ${name}, which is not installed. Run \`${install}\` in this project and try again.`, { cause });
	}
}

/** Opens the database a URL names, without touching its tables. */
export async function openDatabase(url: StoreUrl, intent: Intent, options: { readonly?: boolean } = {}): Promise<OpenedDatabase> {
	if (url.kind === 'postgres') {
		const pgModule = await loadDriver<typeof pg>('pg', 'npm install pg@8', url.display);
		const pool = new pgModule.Pool({ connectionString: url.connectionString, max: 8 });
		// An idle client that loses its server must not crash the process; the next query reports it.
		pool.on('error', () => undefined);
		const raw = new PostgresRawSql(pool, url.schema ?? null);
		try {
			await raw.query('SELECT 1');
		} catch (cause) {
			await pool.end().catch(() => undefined);
			throw new ConfigError(`cannot connect to ${url.display}: ${(cause as Error).message}. Check the URL and that the server is running.`, { cause });
		}
		return { url, raw, chunkBytes: undefined, handle: { kind: 'postgres', pool, schema: url.schema ?? null }, close: () => pool.end() };
	}
	const Driver = await loadDriver<typeof BetterSqlite3>('better-sqlite3', 'npm install better-sqlite3@12', url.display);
	const mayCreate = intent === 'write';
	const show = (path: string) => {
		const rel = relative(url.cwd, path);
		return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
	};
	const how = { mayCreate, show, describe: (file: string) => describeSqliteFile(Driver, file) };
	let file: string;
	if (url.kind === 'd1') file = resolveD1(url.path!, { database: url.database }, how).file;
	else if (url.kind === 'do') file = resolveDurableObject(url.path!, { class: url.objectClass, name: url.objectName, id: url.objectId }, how).file;
	else file = url.path!;
	const exists = existsSync(file);
	if (!exists && !mayCreate) throw new ConfigError(`${url.display}: there is no file ${show(file)}. Check the path.`);
	if (!exists) mkdirSync(dirname(file), { recursive: true });
	const readonly = options.readonly === true && exists;
	let db: BetterSqlite3.Database;
	try {
		db = new Driver(file, { readonly, fileMustExist: !mayCreate, timeout: 5000 });
		// Fails here, not at the first query, when the file is not a SQLite database.
		db.prepare('SELECT count(*) FROM sqlite_master').get();
	} catch (cause) {
		throw new ConfigError(`${url.display}: cannot open ${show(file)} as a SQLite database: ${(cause as Error).message}.`, { cause });
	}
	if (!exists) db.pragma('journal_mode = WAL');
	// A copy or import writes thousands of one-session transactions. In WAL mode NORMAL skips the
	// sync per commit and a crash still leaves only whole transactions; closing the database
	// checkpoints the WAL with a sync, so what a finished command wrote is durable. A database in
	// rollback-journal mode keeps FULL, where NORMAL could damage it on power loss.
	if (!readonly) db.pragma(db.pragma('journal_mode', { simple: true }) === 'wal' ? 'synchronous = NORMAL' : 'synchronous = FULL');
	const chunkBytes = url.kind === 'sqlite' ? undefined : CLOUDFLARE_LIMITS.maxValueBytes;
	return { url, raw: new SqliteRawSql(db), chunkBytes, handle: { kind: 'sqlite', db, file, readonly }, close: async () => void db.close() };
}

/** A one-line description of a SQLite file's session tables, for listings of candidate files. */
function describeSqliteFile(Driver: typeof BetterSqlite3, file: string): string {
	try {
		const db = new Driver(file, { readonly: true, fileMustExist: true });
		try {
			const names = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
			return names.length > 0 ? `tables: ${names.join(', ')}` : '(empty)';
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

function isReadonlyFailure(error: unknown): boolean {
	for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
		const code = (e as { code?: unknown }).code;
		if (typeof code === 'string' && code.startsWith('SQLITE_READONLY')) return true;
	}
	return false;
}

/**
 * Opens a store on a URL. Stores opened to be written to (`write`) use `last-writer-wins`: a
 * tool that copies a session over an older copy means to replace it.
 */
export async function openStore(urlText: string | StoreUrl, options: OpenStoreOptions): Promise<OpenedStore> {
	const url = typeof urlText === 'string' ? parseStoreUrl(urlText, options.cwd) : urlText;
	const wanted = { layout: options.layout ?? url.layout, table: options.table ?? url.table };
	const open = async (readonly: boolean): Promise<OpenedStore> => {
		const database = await openDatabase(url, options.intent, { readonly });
		try {
			const inspection = await inspectDatabase(database.raw);
			const target = chooseTarget(inspection, wanted, options.intent, url.display, options.fallbackLayout);
			const concurrency = options.intent === 'write' ? 'last-writer-wins' : 'optimistic';
			const store =
				database.handle.kind === 'postgres'
					? postgresStore(database.handle.pool, { layout: target.layout, table: target.table, schema: database.handle.schema ?? undefined, concurrency })
					: sqliteStore(database.handle.db, { layout: target.layout, table: target.table, concurrency, chunkBytes: database.chunkBytes });
			// The first call checks the format stamp and creates what the layout lacks.
			await store.list({ limit: 1 });
			const describe = `${url.display} (table ${target.table}, ${target.layout} layout)`;
			return {
				store,
				database,
				target,
				inspection,
				describe,
				close: async () => {
					await store.close().catch(() => undefined);
					await database.close();
				},
			};
		} catch (error) {
			await database.close().catch(() => undefined);
			throw error;
		}
	};
	if (url.kind === 'postgres' || options.intent !== 'read') return open(false);
	try {
		return await open(true);
	} catch (error) {
		// A database written by Flue itself lacks the store's bookkeeping tables, which a read-only
		// file cannot receive: open it for writing, as the store would be.
		if (isReadonlyFailure(error)) return open(false);
		throw error;
	}
}
