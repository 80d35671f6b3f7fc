/**
 * The one interface that runs SQL on a client: `SqlClient`. The tools (doctor, inspect, the Flue 2
 * commands) run their statements through it, and each driver is adapted to it once, next to the
 * driver's own code: `postgresClient` over the Postgres store's `Driver`
 * (src/backends/postgres/driver.ts), `sqliteClient` over the SQLite store's `SqliteConnection`
 * (src/backends/sqlite/driver.ts), and the MySQL client of the Flue 2 commands over mysql2.
 *
 * The stores keep one more shape, built for them alone: the SQLite family's `SqliteExecutor.batch`
 * (src/sql/sqlite-core.ts), a list of statements run all or nothing. D1 has no interactive
 * transaction, so a batch is the only atomic unit it offers, and the store's writes are written as
 * batches for it; on a Node SQLite connection and in a Durable Object the batch runs synchronously
 * inside one transaction on the same connection a `SqlClient` uses, so no other statement can come
 * between its statements. The Postgres store runs its statements through the `Driver` that
 * `postgresClient` is built on.
 */

/** One result row, by column name. */
export type SqlRow = Record<string, unknown>;

/** The SQL a client speaks. */
export type SqlDialect = 'sqlite' | 'postgres' | 'mysql';

/**
 * Runs SQL on one database. Statements use `?` placeholders in every dialect (the Postgres client
 * numbers them), and each call runs exactly one statement.
 *
 * @example
 * const rows = await sql.query('SELECT id FROM flue_sessions WHERE id = ?', ['a'])
 */
export interface SqlClient {
	readonly dialect: SqlDialect;
	/** Postgres: the schema the tables are in (null: the connection's current schema). */
	readonly schema?: string | null;
	/** Runs one statement and returns its rows (none for a statement that returns no rows). */
	query(sql: string, params?: unknown[]): Promise<SqlRow[]>;
	/** Runs a statement that changes rows; returns how many it changed. */
	run(sql: string, params?: unknown[]): Promise<number>;
	/**
	 * Runs `fn` in one transaction on one connection: committed when it resolves, rolled back when it
	 * throws. Called on the client a transaction hands to `fn`, it runs `fn` inside that transaction.
	 */
	transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
}

/** The tables of the database (or of the client's schema on Postgres) with their columns, from the dialect's catalog. */
export async function catalogTables(sql: SqlClient): Promise<Map<string, Set<string>>> {
	let rows: SqlRow[];
	if (sql.dialect === 'sqlite')
		rows = await sql.query("SELECT m.name AS t, p.name AS c FROM sqlite_master m LEFT JOIN pragma_table_info(m.name) p WHERE m.type = 'table'");
	else if (sql.dialect === 'mysql')
		rows = await sql.query('SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()');
	else {
		rows = await sql.query(
			"SELECT t.table_name AS t, c.column_name AS c FROM information_schema.tables t LEFT JOIN information_schema.columns c ON c.table_schema = t.table_schema AND c.table_name = t.table_name WHERE t.table_schema = coalesce(?::text, current_schema()) AND t.table_type = 'BASE TABLE'",
			[sql.schema ?? null],
		);
	}
	const out = new Map<string, Set<string>>();
	for (const r of rows) {
		const table = String(r.t ?? r.T);
		let columns = out.get(table);
		if (!columns) {
			columns = new Set();
			out.set(table, columns);
		}
		const column = r.c ?? r.C;
		if (column !== null && column !== undefined) columns.add(String(column));
	}
	return out;
}
