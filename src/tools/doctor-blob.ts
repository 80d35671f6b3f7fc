/**
 * Doctor for the blob layout: one row per session in `<table>`, and, for a session larger than
 * one value (SQLite family), a chunk marker in that row plus its parts in `<table>_chunks`.
 */
import { CHUNK_MARKER, markerChunks, sqliteTableNames } from '../sql/sqlite-schema.js';
import { checkSessionData, countRows, LEFT_REMEDY, parseStoredJson } from './doctor-session.js';
import type { CheckedSession, Report } from './doctor-types.js';
import type { RawSql, Row } from './raw-sql.js';

/** Sessions read per query: small enough that a page of large sessions fits in memory. */
const PAGE = 50;

/** How a table scan reports sessions and learns that it should stop. */
export interface ScanOptions {
	/** Called once per session checked. */
	onSession(session: CheckedSession): void;
	/** Stop between pages when this says so (Ctrl-C). */
	stopped(): boolean;
}

/**
 * Reads a session table page by page in id order (`pageSql` takes the last id and the page size),
 * with each page's rows of a side table (chunks, entries) grouped by `side.key`, and hands every
 * session's row and side rows to `each`. Stops between pages when asked. Returns the sessions read.
 */
export async function scanSessions(
	raw: RawSql,
	options: Pick<ScanOptions, 'stopped'>,
	pageSql: string,
	side: { sql: (marks: string) => string; key: string } | null,
	each: (row: Row, side: Row[]) => void,
): Promise<number> {
	let cursor = '';
	let count = 0;
	for (;;) {
		if (options.stopped()) break;
		const rows = await raw.query(pageSql, [cursor, PAGE]);
		if (rows.length === 0) break;
		const ids = rows.map((r) => String(r.id));
		const bySession = new Map<string, Row[]>();
		if (side) {
			for (const r of await raw.query(side.sql(ids.map(() => '?').join(', ')), ids)) {
				const key = String(r[side.key]);
				const list = bySession.get(key) ?? [];
				list.push(r);
				bySession.set(key, list);
			}
		}
		for (const row of rows) {
			count++;
			each(row, bySession.get(String(row.id)) ?? []);
		}
		cursor = ids[ids.length - 1]!;
	}
	return count;
}

/**
 * Reports the rows of a side table (chunks, entries) whose session has no row in its head table:
 * they can never be loaded. The repair deletes them only while the head row is still absent.
 */
export async function reportOrphans(
	raw: RawSql,
	report: Report,
	o: { kind: 'chunks-orphan' | 'entries-orphan'; side: string; key: string; head: string; rows: string; headRow: string; remedy: string },
): Promise<void> {
	const S = raw.name(o.side);
	const H = raw.name(o.head);
	const orphans = await raw.query(
		`SELECT s.${o.key} AS id, count(*) AS n FROM ${S} s WHERE NOT EXISTS (SELECT 1 FROM ${H} h WHERE h.id = s.${o.key}) GROUP BY s.${o.key} ORDER BY s.${o.key}`,
	);
	for (const row of orphans) {
		const id = String(row.id);
		const n = Number(row.n);
		report({
			kind: o.kind,
			sessionId: id,
			table: o.side,
			detail: `${countRows(n, o.rows)} ${n === 1 ? 'belongs' : 'belong'} to no session (there is no ${o.headRow} for this id in ${o.head})`,
			remedy: o.remedy,
			fixable: true,
			repair: async (sql) => (await sql.run(`DELETE FROM ${S} WHERE ${o.key} = ? AND NOT EXISTS (SELECT 1 FROM ${H} WHERE id = ?)`, [id, id])) > 0,
		});
	}
}

/** Checks every row of a blob table (and its chunk table when there is one). Returns the number of sessions. */
export async function checkBlobTable(raw: RawSql, table: string, tables: Set<string>, report: Report, options: ScanOptions): Promise<number> {
	const chunksTable = sqliteTableNames(table).blobChunks;
	const hasChunks = tables.has(chunksTable);
	const T = raw.name(table);
	const C = raw.name(chunksTable);
	const count = await scanSessions(
		raw,
		options,
		`SELECT id, ${raw.text('data')} AS data, updated_at FROM ${T} WHERE ${raw.ordered('id')} > ? ORDER BY ${raw.ordered('id')} LIMIT ?`,
		hasChunks ? { sql: (marks) => `SELECT id, seq, data FROM ${C} WHERE id IN (${marks}) ORDER BY id, seq`, key: 'id' } : null,
		(row, chunks) => {
			const id = String(row.id);
			const rev = row.updated_at;
			options.onSession({ id, checksum: checkBlobRow(raw, table, id, String(row.data), rev, chunks, report), updatedAt: Number(rev) });
		},
	);
	if (hasChunks && !options.stopped()) {
		await reportOrphans(raw, report, {
			kind: 'chunks-orphan',
			side: chunksTable,
			key: 'id',
			head: table,
			rows: 'chunk row',
			headRow: 'row',
			remedy: 'delete the chunk rows',
		});
	}
	return count;
}

/** Checks one blob row with its chunk rows; returns the session's checksum, or null when it cannot be read. */
function checkBlobRow(raw: RawSql, table: string, id: string, data: string, rev: unknown, chunks: Row[], report: Report): string | null {
	const chunksTable = sqliteTableNames(table).blobChunks;
	const T = raw.name(table);
	const C = raw.name(chunksTable);
	let full = data;
	if (data.startsWith(CHUNK_MARKER)) {
		const declared = markerChunks(data);
		if (declared === null) {
			report({
				kind: 'chunk-marker-damaged',
				sessionId: id,
				table,
				detail: 'the row is a chunk marker that does not parse, so the number of chunks is unknown',
				remedy: LEFT_REMEDY,
				fixable: false,
			});
			return null;
		}
		const bySeq = new Map<number, string>();
		const extra: number[] = [];
		for (const c of chunks) {
			const seq = Number(c.seq);
			if (Number.isInteger(seq) && seq >= 0 && seq < declared) bySeq.set(seq, String(c.data));
			else extra.push(seq);
		}
		if (extra.length > 0) {
			report({
				kind: 'chunks-extra',
				sessionId: id,
				table: chunksTable,
				detail: `${countRows(extra.length, 'chunk row')} (seq ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', …' : ''}) beyond the ${declared} the marker declares`,
				remedy: 'delete the chunk rows beyond the declared count',
				fixable: true,
				repair: async (sql) =>
					(await sql.run(`DELETE FROM ${C} WHERE id = ? AND (seq < 0 OR seq >= ?) AND EXISTS (SELECT 1 FROM ${T} WHERE id = ? AND updated_at = ?)`, [
						id,
						declared,
						id,
						rev,
					])) > 0,
			});
		}
		const missing: number[] = [];
		for (let seq = 0; seq < declared; seq++) if (!bySeq.has(seq)) missing.push(seq);
		if (missing.length > 0) {
			report({
				kind: 'chunks-missing',
				sessionId: id,
				table: chunksTable,
				detail: `${missing.length} of the ${declared} chunks the marker declares are missing (seq ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''})`,
				remedy: `the missing part of the session is gone; ${LEFT_REMEDY}`,
				fixable: false,
			});
			return null;
		}
		full = [...bySeq.entries()]
			.sort((a, b) => a[0] - b[0])
			.map(([, text]) => text)
			.join('');
	} else if (chunks.length > 0) {
		report({
			kind: 'chunks-extra',
			sessionId: id,
			table: chunksTable,
			detail: `${countRows(chunks.length, 'chunk row')} left behind: the session is stored whole in ${table}`,
			remedy: 'delete the left-behind chunk rows',
			fixable: true,
			repair: async (sql) =>
				(await sql.run(`DELETE FROM ${C} WHERE id = ? AND EXISTS (SELECT 1 FROM ${T} WHERE id = ? AND updated_at = ?)`, [id, id, rev])) > 0,
		});
	}
	const parsed = parseStoredJson(full, 'the stored session', { id, table }, report);
	if (!parsed) return null;
	return checkSessionData(id, parsed.value, { header: table, entries: table }, report);
}
