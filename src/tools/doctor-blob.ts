/**
 * Doctor for the blob layout: one row per session in `<table>`, and, for a session larger than
 * one value (SQLite family), a chunk marker in that row plus its parts in `<table>_chunks`.
 */
import { CHUNK_MARKER, LEFT_REMEDY, checkSessionData, markerChunks, countRows } from './doctor-session.js';
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

/** Checks every row of a blob table (and its chunk table when there is one). Returns the number of sessions. */
export async function checkBlobTable(raw: RawSql, table: string, tables: Set<string>, report: Report, options: ScanOptions): Promise<number> {
	const chunksTable = `${table}_chunks`;
	const hasChunks = tables.has(chunksTable);
	const T = raw.name(table);
	const C = raw.name(chunksTable);
	let cursor = '';
	let count = 0;
	for (;;) {
		if (options.stopped()) break;
		const rows = await raw.query(`SELECT id, ${raw.text('data')} AS data, updated_at FROM ${T} WHERE ${raw.ordered('id')} > ? ORDER BY ${raw.ordered('id')} LIMIT ?`, [cursor, PAGE]);
		if (rows.length === 0) break;
		const chunkRows = new Map<string, Row[]>();
		if (hasChunks) {
			const ids = rows.map((r) => String(r.id));
			const found = await raw.query(`SELECT id, seq, data FROM ${C} WHERE id IN (${ids.map(() => '?').join(', ')}) ORDER BY id, seq`, ids);
			for (const c of found) {
				const list = chunkRows.get(String(c.id)) ?? [];
				list.push(c);
				chunkRows.set(String(c.id), list);
			}
		}
		for (const row of rows) {
			const id = String(row.id);
			const rev = row.updated_at;
			count++;
			options.onSession({ id, checksum: checkBlobRow(raw, table, id, String(row.data), rev, chunkRows.get(id) ?? [], report), updatedAt: Number(rev) });
		}
		cursor = String(rows[rows.length - 1]!.id);
	}
	if (hasChunks && !options.stopped()) {
		const orphans = await raw.query(`SELECT c.id AS id, count(*) AS n FROM ${C} c WHERE NOT EXISTS (SELECT 1 FROM ${T} b WHERE b.id = c.id) GROUP BY c.id ORDER BY c.id`);
		for (const o of orphans) {
			const id = String(o.id);
			report({
				kind: 'chunks-orphan',
				sessionId: id,
				table: chunksTable,
				detail: `${countRows(Number(o.n), 'chunk row')} ${Number(o.n) === 1 ? 'belongs' : 'belong'} to no session (there is no row for this id in ${table})`,
				remedy: 'delete the chunk rows',
				fixable: true,
				repair: async (sql) => (await sql.run(`DELETE FROM ${C} WHERE id = ? AND NOT EXISTS (SELECT 1 FROM ${T} WHERE id = ?)`, [id, id])) > 0,
			});
		}
	}
	return count;
}

/** Checks one blob row with its chunk rows; returns the session's checksum, or null when it cannot be read. */
function checkBlobRow(raw: RawSql, table: string, id: string, data: string, rev: unknown, chunks: Row[], report: Report): string | null {
	const chunksTable = `${table}_chunks`;
	const T = raw.name(table);
	const C = raw.name(chunksTable);
	let full = data;
	if (data.startsWith(CHUNK_MARKER)) {
		const declared = markerChunks(data);
		if (declared === null) {
			report({ kind: 'chunk-marker-damaged', sessionId: id, table, detail: 'the row is a chunk marker that does not parse, so the number of chunks is unknown', remedy: LEFT_REMEDY, fixable: false });
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
					(await sql.run(`DELETE FROM ${C} WHERE id = ? AND (seq < 0 OR seq >= ?) AND EXISTS (SELECT 1 FROM ${T} WHERE id = ? AND updated_at = ?)`, [id, declared, id, rev])) > 0,
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
			repair: async (sql) => (await sql.run(`DELETE FROM ${C} WHERE id = ? AND EXISTS (SELECT 1 FROM ${T} WHERE id = ? AND updated_at = ?)`, [id, id, rev])) > 0,
		});
	}
	let parsed: unknown;
	try {
		parsed = JSON.parse(full);
	} catch (cause) {
		report({ kind: 'row-unparseable', sessionId: id, table, detail: `the stored session is not valid JSON (${(cause as Error).message})`, remedy: LEFT_REMEDY, fixable: false });
		return null;
	}
	return checkSessionData(id, parsed, { header: table, entries: table }, report);
}
