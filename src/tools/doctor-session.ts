/**
 * Checks that hold for a session in any layout, once its rows have been put back together: the
 * data is a session, entry ids are unique, every parent exists and the leaf is an entry.
 */
import type { Report } from './doctor-types.js';
import { sessionChecksum } from './export-format.js';

import { CHUNK_MARKER } from '../sql/sqlite-core.js';

export { CHUNK_MARKER };

/** Reads `N` from a chunk marker, or null when the marker is damaged. */
export function markerChunks(text: string): number | null {
	try {
		const parsed = JSON.parse(text) as Record<string, { chunks?: unknown }>;
		const n = parsed['flue-persist:chunked']?.chunks;
		return typeof n === 'number' && Number.isInteger(n) && n >= 1 ? n : null;
	} catch {
		return null;
	}
}

/** `1 chunk row`, `3 chunk rows`. */
export function countRows(n: number, what: string): string {
	return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** What a person can do about damage doctor leaves: doctor never guesses what a session held. */
const LEFT_REMEDY = 'restore the session from an export (flue-persist import) or delete it (flue-persist rm)';

/**
 * Checks an assembled session and returns its checksum, or null when it is not a session at all.
 * Damage is reported against the table that holds it: the header (leaf, shape) or the entries;
 * the blob layout passes its one table as both.
 */
export function checkSessionData(id: string, data: unknown, tables: { header: string; entries: string }, report: Report): string | null {
	const table = tables.entries;
	if (typeof data !== 'object' || data === null || Array.isArray(data) || !Array.isArray((data as { entries?: unknown }).entries)) {
		report({ kind: 'row-unparseable', sessionId: id, table: tables.header, detail: 'the stored value is JSON but not a session (no entries array)', remedy: LEFT_REMEDY, fixable: false });
		return null;
	}
	const session = data as { entries: unknown[]; leafId?: unknown };
	const ids = new Set<string>();
	let shapeOk = true;
	session.entries.forEach((entry, i) => {
		const entryId = (entry as { id?: unknown } | null)?.id;
		if (typeof entry !== 'object' || entry === null || typeof entryId !== 'string') {
			report({ kind: 'row-unparseable', sessionId: id, table, detail: `entries[${i}] is not an entry with a string id`, remedy: LEFT_REMEDY, fixable: false });
			shapeOk = false;
			return;
		}
		if (ids.has(entryId)) {
			report({ kind: 'duplicate-entry-id', sessionId: id, table, detail: `entry id ${JSON.stringify(entryId)} appears more than once`, remedy: LEFT_REMEDY, fixable: false });
		}
		ids.add(entryId);
	});
	for (const entry of session.entries) {
		const e = entry as { id?: unknown; parentId?: unknown } | null;
		if (typeof e?.id !== 'string') continue;
		if (typeof e.parentId === 'string' && !ids.has(e.parentId)) {
			report({
				kind: 'parent-missing',
				sessionId: id,
				table,
				detail: `entry ${JSON.stringify(e.id)} names parent ${JSON.stringify(e.parentId)}, which is not in the session`,
				remedy: `which entry was its parent cannot be known; ${LEFT_REMEDY}`,
				fixable: false,
			});
		}
	}
	const leaf = session.leafId;
	if (typeof leaf === 'string' && !ids.has(leaf)) {
		report({
			kind: 'leaf-missing',
			sessionId: id,
			table: tables.header,
			detail: `the leaf ${JSON.stringify(leaf)} is not an entry of the session`,
			remedy: `which entry the conversation continues from cannot be known; ${LEFT_REMEDY}`,
			fixable: false,
		});
	}
	return shapeOk ? sessionChecksum(id, data) : null;
}

export { LEFT_REMEDY };
