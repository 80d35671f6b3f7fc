/**
 * Direct SQL on the database behind a store, for the tools that must see rows the store would
 * refuse to read (doctor) or must know what is there before a store touches it (layout detection).
 * One interface over the two SQL families: SQLite files (better-sqlite3) and Postgres (pg).
 */
import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';

/** One result row, by column name. */
export type Row = Record<string, unknown>;

/** A connection the tools run their own SQL on. Statements use `?` placeholders in both dialects. */
export interface RawSql {
	readonly dialect: 'sqlite' | 'postgres';
	/** The table name, quoted and (Postgres) schema-qualified, ready for SQL text. */
	name(table: string): string;
	/** An expression that reads a text or jsonb column as text. */
	text(column: string): string;
	/** `column` compared in byte order, so that paging by id agrees with the stores' own order. */
	ordered(column: string): string;
	query(sql: string, params?: unknown[]): Promise<Row[]>;
	/** Runs a statement that changes rows; returns how many it changed. */
	run(sql: string, params?: unknown[]): Promise<number>;
	/** Runs `fn` in one transaction; a failure rolls back everything it did. */
	transaction<T>(fn: (sql: RawSql) => Promise<T>): Promise<T>;
	/** Every table of the database (SQLite) or of the schema (Postgres), with its column names. */
	tables(): Promise<Map<string, Set<string>>>;
}

function group(rows: Row[]): Map<string, Set<string>> {
	const out = new Map<string, Set<string>>();
	for (const r of rows) {
		const table = String(r.t);
		let columns = out.get(table);
		if (!columns) out.set(table, (columns = new Set()));
		if (r.c != null) columns.add(String(r.c));
	}
	return out;
}

/** RawSql over a better-sqlite3 database. */
export class SqliteRawSql implements RawSql {
	readonly dialect = 'sqlite' as const;
	private inTransaction = false;

	constructor(readonly db: BetterSqlite3.Database) {}

	name(table: string): string {
		return `"${table}"`;
	}

	text(column: string): string {
		return column;
	}

	ordered(column: string): string {
		return column;
	}

	async query(sql: string, params: unknown[] = []): Promise<Row[]> {
		const stmt = this.db.prepare(sql);
		if (stmt.reader) return stmt.all(...params) as Row[];
		stmt.run(...params);
		return [];
	}

	async run(sql: string, params: unknown[] = []): Promise<number> {
		return this.db.prepare(sql).run(...params).changes;
	}

	async transaction<T>(fn: (sql: RawSql) => Promise<T>): Promise<T> {
		if (this.inTransaction) return fn(this);
		// better-sqlite3 transactions must be synchronous; the callbacks here only await the
		// synchronous query() above, so BEGIN/COMMIT by hand keep every statement inside.
		this.db.prepare('BEGIN IMMEDIATE').run();
		this.inTransaction = true;
		try {
			const result = await fn(this);
			this.db.prepare('COMMIT').run();
			return result;
		} catch (error) {
			if (this.db.inTransaction) this.db.prepare('ROLLBACK').run();
			throw error;
		} finally {
			this.inTransaction = false;
		}
	}

	async tables(): Promise<Map<string, Set<string>>> {
		return group(this.db.prepare("SELECT m.name AS t, p.name AS c FROM sqlite_master m LEFT JOIN pragma_table_info(m.name) p WHERE m.type = 'table'").all() as Row[]);
	}
}

/** Turns `?` placeholders into `$1, $2, …` (the tools' SQL has no `?` inside literals). */
function numbered(sql: string): string {
	let n = 0;
	return sql.replace(/\?/g, () => `$${++n}`);
}

/** RawSql over a pg Pool, in one schema (or the connection's search_path when `schema` is null). */
export class PostgresRawSql implements RawSql {
	readonly dialect = 'postgres' as const;

	constructor(
		private readonly client: pg.Pool | pg.PoolClient,
		readonly schema: string | null,
	) {}

	name(table: string): string {
		return this.schema ? `"${this.schema}"."${table}"` : `"${table}"`;
	}

	text(column: string): string {
		return `${column}::text`;
	}

	ordered(column: string): string {
		return `${column} COLLATE "C"`;
	}

	async query(sql: string, params: unknown[] = []): Promise<Row[]> {
		const result = await this.client.query(numbered(sql), params);
		return result.rows as Row[];
	}

	async run(sql: string, params: unknown[] = []): Promise<number> {
		const result = await this.client.query(numbered(sql), params);
		return result.rowCount ?? 0;
	}

	async transaction<T>(fn: (sql: RawSql) => Promise<T>): Promise<T> {
		// Already on a checked-out connection inside a transaction: nest into it.
		if ('release' in this.client) return fn(this);
		const connection = await (this.client as pg.Pool).connect();
		try {
			await connection.query('BEGIN');
			const result = await fn(new PostgresRawSql(connection, this.schema));
			await connection.query('COMMIT');
			return result;
		} catch (error) {
			await connection.query('ROLLBACK').catch(() => undefined);
			throw error;
		} finally {
			connection.release();
		}
	}

	async tables(): Promise<Map<string, Set<string>>> {
		return group(
			await this.query(
				"SELECT t.table_name AS t, c.column_name AS c FROM information_schema.tables t LEFT JOIN information_schema.columns c ON c.table_schema = t.table_schema AND c.table_name = t.table_name WHERE t.table_schema = coalesce(?::text, current_schema()) AND t.table_type = 'BASE TABLE'",
				[this.schema],
			),
		);
	}
}
