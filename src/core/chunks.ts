import { ConfigError, FormatVersionError } from '../errors.js';

/** Version of the on-disk format this release writes and reads. Stamped in every database. */
export const FORMAT_VERSION = 1;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/;

/** Checks a name that reaches SQL text (a table or schema); values always travel as parameters. */
export function checkIdentifier(value: unknown, option: string, backend: string): string {
	if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
		throw new ConfigError(
			`option ${option} must be a SQL identifier: a letter or underscore, then letters, digits or underscores, at most 48 characters (got ${JSON.stringify(value)}).`,
			{ backend },
		);
	}
	return value;
}

/**
 * Splits text into pieces of at most `maxBytes` UTF-8 bytes, never inside a surrogate pair
 * (a lone half would not survive the database's UTF-8 and the pieces would not rejoin).
 */
export function splitUtf8(text: string, maxBytes: number): string[] {
	if (maxBytes < 4) throw new RangeError('maxBytes must be at least 4');
	if (text.length * 3 <= maxBytes) return [text];
	const pieces: string[] = [];
	let start = 0;
	let bytes = 0;
	for (let i = 0; i < text.length; i++) {
		const c = text.charCodeAt(i);
		let width = c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
		let units = 1;
		if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
			const d = text.charCodeAt(i + 1);
			if (d >= 0xdc00 && d <= 0xdfff) {
				width = 4;
				units = 2;
			}
		}
		if (bytes + width > maxBytes) {
			pieces.push(text.slice(start, i));
			start = i;
			bytes = 0;
		}
		bytes += width;
		i += units - 1;
	}
	pieces.push(text.slice(start));
	return pieces;
}

/** Refuses a database stamped by a newer or unknown format, before anything else is touched. */
export function checkFormatStamp(found: string, backend: string): void {
	const version = Number(found);
	if (!Number.isInteger(version) || version < 1) {
		throw new FormatVersionError(`the database is stamped with format ${JSON.stringify(found)}, which flue-persist does not know. Nothing was read or written. Check that this database belongs to flue-persist.`, { backend });
	}
	if (version > FORMAT_VERSION) {
		throw new FormatVersionError(
			`the database was written by a newer flue-persist (format ${version}); this release reads format ${FORMAT_VERSION}. Nothing was read or written. Upgrade flue-persist.`,
			{ backend },
		);
	}
}
