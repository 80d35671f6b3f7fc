/**
 * Doctor for the log layout: a header row per session in `<table>_log` and one row per entry
 * (or per part of an entry larger than one value) in `<table>_entries`. A header larger than one
 * value is a chunk marker whose parts are entry rows with the entry id `''`.
 */

import { CHUNK_MARKER, joinParts as joinStoredParts, markerChunks, sqliteTableNames } from '../sql/sqlite-schema.js';
import { reportOrphans, type ScanOptions, scanSessions } from './doctor-blob.js';
import { checkSessionData, countRows, LEFT_REMEDY, parseStoredJson } from './doctor-session.js';
import type { Report } from './doctor-types.js';
import type { RawSql, Row } from './raw-sql.js';

/** Checks every session of a log layout. Returns the number of sessions. */
export async function checkLogTables(raw: RawSql, table: string, report: Report, options: ScanOptions): Promise<number> {
	const logTable = sqliteTableNames(table).log;
	const entriesTable = sqliteTableNames(table).entries;
	const L = raw.name(logTable);
	const E = raw.name(entriesTable);
	const count = await scanSessions(
		raw,
		options,
		`SELECT id, header, updated_at, entry_count FROM ${L} WHERE ${raw.ordered('id')} > ? ORDER BY ${raw.ordered('id')} LIMIT ?`,
		{ sql: (marks) => `SELECT session_id, entry_id, part, parts, pos, parent_id, data FROM ${E} WHERE session_id IN (${marks})`, key: 'session_id' },
		(head, rows) => options.onSession({ id: String(head.id), checksum: checkLogSession(raw, table, head, rows, report), updatedAt: Number(head.updated_at) }),
	);
	if (!options.stopped()) {
		await reportOrphans(raw, report, {
			kind: 'entries-orphan',
			side: entriesTable,
			key: 'session_id',
			head: logTable,
			rows: 'entry row',
			headRow: 'header row',
			remedy: 'delete the entry rows (without a header row they can never be loaded)',
		});
	}
	return count;
}

/** Puts the parts of one entry (or of the header, entry id '') back together; null when a part is missing. */
function joinParts(raw: RawSql, table: string, id: string, entryId: string, parts: Row[], rev: unknown, report: Report): string | null {
	const entriesTable = sqliteTableNames(table).entries;
	const E = raw.name(entriesTable);
	const L = raw.name(sqliteTableNames(table).log);
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
	const { text, missing, extra } = joinStoredParts(declared, parts);
	if (extra.length > 0) {
		report({
			kind: 'parts-extra',
			sessionId: id,
			table: entriesTable,
			detail: `${what} has ${countRows(extra.length, 'part row')} beyond the ${declared} it declares`,
			remedy: 'delete the part rows beyond the declared count',
			fixable: true,
			repair: async (sql) =>
				(await sql.run(
					`DELETE FROM ${E} WHERE session_id = ? AND entry_id = ? AND (part < 0 OR part >= ?) AND EXISTS (SELECT 1 FROM ${L} WHERE id = ? AND updated_at = ?)`,
					[id, entryId, declared, id, rev],
				)) > 0,
		});
	}
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
	return text;
}

function checkLogSession(raw: RawSql, table: string, head: Row, rows: Row[], report: Report): string | null {
	const id = String(head.id);
	const rev = head.updated_at;
	const logTable = sqliteTableNames(table).log;
	const entriesTable = sqliteTableNames(table).entries;
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
			report({
				kind: 'chunk-marker-damaged',
				sessionId: id,
				table: logTable,
				detail: 'the header is a chunk marker that does not parse, so the number of parts is unknown',
				remedy: LEFT_REMEDY,
				fixable: false,
			});
			headerText = null;
		} else if (!headerParts) {
			report({
				kind: 'parts-missing',
				sessionId: id,
				table: entriesTable,
				detail: `the session header is missing all ${declared} of its parts`,
				remedy: LEFT_REMEDY,
				fixable: false,
			});
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
			repair: async (sql) =>
				(await sql.run(`DELETE FROM ${E} WHERE session_id = ? AND entry_id = '' AND EXISTS (SELECT 1 FROM ${L} WHERE id = ? AND updated_at = ?)`, [
					id,
					id,
					rev,
				])) > 0,
		});
	}
	let data: Record<string, unknown> | null = null;
	if (headerText !== null) {
		const parsed = parseStoredJson(headerText, 'the session header', { id, table: logTable, object: true }, report);
		if (parsed) data = parsed.value as Record<string, unknown>;
	}
	if (data === null) readable = false;

	const entries: Array<{ pos: number; entryId: string; value: unknown }> = [];
	for (const [entryId, parts] of groups) {
		const text = joinParts(raw, table, id, entryId, parts, rev, report);
		if (text === null) {
			readable = false;
			continue;
		}
		const parsed = parseStoredJson(text, `entry ${JSON.stringify(entryId)}`, { id, table: entriesTable }, report);
		if (!parsed) {
			readable = false;
			continue;
		}
		const value = parsed.value;
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
						(await sql.run(
							`UPDATE ${E} SET parent_id = ? WHERE session_id = ? AND entry_id = ? AND EXISTS (SELECT 1 FROM ${L} WHERE id = ? AND updated_at = ?)`,
							[wanted, id, entryId, id, rev],
						)) > 0,
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
