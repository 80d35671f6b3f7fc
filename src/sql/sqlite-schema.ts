/**
 * The storage schema of the SQLite family (SQLite, D1, Durable Object SQLite): the one module that
 * knows the table and column names, the DDL and its migrations with the format stamp, the chunk
 * marker and how parts are put back together. The store (sqlite-core.ts) and the tooling (inspect,
 * doctor, the studio) take every name from here; identifiers are quoted by src/sql/identifiers.ts.
 */
import { DEFAULT_TABLE, FORMAT_VERSION, layoutKey, META_TABLE } from '../core/format.js';
import type { Layout } from '../types.js';
import { quoteSqlite } from './identifiers.js';

/** The marker a blob row holds when its session is stored in chunks. */
export const CHUNK_MARKER = '{"flue-persist:chunked":';
/** The key inside the chunk marker, as JSON text reads it. */
const CHUNK_KEY = 'flue-persist:chunked';
/** The message the revision trigger aborts a stale write with. */
export const STALE_REVISION_MESSAGE = 'FLUE_PERSIST_STALE_REVISION';
export { DEFAULT_TABLE, layoutKey, META_TABLE };

/** Table names a store uses, for tools (doctor, migrate) that read them directly. */
export function sqliteTableNames(table: string) {
	const log = `${table}_log`;
	const head = (layout: Layout) => (layout === 'blob' ? table : log);
	return {
		blob: table,
		blobChunks: `${table}_chunks`,
		log,
		entries: `${table}_entries`,
		meta: META_TABLE,
		/** The table holding one row per session in a layout. */
		head,
		/** The revision guard of a layout's head table, and its trigger. */
		guard: (layout: Layout) => `${head(layout)}_guard`,
		trigger: (layout: Layout) => `${head(layout)}_guard_check`,
	};
}

/** The tables a session's rows live in: its header row's, and its entries' (the same table in the blob layout). */
export function sessionTablesOf(table: string, layout: Layout): { header: string; entries: string } {
	const names = sqliteTableNames(table);
	return layout === 'log' ? { header: names.log, entries: names.entries } : { header: names.blob, entries: names.blob };
}

/** Which table a name would be the head of: `<table>_log` is the log layout's, any other name the blob layout's. */
export function headTableOf(name: string): { table: string; layout: Layout } {
	return name.endsWith('_log') ? { table: name.slice(0, -'_log'.length), layout: 'log' } : { table: name, layout: 'blob' };
}

/** Whether a name ends like one of the store's own side tables (entries, chunks, guard) or a log head. */
export function hasStoreSuffix(name: string): boolean {
	return /_(log|entries|chunks|guard)$/.test(name);
}

/** Whether a name is a blob table's chunks table by its suffix. */
export function isChunksTableName(name: string): boolean {
	return name.endsWith('_chunks');
}

/** Reads a `layout:<table>:<layout>` key, or null when the key is not one. */
export function parseLayoutKey(key: string): { table: string; layout: Layout } | null {
	const match = /^layout:(.*):(log|blob)$/s.exec(key);
	return match ? { table: match[1]!, layout: match[2] as Layout } : null;
}

/** One column of a table the store owns: name, declared type, NOT NULL. */
type ColumnSpec = readonly [name: string, type: 'TEXT' | 'INTEGER', notNull: boolean];

/** A table the store owns, as it creates it and as it expects to find it. */
export interface SqliteTableSpec {
	name: string;
	columns: readonly ColumnSpec[];
	primaryKey: readonly string[];
}

/**
 * Every table a store of this layout owns: the one description from which the store creates its
 * tables and against which it checks tables it finds, so the two cannot drift apart.
 */
export function sqliteTables(table: string, layout: Layout): SqliteTableSpec[] {
	const names = sqliteTableNames(table);
	const session: SqliteTableSpec[] =
		layout === 'blob'
			? [
					{
						name: names.blob,
						columns: [
							['id', 'TEXT', false],
							['data', 'TEXT', true],
							['updated_at', 'INTEGER', true],
						],
						primaryKey: ['id'],
					},
					{
						name: names.blobChunks,
						columns: [
							['id', 'TEXT', true],
							['seq', 'INTEGER', true],
							['data', 'TEXT', true],
						],
						primaryKey: ['id', 'seq'],
					},
				]
			: [
					{
						name: names.log,
						columns: [
							['id', 'TEXT', false],
							['header', 'TEXT', true],
							['updated_at', 'INTEGER', true],
							['entry_count', 'INTEGER', true],
							['bytes', 'INTEGER', true],
						],
						primaryKey: ['id'],
					},
					{
						name: names.entries,
						columns: [
							['session_id', 'TEXT', true],
							['entry_id', 'TEXT', true],
							['part', 'INTEGER', true],
							['parts', 'INTEGER', true],
							['pos', 'INTEGER', true],
							['parent_id', 'TEXT', false],
							['data', 'TEXT', true],
						],
						primaryKey: ['session_id', 'entry_id', 'part'],
					},
				];
	return [
		{
			name: META_TABLE,
			columns: [
				['key', 'TEXT', false],
				['value', 'TEXT', true],
			],
			primaryKey: ['key'],
		},
		...session,
		{
			name: names.guard(layout),
			columns: [
				['session_id', 'TEXT', true],
				['expected', 'INTEGER', false],
			],
			primaryKey: [],
		},
	];
}

/** The exact column names of each table a store creates, by role (the same in every dialect), read off `sqliteTables`. */
export const SESSION_COLUMNS = (() => {
	const [meta, blob, chunks, guard] = sqliteTables(DEFAULT_TABLE, 'blob');
	const [, log, entries] = sqliteTables(DEFAULT_TABLE, 'log');
	const names = (spec: SqliteTableSpec | undefined) => spec!.columns.map(([name]) => name);
	return { meta: names(meta), blob: names(blob), chunks: names(chunks), log: names(log), entries: names(entries), guard: names(guard) };
})();

function createTableSql(spec: SqliteTableSpec): string {
	const single = spec.primaryKey.length === 1 ? spec.primaryKey[0] : undefined;
	const columns = spec.columns.map(([name, type, notNull]) => `${name} ${type}${name === single ? ' PRIMARY KEY' : notNull ? ' NOT NULL' : ''}`);
	if (spec.primaryKey.length > 1) columns.push(`PRIMARY KEY (${spec.primaryKey.join(', ')})`);
	return `CREATE TABLE IF NOT EXISTS ${quoteSqlite(spec.name)} (${columns.join(', ')})`;
}

/** SQLite's type affinity of a declared column type (section 3.1 of its datatype documentation). */
function affinity(declared: string): string {
	const t = declared.toUpperCase();
	if (t.includes('INT')) return 'INTEGER';
	if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'TEXT';
	if (t === '' || t.includes('BLOB')) return 'BLOB';
	if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'REAL';
	return 'NUMERIC';
}

/** A found column, as `pragma_table_info` describes it. */
export interface FoundColumn {
	name: string;
	type: string;
	/** Position in the primary key, from 1; 0 when not part of it. */
	pk: number;
}

/**
 * Why a table found under one of the store's names is not the table the store would have made
 * (other columns, other types by affinity, another primary key), or null when it is.
 */
export function sqliteShapeProblem(spec: SqliteTableSpec, found: readonly FoundColumn[]): string | null {
	const describe = (cols: Array<{ name: string; type: string; pk: boolean }>) =>
		cols.map((c) => `${c.name} ${c.type || '(no type)'}${c.pk ? ' key' : ''}`).join(', ');
	const want = spec.columns.map(([name, type]) => ({ name, type, pk: spec.primaryKey.includes(name) }));
	const got = found.map((c) => ({ name: c.name, type: c.type, pk: c.pk > 0 }));
	const byName = new Map(found.map((c) => [c.name, c]));
	const key = found
		.filter((c) => c.pk > 0)
		.sort((a, b) => a.pk - b.pk)
		.map((c) => c.name);
	const same =
		found.length === spec.columns.length &&
		spec.columns.every(([name, type]) => byName.has(name) && affinity(byName.get(name)!.type) === type) &&
		key.join() === spec.primaryKey.join();
	return same ? null : `table ${spec.name} has columns (${describe(got)}), where flue-persist needs (${describe(want)})`;
}

/**
 * The schema of a layout, in order: every table, then the revision trigger that aborts a write whose
 * expected revision is not the stored one (D1 has no interactive transactions, so the check lives
 * in the database).
 */
function sqliteSchemaStatements(table: string, layout: Layout): string[] {
	const names = sqliteTableNames(table);
	const q = quoteSqlite;
	const guard = names.guard(layout);
	const statements = sqliteTables(table, layout).map(createTableSql);
	statements.push(
		`CREATE TRIGGER IF NOT EXISTS ${q(names.trigger(layout))} BEFORE INSERT ON ${q(guard)} BEGIN ` +
			`SELECT RAISE(ABORT, '${STALE_REVISION_MESSAGE}') WHERE NEW.expected IS NOT (SELECT updated_at FROM ${q(names.head(layout))} WHERE id = NEW.session_id); ` +
			`SELECT RAISE(IGNORE); END`,
	);
	return statements;
}

/**
 * The migrations, in order, each with the format version it brings the database to. Format 1 is
 * the first: creating what is missing is all there is. A later format appends its step here.
 */
const SQLITE_MIGRATIONS: ReadonlyArray<{ version: number; statements(table: string, layout: Layout): string[] }> = [
	{ version: 1, statements: sqliteSchemaStatements },
];

/** The statements that create what a layout lacks and stamp the format: every migration, then the stamp and the layout key. */
export function sqliteMigrate(table: string, layout: Layout): Array<{ sql: string; params: unknown[] }> {
	const meta = quoteSqlite(META_TABLE);
	return [
		...SQLITE_MIGRATIONS.flatMap((m) => m.statements(table, layout)).map((sql) => ({ sql, params: [] })),
		{ sql: `INSERT OR IGNORE INTO ${meta} (key, value) VALUES ('format_version', ?)`, params: [String(FORMAT_VERSION)] },
		{ sql: `INSERT OR REPLACE INTO ${meta} (key, value) VALUES (?, ?)`, params: [layoutKey(table, layout), 'present'] },
	];
}

/** The marker a blob row (with the stored size) or a log header holds when its text is stored in parts. */
export function chunkMarker(chunks: number, bytes?: number): string {
	return `${CHUNK_MARKER}${JSON.stringify(bytes === undefined ? { chunks } : { chunks, bytes })}}`;
}

/** Reads the part count from a chunk marker, or null when the marker is damaged. */
export function markerChunks(text: string): number | null {
	try {
		const parsed = JSON.parse(text) as Record<string, { chunks?: unknown }>;
		const n = parsed[CHUNK_KEY]?.chunks;
		return typeof n === 'number' && Number.isInteger(n) && n >= 1 ? n : null;
	} catch {
		return null;
	}
}

/** SQL for a blob row's stored size: the size the marker records for a chunked session, else the text's. */
export const BLOB_BYTES_SQL = `CASE WHEN substr(data, 1, ${CHUNK_MARKER.length}) = '${CHUNK_MARKER}' THEN json_extract(data, '$."${CHUNK_KEY}".bytes') ELSE length(CAST(data AS BLOB)) END`;

/**
 * Puts the parts of one text back together from rows `(part, data)` that declare `declared` parts:
 * the text, or which parts are missing and which rows lie beyond the declared count.
 */
export function joinParts(declared: number, parts: ReadonlyArray<Record<string, unknown>>): { text: string | null; missing: number[]; extra: number[] } {
	const byPart = new Map<number, string>();
	const extra: number[] = [];
	for (const p of parts) {
		const n = Number(p.part);
		if (Number.isInteger(n) && n >= 0 && n < declared && !byPart.has(n)) byPart.set(n, String(p.data));
		else extra.push(n);
	}
	const missing: number[] = [];
	for (let k = 0; k < declared; k++) if (!byPart.has(k)) missing.push(k);
	if (missing.length > 0) return { text: null, missing, extra };
	let text = '';
	for (let k = 0; k < declared; k++) text += byPart.get(k)!;
	return { text, missing, extra };
}
