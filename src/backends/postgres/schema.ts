/**
 * The storage schema of the Postgres store: the one module that knows its table and column names,
 * their DDL and the shape a table found under those names must have. The adapter (adapter.ts) and
 * the tooling take every name from here; identifiers are quoted by src/sql/identifiers.ts.
 */
import { DEFAULT_TABLE, META_TABLE } from '../../core/format.js';
import type { Layout } from '../../types.js';

export { DEFAULT_TABLE, META_TABLE };

/**
 * Table names a store uses, unquoted, for tools and tests that read them directly.
 *
 * @example
 * postgresTableNames('flue_sessions').entries // 'flue_sessions_entries'
 */
export function postgresTableNames(table: string) {
	return {
		blob: table,
		log: `${table}_log`,
		entries: `${table}_entries`,
		meta: META_TABLE,
		mirror: `${table}_to_log`,
		/** The table holding one row per session in a layout. */
		head: (layout: Layout) => (layout === 'blob' ? table : `${table}_log`),
	};
}

/** A table the store owns: its name, its quoted name, each column's type as `format_type` reports it and its DDL. */
export interface PostgresTableSpec {
	name: string;
	sql: string;
	columns: Array<[name: string, type: string, ddl: string]>;
	suffix: string;
}

/**
 * The tables the store owns besides the blob table, column by column. The DDL is made from this
 * list and a table found under one of these names is compared against it, so the two cannot drift
 * apart. `sql` holds the quoted, schema-qualified names.
 */
export function postgresOwnedTables(
	names: ReturnType<typeof postgresTableNames>,
	sql: { meta: string; log: string; entries: string },
	layout: Layout,
): PostgresTableSpec[] {
	const meta: PostgresTableSpec = {
		name: META_TABLE,
		sql: sql.meta,
		columns: [
			['key', 'text', 'TEXT PRIMARY KEY'],
			['value', 'text', 'TEXT NOT NULL'],
		],
		suffix: '',
	};
	if (layout === 'blob') return [meta];
	return [
		meta,
		{
			name: names.log,
			sql: sql.log,
			columns: [
				['id', 'text', 'TEXT COLLATE "C" PRIMARY KEY'],
				['header', 'text', 'TEXT NOT NULL'],
				['updated_at', 'bigint', 'BIGINT NOT NULL'],
				['entry_count', 'integer', 'INTEGER NOT NULL'],
				['bytes', 'bigint', 'BIGINT NOT NULL'],
			],
			suffix: '',
		},
		{
			name: names.entries,
			sql: sql.entries,
			columns: [
				['session_id', 'text', `TEXT COLLATE "C" NOT NULL REFERENCES ${sql.log} (id) ON DELETE CASCADE`],
				['entry_id', 'text', 'TEXT COLLATE "C" NOT NULL'],
				['part', 'integer', 'INTEGER NOT NULL'],
				['parts', 'integer', 'INTEGER NOT NULL'],
				['pos', 'bigint', 'BIGINT NOT NULL'],
				['parent_id', 'text', 'TEXT'],
				['data', 'text', 'TEXT NOT NULL'],
			],
			suffix: ', PRIMARY KEY (session_id, entry_id, part)',
		},
	];
}

/** The session tables of a layout, as `CREATE TABLE IF NOT EXISTS` statements (the meta table is created first, apart). */
export function postgresSchemaStatements(
	names: ReturnType<typeof postgresTableNames>,
	sql: { blob: string; meta: string; log: string; entries: string },
	layout: Layout,
): string[] {
	if (layout === 'blob') {
		// The table of the Postgres recipe Flue users copy, unchanged, so its rows load as they are.
		return [`CREATE TABLE IF NOT EXISTS ${sql.blob} (id TEXT PRIMARY KEY, data JSONB NOT NULL, updated_at BIGINT NOT NULL)`];
	}
	// Byte order (COLLATE "C") makes id comparisons cheap and lets list() page through the primary key.
	// The foreign key removes a session's entries in the same statement that removes its header, and
	// (an RI action reads the latest committed rows) also those a concurrent save had just added.
	return postgresOwnedTables(names, sql, layout)
		.filter((t) => t.name !== META_TABLE)
		.map(createTableSql);
}

/** The `CREATE TABLE IF NOT EXISTS` statement of a table the store owns. */
export function createTableSql(table: PostgresTableSpec): string {
	return `CREATE TABLE IF NOT EXISTS ${table.sql} (${table.columns.map(([name, , ddl]) => `${name} ${ddl}`).join(', ')}${table.suffix})`;
}
