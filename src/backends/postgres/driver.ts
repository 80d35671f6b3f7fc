/**
 * The three clients a Postgres store accepts, typed by the few calls it makes, behind one small
 * interface. No driver is imported: the caller's client is all the store ever touches.
 */
import { ConfigError } from '../../errors.js';

export type PgRow = Record<string, unknown>;

/** The subset of a `pg` (node-postgres 8) query result this store reads. */
export interface PgQueryResult {
	rows: PgRow[];
}

/** The subset of a client checked out of a `pg` Pool. */
export interface PgPoolClient {
	query(text: string, values?: unknown[]): Promise<PgQueryResult>;
	release(destroy?: boolean | Error): void;
	on(event: 'error', listener: (error: Error) => void): unknown;
	removeListener(event: 'error', listener: (error: Error) => void): unknown;
}

/** The subset of a `pg` Pool this store uses (pg 8). */
export interface PgPool {
	query(text: string, values?: unknown[]): Promise<PgQueryResult>;
	connect(): Promise<PgPoolClient>;
	readonly totalCount: number;
}

/** The subset of a connected `pg` Client this store uses (pg 8); `connect` only tells it apart. */
export interface PgClient {
	query(text: string, values?: unknown[]): Promise<PgQueryResult>;
	connect(): Promise<unknown>;
}

/** What a postgres.js query resolves to: an array of rows. */
export type PostgresJsRows = readonly PgRow[];

/** The subset of a postgres.js connection or transaction that runs a query. */
export interface PostgresJsQueryable {
	unsafe(query: string, parameters?: any[], options?: { prepare?: boolean }): PromiseLike<PostgresJsRows>;
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
	query(text: string, params: readonly unknown[]): Promise<PgRow[]>;
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
	throw new ConfigError(`postgresStore needs a pg Pool, a connected pg Client or a postgres.js sql instance (got ${describeValue(client)}).${hint}`, { backend: BACKEND });
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

	async query(text: string, params: readonly unknown[]): Promise<PgRow[]> {
		return (await this.pool.query(text, params as unknown[])).rows;
	}

	/** Runs `fn` on one checked-out client; a client whose query failed is destroyed, never handed back. */
	private async withClient<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
		const client = await this.pool.connect();
		// A checked-out client has no error listener; one dropped while idle would crash the process.
		client.on('error', ignore);
		let broken: Error | undefined;
		const q: Queryable = {
			query: async (text, params) => {
				try {
					return (await client.query(text, params as unknown[])).rows;
				} catch (error) {
					// It may hold an aborted transaction or a lock, or its socket may be gone.
					broken ??= error instanceof Error ? error : new Error(String(error));
					throw error;
				}
			},
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

	private raw: Queryable = { query: async (text, params) => (await this.client.query(text, params as unknown[])).rows };

	query(text: string, params: readonly unknown[]): Promise<PgRow[]> {
		return this.mutex.run(() => this.raw.query(text, params));
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
		return fn({ query: (text, params) => this.query(text, params) });
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
		return { query: async (text, params) => [...(await q.unsafe(text, params as unknown[], { prepare: true }))] };
	}

	query(text: string, params: readonly unknown[]): Promise<PgRow[]> {
		return PostgresJsDriver.wrap(this.sql).query(text, params);
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
			throw new ConfigError('withSessionLock needs sql.reserve(), which postgres.js has from version 3.4. Upgrade postgres.js, or pass a pg Pool.', { backend: BACKEND });
		}
		const reserved = await this.sql.reserve();
		try {
			return await fn(PostgresJsDriver.wrap(reserved));
		} finally {
			reserved.release();
		}
	}
}
