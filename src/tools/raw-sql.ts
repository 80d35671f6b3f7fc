/**
 * Direct SQL on the database behind a store, for the tools that must see rows the store would
 * refuse to read (doctor) or must know what is there before a store touches it (layout detection).
 * A `RawSql` is the one SQL interface, `SqlClient` (src/sql/client.ts), with the naming helpers
 * the tools write their SQL with; `rawSql` builds it over any client.
 */
import { catalogTables, type SqlClient, type SqlRow } from '../sql/client.js';
import { quotePostgres, quoteSqlite } from '../sql/identifiers.js';

/** One result row, by column name. */
export type Row = SqlRow;

/** A connection the tools run their own SQL on. Statements use `?` placeholders in both dialects. */
export interface RawSql extends SqlClient {
	readonly dialect: 'sqlite' | 'postgres';
	/**
	 * The table name, quoted and (Postgres) schema-qualified, ready for SQL text. Throws for a name
	 * that is not a plain identifier: names from the catalog are checked with `isSqlIdentifier` first.
	 */
	name(table: string): string;
	/** An expression that reads a text or jsonb column as text. */
	text(column: string): string;
	/** `column` compared in byte order, so that paging by id agrees with the stores' own order. */
	ordered(column: string): string;
	/** Runs `fn` in one transaction; a failure rolls back everything it did. */
	transaction<T>(fn: (sql: RawSql) => Promise<T>): Promise<T>;
	/** Every table of the database (SQLite) or of the schema (Postgres), with its column names. */
	tables(): Promise<Map<string, Set<string>>>;
}

/** The tools' `RawSql` over a SQLite or Postgres client. */
export function rawSql(client: SqlClient): RawSql {
	const dialect = client.dialect;
	if (dialect === 'mysql') throw new TypeError('the session tools read SQLite and Postgres databases only');
	const postgres = dialect === 'postgres';
	const schema = client.schema ?? null;
	return {
		dialect,
		schema,
		name: (table) => (postgres ? quotePostgres(table, schema) : quoteSqlite(table)),
		text: (column) => (postgres ? `${column}::text` : column),
		ordered: (column) => (postgres ? `${column} COLLATE "C"` : column),
		query: (sql, params) => client.query(sql, params),
		run: (sql, params) => client.run(sql, params),
		transaction: (fn) => client.transaction((tx) => fn(rawSql(tx))),
		tables: () => catalogTables(client),
	};
}
