/**
 * Doctor for the log layout: a header row per session in `<table>_log` and one row per entry
 * (or per part of an entry larger than one value) in `<table>_entries`. A header larger than one
 * value is a chunk marker whose parts are entry rows with the entry id `''`.
 */
import type { ScanOptions } from './doctor-blob.js';
import { CHUNK_MARKER, LEFT_REMEDY, checkSessionData, markerChunks, countRows } from './doctor-session.js';
import type { Report } from './doctor-types.js';
import type { RawSql, Row } from './raw-sql.js';

const PAGE = 50;

/** Checks every session of a log layout. Returns the number of sessions. */
export async function checkLogTables(raw: RawSql, table: string, report: Report, options: ScanOptions): Promise<number> {
	const logTable = `${table}_log`;
	const entriesTable = `${table}_entries`;
	const L = raw.name(logTable);
	const E = raw.name(entriesTable);
	let cursor = '';
	let count = 0;
	for (;;) {
		if (options.stopped()) break;
		const heads = await raw.query(`SELECT id, header, updated_at, entry_count FROM ${L} WHERE ${raw.ordered('id')} > ? ORDER BY ${raw.ordered('id')} LIMIT ?`, [cursor, PAGE]);
		if (heads.length === 0) break;
		const ids = heads.map((h) => String(h.id));
		const rows = await raw.query(`SELECT session_id, entry_id, part, parts, pos, parent_id, data FROM ${E} WHERE session_id IN (${ids.map(() => '?').join(', ')})`, ids);
		const bySession = new Map<string, Row[]>();
		for (const r of rows) {
			const list = bySession.get(String(r.session_id)) ?? [];
			list.push(r);
			bySession.set(String(r.session_id), list);
		}
		for (const head of heads) {
			const id = String(head.id);
			count++;
			options.onSession({ id, checksum: checkLogSession(raw, table, head, bySession.get(id) ?? [], report), updatedAt: Number(head.updated_at) });
		}
		cursor = ids[ids.length - 1]!;
	}
	if (!options.stopped()) {
		const orphans = await raw.query(`SELECT e.session_id AS id, count(*) AS n FROM ${E} e WHERE NOT EXISTS (SELECT 1 FROM ${L} l WHERE l.id = e.session_id) GROUP BY e.session_id ORDER BY e.session_id`);
		for (const o of orphans) {
			const id = String(o.id);
			report({
				kind: 'entries-orphan',
				sessionId: id,
				table: entriesTable,
				detail: `${countRows(Number(o.n), 'entry row')} ${Number(o.n) === 1 ? 'belongs' : 'belong'} to no session (there is no header row for this id in ${logTable})`,
				remedy: 'delete the entry rows (without a header row they can never be loaded)',
				fixable: true,
				repair: async (sql) => (await sql.run(`DELETE FROM ${E} WHERE session_id = ? AND NOT EXISTS (SELECT 1 FROM ${L} WHERE id = ?)`, [id, id])) > 0,
			});
		}
	}
	return count;
}

/** Puts the parts of one entry (or of the header, entry id '') back together; null when a part is missing. */
function joinParts(raw: RawSql, table: string, id: string, entryId: string, parts: Row[], rev: unknown, report: Report): string | null {
	const entriesTable = `${table}_entries`;
	const E = raw.name(entriesTable);
	const L = raw.name(`${table}_log`);
	const what = entryId === '' ? 'the session header' : `entry ${JSON.stringify(entryId)}`;
	const first = parts.find((p) => Number(p.part) === 0) ?? parts[0]!;
	const declared = Number(first.parts);
	if (raw.dialect === 'postgres' && (declared !== 1 || parts.some((p) => Number(p.part) !== 0))) {
		report({
			kind: 'parts-unsupported',
			sessionId: id,
			table: entriesTable,
			detail: `${what} is stored in ${countRows(parts.length, 'part row')}, which the Postgres store never writes and cannot read`,
			remedy: LEFT_REMEDY,
			fixable: false,
		});
		return null;
	}
	const byPart = new Map<number, string>();
	const extra: number[] = [];
	for (const p of parts) {
		const n = Number(p.part);
		if (Number.isInteger(n) && n >= 0 && n < declared && !byPart.has(n)) byPart.set(n, String(p.data));
		else extra.push(n);
	}
	if (extra.length > 0) {
		report({
			kind: 'parts-extra',
			sessionId: id,
			table: entriesTable,
			detail: `${what} has ${countRows(extra.length, 'part row')} beyond the ${declared} it declares`,
			remedy: 'delete the part rows beyond the declared count',
			fixable: true,
			repair: async (sql) =>
				(await sql.run(`DELETE FROM ${E} WHERE session_id = ? AND entry_id = ? AND (part < 0 OR part >= ?) AND EXISTS (SELECT 1 FROM ${L} WHERE id = ? AND updated_at = ?)`, [id, entryId, declared, id, rev])) > 0,
		});
	}
	const missing: number[] = [];
	for (let k = 0; k < declared; k++) if (!byPart.has(k)) missing.push(k);
	if (missing.length > 0) {
		report({
			kind: 'parts-missing',
			sessionId: id,
			table: entriesTable,
			detail: `${what} is missing ${missing.length} of its ${declared} parts (part ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''})`,
			remedy: `the missing part is gone; ${LEFT_REMEDY}`,
			fixable: false,
		});
		return null;
	}
	return [...byPart.entries()]
		.sort((a, b) => a[0] - b[0])
		.map(([, text]) => text)
		.join('');
}

function checkLogSession(raw: RawSql, table: string, head: Row, rows: Row[], report: Report): string | null {
	const id = String(head.id);
	const rev = head.updated_at;
	const logTable = `${table}_log`;
	const entriesTable = `${table}_entries`;
	const E = raw.name(entriesTable);
	const L = raw.name(logTable);
	const groups = new Map<string, Row[]>();
	for (const r of rows) {
		const key = String(r.entry_id);
		const list = groups.get(key) ?? [];
		list.push(r);
		groups.set(key, list);
	}
	let readable = true;

	// The header: whole in the log row, or a marker whose parts are entry rows with the id ''.
	let headerText: string | null = String(head.header);
	const headerParts = groups.get('');
	groups.delete('');
	if (headerText.startsWith(CHUNK_MARKER)) {
		const declared = markerChunks(headerText);
		if (declared === null) {
			report({ kind: 'chunk-marker-damaged', sessionId: id, table: logTable, detail: 'the header is a chunk marker that does not parse, so the number of parts is unknown', remedy: LEFT_REMEDY, fixable: false });
			headerText = null;
		} else if (!headerParts) {
			report({ kind: 'parts-missing', sessionId: id, table: entriesTable, detail: `the session header is missing all ${declared} of its parts`, remedy: LEFT_REMEDY, fixable: false });
			headerText = null;
		} else {
			headerText = joinParts(raw, table, id, '', headerParts, rev, report);
		}
	} else if (headerParts) {
		report({
			kind: 'parts-extra',
			sessionId: id,
			table: entriesTable,
			detail: `${countRows(headerParts.length, 'header part row')} left behind: the header is stored whole in ${logTable}`,
			remedy: 'delete the left-behind header part rows',
			fixable: true,
			repair: async (sql) => (await sql.run(`DELETE FROM ${E} WHERE session_id = ? AND entry_id = '' AND EXISTS (SELECT 1 FROM ${L} WHERE id = ? AND updated_at = ?)`, [id, id, rev])) > 0,
		});
	}
	let data: Record<string, unknown> | null = null;
	if (headerText !== null) {
		try {
			const parsed: unknown = JSON.parse(headerText);
			if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
			data = parsed as Record<string, unknown>;
		} catch (cause) {
			report({ kind: 'row-unparseable', sessionId: id, table: logTable, detail: `the session header is not valid JSON (${(cause as Error).message})`, remedy: LEFT_REMEDY, fixable: false });
		}
	}
	if (data === null) readable = false;

	const entries: Array<{ pos: number; entryId: string; value: unknown }> = [];
	for (const [entryId, parts] of groups) {
		const text = joinParts(raw, table, id, entryId, parts, rev, report);
		if (text === null) {
			readable = false;
			continue;
		}
		let value: unknown;
		try {
			value = JSON.parse(text);
		} catch (cause) {
			report({ kind: 'row-unparseable', sessionId: id, table: entriesTable, detail: `entry ${JSON.stringify(entryId)} is not valid JSON (${(cause as Error).message})`, remedy: LEFT_REMEDY, fixable: false });
			readable = false;
			continue;
		}
		const entry = value as { id?: unknown; parentId?: unknown } | null;
		if (typeof entry === 'object' && entry !== null && entry.id !== entryId) {
			report({
				kind: 'entry-id-mismatch',
				sessionId: id,
				table: entriesTable,
				detail: `the row keyed ${JSON.stringify(entryId)} holds an entry whose id is ${JSON.stringify(entry.id)}`,
				remedy: LEFT_REMEDY,
				fixable: false,
			});
		} else if (typeof entry === 'object' && entry !== null) {
			const wanted = typeof entry.parentId === 'string' ? entry.parentId : null;
			const stored = parts[0]!.parent_id == null ? null : String(parts[0]!.parent_id);
			if (wanted !== stored) {
				report({
					kind: 'parent-column-wrong',
					sessionId: id,
					table: entriesTable,
					detail: `entry ${JSON.stringify(entryId)}: column parent_id is ${JSON.stringify(stored)} but the entry's parentId is ${JSON.stringify(wanted)}`,
					remedy: "set parent_id to the entry's own parentId (the entry's JSON is what a load returns)",
					fixable: true,
					repair: async (sql) =>
						(await sql.run(`UPDATE ${E} SET parent_id = ? WHERE session_id = ? AND entry_id = ? AND EXISTS (SELECT 1 FROM ${L} WHERE id = ? AND updated_at = ?)`, [wanted, id, entryId, id, rev])) > 0,
				});
			}
		}
		entries.push({ pos: Number(parts[0]!.pos), entryId, value });
	}
	const stored = Number(head.entry_count);
	if (stored !== groups.size) {
		const actual = groups.size;
		report({
			kind: 'entry-count-wrong',
			sessionId: id,
			table: logTable,
			detail: `entry_count says ${stored} but the session has ${actual} entries`,
			remedy: `set entry_count to ${actual}`,
			fixable: true,
			repair: async (sql) => (await sql.run(`UPDATE ${L} SET entry_count = ? WHERE id = ? AND updated_at = ?`, [actual, id, rev])) > 0,
		});
	}
	if (!readable || data === null) return null;
	entries.sort((a, b) => a.pos - b.pos || (a.entryId < b.entryId ? -1 : a.entryId > b.entryId ? 1 : 0));
	data.entries = entries.map((e) => e.value);
	return checkSessionData(id, data, { header: logTable, entries: entriesTable }, report);
}
