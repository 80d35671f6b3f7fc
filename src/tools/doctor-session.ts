/**
 * Checks that hold for a session in any layout, once its rows have been put back together: the
 * data is a session, entry ids are unique, every parent exists and the leaf is an entry.
 */
import type { Report } from './doctor-types.js';
import { sessionChecksum } from './export-format.js';

/** `1 chunk row`, `3 chunk rows`. */
export function countRows(n: number, what: string): string {
	return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** What a person can do about damage doctor leaves: doctor never guesses what a session held. */
export const LEFT_REMEDY = 'restore the session from an export (flue-persist import) or delete it (flue-persist rm)';

/**
 * Parses a stored JSON text (with `object`, only a JSON object passes), or reports it as
 * `row-unparseable`, named by `what` (`the stored session`, `entry "a1"`), and returns null.
 */
export function parseStoredJson(text: string, what: string, at: { id: string; table: string; object?: boolean }, report: Report): { value: unknown } | null {
	try {
		const value: unknown = JSON.parse(text);
		if (at.object && (typeof value !== 'object' || value === null || Array.isArray(value))) throw new Error('not a JSON object');
		return { value };
	} catch (cause) {
		report({
			kind: 'row-unparseable',
			sessionId: at.id,
			table: at.table,
			detail: `${what} is not valid JSON (${(cause as Error).message})`,
			remedy: LEFT_REMEDY,
			fixable: false,
		});
		return null;
	}
}

/**
 * Checks an assembled session and returns its checksum, or null when it is not a session at all.
 * Damage is reported against the table that holds it: the header (leaf, shape) or the entries;
 * the blob layout passes its one table as both.
 */
export function checkSessionData(id: string, data: unknown, tables: { header: string; entries: string }, report: Report): string | null {
	return checkSessionShape(id, data, tables, report) ? sessionChecksum(id, data) : null;
}

/**
 * The checks of `checkSessionData` without the checksum (which costs more than the checks on a
 * large session): true when the data is a session whose entries all have string ids.
 */
export function checkSessionShape(id: string, data: unknown, tables: { header: string; entries: string }, report: Report): boolean {
	const table = tables.entries;
	if (typeof data !== 'object' || data === null || Array.isArray(data) || !Array.isArray((data as { entries?: unknown }).entries)) {
		report({
			kind: 'row-unparseable',
			sessionId: id,
			table: tables.header,
			detail: 'the stored value is JSON but not a session (no entries array)',
			remedy: LEFT_REMEDY,
			fixable: false,
		});
		return false;
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
			report({
				kind: 'duplicate-entry-id',
				sessionId: id,
				table,
				detail: `entry id ${JSON.stringify(entryId)} appears more than once`,
				remedy: LEFT_REMEDY,
				fixable: false,
			});
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
	reportCycles(id, session.entries, table, report);
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
	return shapeOk;
}

/**
 * Reports each entry whose chain of parents comes back to itself (an entry that names itself as
 * its parent included): the conversation up to it can never be read. Walks without recursion.
 */
function reportCycles(id: string, list: unknown[], table: string, report: Report): void {
	const parentOf = new Map<string, string | null>();
	for (const entry of list) {
		const e = entry as { id?: unknown; parentId?: unknown } | null;
		if (typeof e?.id === 'string' && !parentOf.has(e.id)) parentOf.set(e.id, typeof e.parentId === 'string' ? e.parentId : null);
	}
	// 1: on the path being walked, 2: known to reach a root (or a missing parent, reported elsewhere).
	const state = new Map<string, 1 | 2>();
	for (const start of parentOf.keys()) {
		const path: string[] = [];
		let at: string | null | undefined = start;
		while (at != null && parentOf.has(at) && state.get(at) === undefined) {
			state.set(at, 1);
			path.push(at);
			at = parentOf.get(at);
		}
		if (at != null && state.get(at) === 1) {
			const cycle = path.slice(path.indexOf(at));
			report({
				kind: 'parent-cycle',
				sessionId: id,
				table,
				detail:
					cycle.length === 1
						? `entry ${JSON.stringify(at)} names itself as its parent`
						: `entries ${cycle.map((c) => JSON.stringify(c)).join(' → ')} name each other as parents in a cycle, so none of them leads back to the start of the conversation`,
				remedy: `which entry was the real parent cannot be known; ${LEFT_REMEDY}`,
				fixable: false,
			});
		}
		for (const p of path) state.set(p, 2);
	}
}
