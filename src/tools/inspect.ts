/**
 * What a database holds, read before any store touches it, and which of its tables the tools may
 * act on. A table is a session table only when it is positively identified:
 *
 * - a flue-persist table: a `layout:<table>:<layout>` key in `flue_persist_meta` names it, and
 *   its tables have exactly the columns the store creates;
 * - Flue's own table: `flue_sessions` with exactly the columns `(id, data, updated_at)`.
 *
 * Anything else that merely looks like one (an application's `events (id, data, updated_at)`) is
 * reported as found and never used. Names that cannot be put in SQL text are skipped.
 */
import { parseFormatStamp } from '../core/format.js';
import { isSqlIdentifier } from '../sql/identifiers.js';
import {
	SESSION_COLUMNS as COLUMNS,
	DEFAULT_TABLE,
	hasStoreSuffix,
	headTableOf,
	isChunksTableName,
	META_TABLE,
	parseLayoutKey,
	sqliteTableNames,
} from '../sql/sqlite-schema.js';
import type { Layout } from '../types.js';
import type { RawSql } from './raw-sql.js';

// The names and columns are the schema module's: the Postgres store uses the same ones, less the
// SQLite family's chunk and guard tables, which are optional here.
export { DEFAULT_TABLE, META_TABLE };

/** A table that looked like a session table but was not identified as one, and why. */
export interface Unidentified {
	table: string;
	reason: string;
}

/** What the database holds before any store touches it. */
export interface Inspection {
	/** Every table of the database (SQLite) or of the schema (Postgres), by name as stored. */
	tables: Set<string>;
	/** The `format_version` stamp, or null when there is none. */
	stamp: string | null;
	/** Positively identified session tables by base table name, with the layouts they are stored in. */
	sessionTables: Map<string, Set<Layout>>;
	/** Identified tables that a flue-persist store has opened (named by `layout:` keys). */
	keyed: Set<string>;
	/** Tables shaped like session tables that are not identified as such: never used. */
	unidentified: Unidentified[];
	/** Names (from the catalog or the meta table) that are not plain identifiers: skipped, never put in SQL. */
	unsafeNames: string[];
	/**
	 * Tables kept in both layouts whose blob table was sealed after `migrate({ from: 'blob', seal: true })`:
	 * the log layout is the live one, and the blob table a frozen backup that no longer accepts writes.
	 */
	sealed: Set<string>;
}

function sameColumns(found: Set<string> | undefined, wanted: readonly string[]): boolean {
	return found !== undefined && found.size === wanted.length && wanted.every((c) => found.has(c));
}

function describeColumns(found: Set<string>): string {
	return `(${[...found].join(', ')})`;
}

/** Reads which session tables a database holds, from the meta table and from the tables themselves. */
export async function inspectDatabase(raw: RawSql): Promise<Inspection> {
	const columns = await raw.tables();
	const tables = new Set(columns.keys());
	const inspection: Inspection = { tables, stamp: null, sessionTables: new Map(), keyed: new Set(), unidentified: [], unsafeNames: [], sealed: new Set() };
	const unsafe = new Set<string>();
	for (const name of tables) if (!isSqlIdentifier(name) && looksLikeSessionTable(name, columns.get(name)!)) unsafe.add(name);

	const keys: Array<{ table: string; layout: Layout }> = [];
	if (tables.has(META_TABLE)) {
		if (!sameColumns(columns.get(META_TABLE), COLUMNS.meta)) {
			inspection.unidentified.push({ table: META_TABLE, reason: `has columns ${describeColumns(columns.get(META_TABLE)!)}, not flue-persist's (key, value)` });
		} else {
			const rows = await raw.query(`SELECT key, value FROM ${raw.name(META_TABLE)} WHERE key = ? OR key LIKE ?`, ['format_version', 'layout:%']);
			for (const row of rows) {
				const key = String(row.key);
				if (key === 'format_version') {
					inspection.stamp = String(row.value);
					continue;
				}
				const named = parseLayoutKey(key);
				if (!named) continue;
				if (!isSqlIdentifier(named.table)) unsafe.add(named.table);
				else keys.push(named);
			}
		}
	}
	const stamped = inspection.stamp !== null && parseFormatStamp(inspection.stamp) !== null;

	const add = (table: string, layout: Layout) => {
		let set = inspection.sessionTables.get(table);
		if (!set) {
			set = new Set();
			inspection.sessionTables.set(table, set);
		}
		set.add(layout);
	};
	/** Why the tables of `table` in `layout` are not exactly what a store creates, or null when they are. */
	const shapeProblem = (table: string, layout: Layout): string | null => {
		const n = sqliteTableNames(table);
		const parts: Array<[string, readonly string[], boolean]> =
			layout === 'blob'
				? [
						[n.blob, COLUMNS.blob, true],
						[n.blobChunks, COLUMNS.chunks, false],
						[n.guard('blob'), COLUMNS.guard, false],
					]
				: [
						[n.log, COLUMNS.log, true],
						[n.entries, COLUMNS.entries, true],
						[n.guard('log'), COLUMNS.guard, false],
					];
		for (const [name, wanted, required] of parts) {
			const found = columns.get(name);
			if (!found) {
				if (required) return `has no table ${name}`;
				continue;
			}
			if (!sameColumns(found, wanted)) return `table ${name} has columns ${describeColumns(found)}, not (${wanted.join(', ')})`;
		}
		return null;
	};

	const seen = new Set<string>();
	for (const { table, layout } of keys) {
		const n = sqliteTableNames(table);
		const present = layout === 'blob' ? tables.has(n.blob) : tables.has(n.log) || tables.has(n.entries);
		// A key can outlive its tables (dropped by hand); only tables that exist count.
		if (!present) continue;
		seen.add(`${table}:${layout}`);
		const problem = shapeProblem(table, layout);
		if (problem) {
			inspection.unidentified.push({ table: n.head(layout), reason: `is named by flue_persist_meta but ${problem}` });
			continue;
		}
		add(table, layout);
		inspection.keyed.add(table);
	}
	// Flue's own table (and the stores' default) is known by its name and exact shape.
	for (const layout of ['blob', 'log'] as const) {
		if (seen.has(`${DEFAULT_TABLE}:${layout}`)) continue;
		const head = sqliteTableNames(DEFAULT_TABLE).head(layout);
		if (!tables.has(head)) continue;
		// The log layout is flue-persist's alone: without the stamp it is not known to be ours.
		const problem = layout === 'log' && !stamped ? 'carries no flue-persist format stamp' : shapeProblem(DEFAULT_TABLE, layout);
		seen.add(`${DEFAULT_TABLE}:${layout}`);
		if (problem) inspection.unidentified.push({ table: head, reason: problem });
		else add(DEFAULT_TABLE, layout);
	}
	// Everything else that looks like a session table is reported, never used.
	for (const [name, cols] of columns) {
		if (!isSqlIdentifier(name)) continue;
		const { table: base, layout } = headTableOf(name);
		if (seen.has(`${base}:${layout}`)) continue;
		if (layout === 'log' ? sameColumns(cols, COLUMNS.log) : cols.has('id') && cols.has('data') && cols.has('updated_at') && !isChunksTableName(name)) {
			inspection.unidentified.push({
				table: name,
				reason: `has columns ${describeColumns(cols)} but no key in flue_persist_meta names it, so it is not known to be a session table`,
			});
		}
	}
	inspection.unsafeNames = [...unsafe].sort();
	if (raw.dialect === 'postgres') {
		for (const [table, layouts] of inspection.sessionTables) {
			if (layouts.size !== 2) continue;
			// The seal is a trigger on the blob table whose function raises the store's "sealed" error.
			const [row] = await raw.query(
				"SELECT EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid WHERE t.tgrelid = to_regclass(?) AND NOT t.tgisinternal AND p.prosrc LIKE '%FP410%') AS sealed",
				[raw.name(table)],
			);
			if (row?.sealed === true) inspection.sealed.add(table);
		}
	}
	return inspection;
}

function looksLikeSessionTable(name: string, cols: Set<string>): boolean {
	return hasStoreSuffix(name) || (cols.has('id') && cols.has('data') && cols.has('updated_at'));
}

/** What was found, for a refusal: the identified tables, then what looked like one and why it is not used. */
export function describeFound(inspection: Inspection): string {
	const parts: string[] = [];
	for (const [table, layouts] of inspection.sessionTables) parts.push(`table ${table} (${[...layouts].sort().join(' and ')} layout)`);
	for (const u of inspection.unidentified) parts.push(`table ${u.table}, which ${u.reason}`);
	for (const name of inspection.unsafeNames) parts.push(`a table named ${JSON.stringify(name)}, skipped because the name is not a plain identifier`);
	return parts.length > 0 ? parts.join('; ') : 'no session tables';
}
