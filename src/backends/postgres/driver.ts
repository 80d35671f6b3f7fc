/**
 * The three clients a Postgres store accepts, typed by the few calls it makes, behind one small
 * interface. No driver is imported: the caller's client is all the store ever touches.
 */
import { ConfigError } from '../../errors.js';
import type { SqlClient } from '../../sql/client.js';

export type PgRow = Record<string, unknown>;

/** A `pg` query config: with a `name`, the connection prepares the statement once and reuses it. */
export interface PgQueryConfig {
	name: string;
	text: string;
	values: unknown[];
}

/** A `pg` query config that runs one statement with the extended protocol, even without parameters. */
export interface PgExtendedQueryConfig {
	text: string;
	values: unknown[];
	queryMode: 'extended';
}

/** The subset of a `pg` (node-postgres 8) query result this store reads. */
export interface PgQueryResult {
	rows: PgRow[];
	/** Rows the statement changed (null for a statement that changes none). */
	rowCount?: number | null;
}

/** The subset of a client checked out of a `pg` Pool. */
export interface PgPoolClient {
	query(text: string | PgExtendedQueryConfig, values?: unknown[]): Promise<PgQueryResult>;
	release(destroy?: boolean | Error): void;
	on(event: 'error', listener: (error: Error) => void): unknown;
	removeListener(event: 'error', listener: (error: Error) => void): unknown;
}

/** The subset of a `pg` Pool this store uses (pg 8). */
export interface PgPool {
	query(text: string | PgQueryConfig | PgExtendedQueryConfig, values?: unknown[]): Promise<PgQueryResult>;
	connect(): Promise<PgPoolClient>;
	readonly totalCount: number;
}

/** The subset of a connected `pg` Client this store uses (pg 8); `connect` only tells it apart. */
export interface PgClient {
	query(text: string | PgQueryConfig | PgExtendedQueryConfig, values?: unknown[]): Promise<PgQueryResult>;
	connect(): Promise<unknown>;
}

/** What a postgres.js query resolves to: an array of rows, and how many rows it changed. */
export type PostgresJsRows = readonly PgRow[] & { readonly count?: number | null };

/** The subset of a postgres.js connection or transaction that runs a query. */
export interface PostgresJsQueryable {
	unsafe(query: string, parameters?: unknown[], options?: { prepare?: boolean; simple?: boolean }): PromiseLike<PostgresJsRows>;
}

/** A postgres.js connection reserved with `sql.reserve()` (postgres.js 3.4 and later). */
export interface PostgresJsReserved extends PostgresJsQueryable {
	release(): void;
}

/** The subset of a postgres.js (`postgres` 3) `sql` instance this store uses. */
export interface PostgresJsSql extends PostgresJsQueryable {
	begin(options: string, fn: (sql: PostgresJsQueryable) => Promise<unknown>): Promise<unknown>;
	reserve?(): Promise<PostgresJsReserved>;
}

/**
 * Any client `postgresStore` accepts. Each is typed by the calls the store makes, so any
 * client with the same calls fits, and no driver is imported.
 *
 * @example
 * const client: PostgresClient = new pg.Pool({ connectionString: process.env.DATABASE_URL })
 */
export type PostgresClient = PgPool | PgClient | PostgresJsSql;

/** One statement at a time, on whichever connection the driver picks. */
export interface Queryable {
	/** `prepared`: a statement run on every save or load, worth preparing once per connection. */
	query(text: string, params: readonly unknown[], prepared?: boolean): Promise<PgRow[]>;
	/**
	 * Runs exactly one statement, unprepared, with the extended protocol even without parameters, so
	 * that no text inside it (whatever a name read from the catalog holds) can add a second one.
	 * Returns its rows and how many rows it changed.
	 */
	execute(text: string, params: readonly unknown[]): Promise<Executed>;
}

/** What `Queryable.execute` returns. */
export interface Executed {
	rows: PgRow[];
	changes: number;
}

/** The pg query config of `Queryable.execute`. */
function extended(text: string, params: readonly unknown[]): PgExtendedQueryConfig {
	return { text, values: params as unknown[], queryMode: 'extended' };
}

function executed(result: PgQueryResult): Executed {
	return { rows: result.rows, changes: result.rowCount ?? 0 };
}

/**
 * Names of prepared statements, one per statement text, shared by every store in the process: a
 * pg connection refuses one name for two texts, and stores over one pool share its connections.
 */
const statementNames = new Map<string, string>();
/** Texts differ per table, schema and save shape only; past this many, statements run unnamed. */
const MAX_NAMED = 2000;

/**
 * Runs a query named when it may be; a server that refuses named statements (a pooler in
 * transaction mode: "prepared statement … does not exist" or "already exists") did not run it, so it
 * runs again unnamed, and the driver stops naming statements.
 */
async function runNamed(state: { unnamed: boolean }, run: (named: boolean) => Promise<PgQueryResult>, prepared: boolean | undefined): Promise<PgRow[]> {
	if (!prepared || state.unnamed) return (await run(false)).rows;
	try {
		return (await run(true)).rows;
	} catch (error) {
		const code = (error as { code?: unknown } | null)?.code;
		if (code !== '26000' && code !== '42P05') throw error;
		state.unnamed = true;
		return (await run(false)).rows;
	}
}

/** The pg query for a statement: named (prepared once per connection) when asked and within the budget. */
function pgQuery(text: string, params: readonly unknown[], prepared: boolean | undefined): [string | PgQueryConfig, unknown[] | undefined] {
	if (!prepared) return [text, params as unknown[]];
	let name = statementNames.get(text);
	if (name === undefined) {
		if (statementNames.size >= MAX_NAMED) return [text, params as unknown[]];
		name = `flue_persist_${statementNames.size + 1}`;
		statementNames.set(text, name);
	}
	return [{ name, text, values: params as unknown[] }, undefined];
}

export interface Driver extends Queryable {
	/** How the client was recognised, for messages. */
	readonly kind: 'pg Pool' | 'pg Client' | 'postgres.js';
	/** True when every call shares one connection (a single pg Client). */
	readonly shared: boolean;
	/** The pool size the client was created with, when it says. */
	readonly maxConnections: number | undefined;
	/** Runs `fn` inside one READ COMMITTED transaction on one connection; rolls back when it throws. */
	transaction<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
	/** Holds one connection for the whole of `fn` (for session-level state such as advisory locks). */
	session<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
}

const BEGIN = 'BEGIN ISOLATION LEVEL READ COMMITTED';
const BACKEND = 'postgres';

/** Runs tasks strictly one after another. */
class Mutex {
	private tail: Promise<unknown> = Promise.resolve();

	run<T>(task: () => Promise<T>): Promise<T> {
		const next = this.tail.then(task, task);
		this.tail = next.catch(() => undefined);
		return next;
	}
}

function isFunction(value: unknown): value is (...args: never[]) => unknown {
	return typeof value === 'function';
}

function describeValue(value: unknown): string {
	if (value === null) return 'null';
	if (value === undefined) return 'undefined';
	// Never echo the string: a connection string carries a password, and messages end up in logs.
	if (typeof value === 'string') return /^postgres(ql)?:\/\//i.test(value) ? 'a connection string' : 'a string';
	if (typeof value === 'function') return `a function${value.name ? ` named ${value.name}` : ''} without unsafe() and begin()`;
	if (typeof value === 'object') {
		const name = (value as object).constructor?.name;
		const keys = Object.keys(value).slice(0, 5);
		return `${name && name !== 'Object' ? `a ${name}` : 'an object'}${keys.length ? ` with keys ${keys.join(', ')}` : ''}`;
	}
	return `${typeof value} ${String(value)}`;
}

/** Recognises the caller's client; anything else is a CONFIG error that says what it got. */
export function detectDriver(client: unknown): Driver {
	if (isFunction(client) && isFunction((client as unknown as PostgresJsSql).unsafe) && isFunction((client as unknown as PostgresJsSql).begin)) {
		return new PostgresJsDriver(client as unknown as PostgresJsSql);
	}
	if (typeof client === 'object' && client !== null) {
		const c = client as Partial<PgPool>;
		if (isFunction(c.query) && isFunction(c.connect)) {
			return typeof c.totalCount === 'number' ? new PgPoolDriver(client as PgPool) : new PgClientDriver(client as PgClient);
		}
	}
	const hint =
		typeof client === 'string'
			? ' Create the client yourself, for example `new pg.Pool({ connectionString: process.env.DATABASE_URL })` or `postgres(process.env.DATABASE_URL)`, and pass that.'
			: ' Pass a pg Pool or Client, or the sql function postgres.js returns.';
	throw new ConfigError(`postgresStore needs a pg Pool, a connected pg Client or a postgres.js sql instance (got ${describeValue(client)}).${hint}`, {
		backend: BACKEND,
	});
}

const ignore = () => undefined;

/** Reads `options.max`, which pg Pools and postgres.js both expose without declaring it in the subset typed here. */
function poolSize(client: unknown): number | undefined {
	const max = (client as { options?: { max?: unknown } }).options?.max;
	return typeof max === 'number' ? max : undefined;
}

class PgPoolDriver implements Driver {
	readonly kind = 'pg Pool';
	readonly shared = false;
	readonly maxConnections: number | undefined;

	constructor(private readonly pool: PgPool) {
		this.maxConnections = poolSize(pool);
	}

	/** Set when the server side refused a named statement (a transaction pooler): from then on, none is named. */
	private readonly naming = { unnamed: false };

	async query(text: string, params: readonly unknown[], prepared?: boolean): Promise<PgRow[]> {
		return runNamed(this.naming, (named) => this.pool.query(...pgQuery(text, params, prepared && named)), prepared);
	}

	async execute(text: string, params: readonly unknown[]): Promise<Executed> {
		return executed(await this.pool.query(extended(text, params)));
	}

	/** Runs `fn` on one checked-out client; a client whose query failed is destroyed, never handed back. */
	private async withClient<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
		const client = await this.pool.connect();
		// A checked-out client has no error listener; one dropped while idle would crash the process.
		client.on('error', ignore);
		let broken: Error | undefined;
		const send = async (query: string | PgExtendedQueryConfig, params?: unknown[]) => {
			try {
				return await client.query(query, params);
			} catch (error) {
				// It may hold an aborted transaction or a lock, or its socket may be gone.
				broken ??= error instanceof Error ? error : new Error(String(error));
				throw error;
			}
		};
		const q: Queryable = {
			query: async (text, params) => (await send(text, params as unknown[])).rows,
			execute: async (text, params) => executed(await send(extended(text, params))),
		};
		try {
			return await fn(q);
		} finally {
			client.removeListener('error', ignore);
			client.release(broken);
		}
	}

	transaction<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
		return this.withClient(async (q) => {
			await q.query(BEGIN, []);
			let result: T;
			try {
				result = await fn(q);
			} catch (error) {
				await q.query('ROLLBACK', []).catch(ignore);
				throw error;
			}
			await q.query('COMMIT', []);
			return result;
		});
	}

	session<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
		return this.withClient(fn);
	}
}

/** One connection shared by every call: a transaction must not let other statements in. */
class PgClientDriver implements Driver {
	readonly kind = 'pg Client';
	readonly shared = true;
	readonly maxConnections = 1;
	private readonly mutex = new Mutex();

	constructor(private readonly client: PgClient) {}

	private readonly naming = { unnamed: false };
	private raw: Queryable = {
		query: (text, params, prepared) => runNamed(this.naming, (named) => this.client.query(...pgQuery(text, params, prepared && named)), prepared),
		execute: async (text, params) => executed(await this.client.query(extended(text, params))),
	};

	query(text: string, params: readonly unknown[], prepared?: boolean): Promise<PgRow[]> {
		return this.mutex.run(() => this.raw.query(text, params, prepared));
	}

	execute(text: string, params: readonly unknown[]): Promise<Executed> {
		return this.mutex.run(() => this.raw.execute(text, params));
	}

	transaction<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
		return this.mutex.run(async () => {
			await this.raw.query(BEGIN, []);
			let result: T;
			try {
				result = await fn(this.raw);
			} catch (error) {
				await this.raw.query('ROLLBACK', []).catch(ignore);
				throw error;
			}
			await this.raw.query('COMMIT', []);
			return result;
		});
	}

	/** The session is the shared connection; statements still take turns through the mutex. */
	session<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
		return fn({ query: (text, params) => this.query(text, params), execute: (text, params) => this.execute(text, params) });
	}
}

class PostgresJsDriver implements Driver {
	readonly kind = 'postgres.js';
	readonly shared = false;
	readonly maxConnections: number | undefined;

	constructor(private readonly sql: PostgresJsSql) {
		this.maxConnections = poolSize(sql);
	}

	/** Named prepared statements: postgres.js otherwise describes every parameterised query first, an extra round trip. */
	private static wrap(q: PostgresJsQueryable): Queryable {
		return {
			query: async (text, params) => [...(await q.unsafe(text, params as unknown[], { prepare: true }))],
			// `simple: false`: postgres.js runs a text without parameters with the simple protocol otherwise.
			execute: async (text, params) => {
				const result = await q.unsafe(text, params as unknown[], { prepare: false, simple: false });
				return { rows: [...result], changes: result.count ?? 0 };
			},
		};
	}

	query(text: string, params: readonly unknown[]): Promise<PgRow[]> {
		return PostgresJsDriver.wrap(this.sql).query(text, params);
	}

	execute(text: string, params: readonly unknown[]): Promise<Executed> {
		return PostgresJsDriver.wrap(this.sql).execute(text, params);
	}

	async transaction<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
		let result: T;
		await this.sql.begin('isolation level read committed', async (tx) => {
			result = await fn(PostgresJsDriver.wrap(tx));
		});
		return result!;
	}

	async session<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
		if (!isFunction(this.sql.reserve)) {
			throw new ConfigError('withSessionLock needs sql.reserve(), which postgres.js has from version 3.4. Upgrade postgres.js, or pass a pg Pool.', {
				backend: BACKEND,
			});
		}
		const reserved = await this.sql.reserve();
		try {
			return await fn(PostgresJsDriver.wrap(reserved));
		} finally {
			reserved.release();
		}
	}
}

/** Turns `?` placeholders into `$1, $2, …` (the tools' SQL has no `?` inside literals). */
function numberedPlaceholders(sql: string): string {
	let n = 0;
	return sql.replace(/\?/g, () => `$${++n}`);
}

/**
 * The one SQL interface (`SqlClient`) over a Postgres driver, in one schema (or the connection's
 * search_path when `schema` is null): the tools' Postgres client runs on the same driver, and the
 * same connections, as the store. Statements use `?` placeholders, numbered here, and each call
 * runs exactly one statement (`Queryable.execute`). A transaction is the driver's: one connection,
 * READ COMMITTED, rolled back when `fn` throws; inside it, `transaction` runs `fn` in the same one.
 *
 * @example
 * const sql = postgresClient(detectDriver(pool), null)
 * const rows = await sql.query('SELECT id FROM flue_sessions WHERE id = ?', ['a'])
 */
export function postgresClient(driver: Driver, schema: string | null): SqlClient {
	const over = (q: Queryable, transaction: SqlClient['transaction']): SqlClient => ({
		dialect: 'postgres',
		schema,
		query: async (text, params = []) => (await q.execute(numberedPlaceholders(text), params)).rows,
		run: async (text, params = []) => (await q.execute(numberedPlaceholders(text), params)).changes,
		transaction,
	});
	return over(driver, (fn) =>
		driver.transaction((q) => {
			const tx: SqlClient = over(q, (inner) => inner(tx));
			return fn(tx);
		}),
	);
}
