/**
 * The on-disk format: its version and the stamp every database carries, the meta table that holds
 * it and the default table name, the same in every dialect. A backend's schema module writes the
 * stamp; every reader refuses a database stamped by a format it does not know.
 */
import { FormatVersionError } from '../errors.js';
import type { Layout } from '../types.js';

/** Version of the on-disk format this release writes and reads. Stamped in every database. */
export const FORMAT_VERSION = 1;

/** The meta table every flue-persist database carries: the format stamp and a `layout:<table>:<layout>` key per table in use. */
export const META_TABLE = 'flue_persist_meta';

/** Flue's own table name, and the stores' default. */
export const DEFAULT_TABLE = 'flue_sessions';

/** The meta table's key that records a table in use in a layout. */
export function layoutKey(table: string, layout: Layout): string {
	return `layout:${table}:${layout}`;
}

/**
 * The version a `format_version` stamp names, or null when the text is not one: only the digits
 * flue-persist writes (`"1"`), so that `" 1"`, `"1.0"` or `"0x1"` are not taken for a version.
 */
export function parseFormatStamp(text: string): number | null {
	return /^[1-9][0-9]{0,8}$/.test(text) ? Number(text) : null;
}

/** Refuses a database stamped by a newer or unknown format, before anything else is touched. */
export function checkFormatStamp(found: string, backend: string): void {
	const version = parseFormatStamp(found);
	if (version === null) {
		throw new FormatVersionError(
			`the database is stamped with format ${JSON.stringify(found)}, which flue-persist does not know. Nothing was read or written. Check that this database belongs to flue-persist.`,
			{ backend },
		);
	}
	if (version > FORMAT_VERSION) {
		throw new FormatVersionError(
			`the database was written by a newer flue-persist (format ${version}); this release reads format ${FORMAT_VERSION}. Nothing was read or written. Upgrade flue-persist.`,
			{ backend },
		);
	}
}
