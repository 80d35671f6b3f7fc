/**
 * The portable export format (JSON Lines) and the canonical checksum every session tool compares.
 *
 * ```
 * {"format":"flue-persist-export","version":1,"exportedAt":"…","source":{"backend":"sqlite","layout":"log","table":"flue_sessions"}}
 * {"id":"support-1","checksum":"sha256:…","data":{…the session…}}
 * …
 * {"end":true,"sessions":2}
 * ```
 *
 * The checksum is taken over a canonical JSON text (object keys sorted, recursively), because
 * backends do not all keep key order: Postgres `jsonb` reorders keys. Two copies of a session
 * on two backends therefore have the same checksum exactly when they hold the same JSON value.
 */
import { createHash } from 'node:crypto';
import { checkSessionId, prepareSnapshot } from '../core/serialize.js';
import { InvalidInputError, isFluePersistError, unprefixedMessage } from '../errors.js';
import type { SessionData } from '../types.js';

/** The `format` field of the header line. */
export const EXPORT_FORMAT = 'flue-persist-export';
/** The version of the export format this release writes and reads. */
export const EXPORT_VERSION = 1;

/** The first line of an export. */
export interface ExportHeader {
	format: typeof EXPORT_FORMAT;
	version: number;
	/** ISO time the export started. */
	exportedAt: string;
	/** Where the sessions came from; never holds credentials. */
	source?: { backend: string; layout: string; table?: string };
}

/** One session line. */
export interface ExportSessionLine {
	id: string;
	/** `sha256:` and the hex digest of `canonicalJson({ id, data })`. */
	checksum: string;
	data: SessionData;
}

/** The last line: proves the file was not cut short. */
export interface ExportTrailer {
	end: true;
	sessions: number;
}

/**
 * JSON text of a value with every object's keys in ascending UTF-16 order, no whitespace.
 * Values are what `JSON.parse` produces; `undefined` members are dropped as JSON drops them.
 */
export function canonicalJson(value: unknown): string {
	const parts: string[] = [];
	writeCanonical(value, (text) => void parts.push(text));
	return parts.join('');
}

/** Emits the canonical JSON text of a value piece by piece, so a digest needs no copy of the whole text. */
function writeCanonical(value: unknown, emit: (text: string) => void): void {
	// An explicit stack rather than recursion: a deeply nested value cannot overflow the call stack.
	const stack: unknown[] = [value];
	while (stack.length > 0) {
		const v = stack.pop();
		if (v instanceof Token) {
			emit(v.text);
			continue;
		}
		if (Array.isArray(v)) {
			stack.push(CLOSE_ARRAY);
			for (let i = v.length - 1; i >= 0; i--) {
				const item: unknown = v[i];
				stack.push(item === undefined || typeof item === 'function' ? null : item);
				if (i > 0) stack.push(COMMA);
			}
			emit('[');
			continue;
		}
		if (typeof v === 'object' && v !== null) {
			const record = v as Record<string, unknown>;
			const keys = Object.keys(record)
				.filter((k) => record[k] !== undefined && typeof record[k] !== 'function')
				.sort();
			stack.push(CLOSE_OBJECT);
			for (let i = keys.length - 1; i >= 0; i--) {
				const key = keys[i]!;
				stack.push(record[key]);
				stack.push(new Token(`${JSON.stringify(key)}:`));
				if (i > 0) stack.push(COMMA);
			}
			emit('{');
			continue;
		}
		emit(JSON.stringify(v) ?? 'null');
	}
}

/** Punctuation and keys on the stack of `canonicalJson`, told apart from values by their class. */
class Token {
	constructor(readonly text: string) {}
}
const COMMA = new Token(',');
const CLOSE_ARRAY = new Token(']');
const CLOSE_OBJECT = new Token('}');

/** The checksum of one session: `sha256:` + hex digest of the canonical JSON of `{ id, data }`. */
export function sessionChecksum(id: string, data: unknown): string {
	// The id is inside the digest, so a line whose id was edited no longer matches its data.
	const hash = createHash('sha256');
	// Small pieces are gathered into one update; a large string goes to the digest as it is.
	let pending = '';
	writeCanonical({ id, data }, (text) => {
		pending += text;
		if (pending.length >= 65536) {
			hash.update(pending, 'utf8');
			pending = '';
		}
	});
	hash.update(pending, 'utf8');
	return `sha256:${hash.digest('hex')}`;
}

/** The header line's text (no newline). */
export function encodeHeader(source: ExportHeader['source'], now: Date = new Date()): string {
	const header: ExportHeader = { format: EXPORT_FORMAT, version: EXPORT_VERSION, exportedAt: now.toISOString(), ...(source ? { source } : {}) };
	return JSON.stringify(header);
}

/** A session line's text (no newline), with its checksum. */
export function encodeSession(id: string, data: SessionData): string {
	const line: ExportSessionLine = { id, checksum: sessionChecksum(id, data), data };
	return JSON.stringify(line);
}

/** The trailer line's text (no newline). */
export function encodeTrailer(sessions: number): string {
	const trailer: ExportTrailer = { end: true, sessions };
	return JSON.stringify(trailer);
}

/** Input an import refuses: names the line, so the damage can be found in the file. */
export class ExportInputError extends InvalidInputError {
	constructor(
		message: string,
		/** 1-based line number; 0 when the problem is the file as a whole. */
		readonly line: number,
		sessionId?: string,
	) {
		super(message, { sessionId });
		this.name = 'ExportInputError';
	}
}

/**
 * Refuses a first line that is not the header of an export this release reads (session stores'
 * and Flue 2's alike): the format name and its version. `where` names the line, as `<file>, line 1`.
 */
export function checkExportHeader(value: Record<string, unknown>, where: string): void {
	if (value.format !== EXPORT_FORMAT) {
		throw new ExportInputError(`${where}: this is not a flue-persist export (its first line has no "format":"${EXPORT_FORMAT}"). Nothing was imported.`, 1);
	}
	if (value.version !== EXPORT_VERSION) {
		const newer = typeof value.version === 'number' && value.version > EXPORT_VERSION;
		throw new ExportInputError(
			`${where}: the export is format version ${JSON.stringify(value.version)}; this release reads version ${EXPORT_VERSION}. ${newer ? 'Upgrade flue-persist to import it.' : 'The file is damaged.'} Nothing was imported.`,
			1,
		);
	}
}

/** What one line of an export is, once checked. */
export type ParsedLine =
	| { kind: 'header'; header: ExportHeader }
	| { kind: 'session'; id: string; checksum: string; data: SessionData }
	| { kind: 'trailer'; sessions: number };

function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads the lines of an export one at a time and checks each: the header first, then session
 * lines whose checksum must match their content, then the trailer with the right count.
 */
export class ExportReader {
	private line = 0;
	private sessions = 0;
	private ended = false;
	private seenHeader = false;
	private readonly ids = new Set<string>();

	constructor(private readonly fileName: string) {}

	/** Checks the next line; throws `ExportInputError` naming the line when it is damaged. */
	next(text: string): ParsedLine | null {
		this.line++;
		const n = this.line;
		const where = `${this.fileName}, line ${n}`;
		if (text.trim() === '') {
			if (this.ended) return null;
			throw new ExportInputError(`${where} is empty; an export has no empty lines before its end line. The file is damaged; export the sessions again.`, n);
		}
		if (this.ended) throw new ExportInputError(`${where} follows the end line. The file is damaged or two exports were joined; export the sessions again.`, n);
		let value: unknown;
		try {
			value = JSON.parse(text);
		} catch (cause) {
			throw new ExportInputError(
				`${where} is not valid JSON (${(cause as Error).message}). The file is damaged; nothing was imported. Export the sessions again.`,
				n,
			);
		}
		if (!isObject(value)) throw new ExportInputError(`${where} is not a JSON object. The file is damaged; nothing was imported.`, n);
		if (!this.seenHeader) {
			checkExportHeader(value, where);
			this.seenHeader = true;
			return { kind: 'header', header: value as unknown as ExportHeader };
		}
		if (value.end === true) {
			if (value.sessions !== this.sessions) {
				throw new ExportInputError(
					`${where}: the end line counts ${String(value.sessions)} sessions but the file holds ${this.sessions}. The file is damaged; nothing was imported.`,
					n,
				);
			}
			this.ended = true;
			return { kind: 'trailer', sessions: this.sessions };
		}
		const { id, checksum, data } = value;
		if (typeof id !== 'string' || id.length === 0) throw new ExportInputError(`${where} has no session id. The file is damaged; nothing was imported.`, n);
		if (typeof checksum !== 'string')
			throw new ExportInputError(`${where} (session ${JSON.stringify(id)}) has no checksum. The file is damaged; nothing was imported.`, n, id);
		if (!isObject(data) || !Array.isArray(data.entries)) {
			throw new ExportInputError(`${where} (session ${JSON.stringify(id)}) holds no session data. The file is damaged; nothing was imported.`, n, id);
		}
		const actual = sessionChecksum(id, data);
		if (actual !== checksum) {
			throw new ExportInputError(
				`${where} (session ${JSON.stringify(id)}): the checksum does not match the data (the line says ${checksum}, the data gives ${actual}). The line was changed after export; nothing was imported.`,
				n,
				id,
			);
		}
		if (this.ids.has(id))
			throw new ExportInputError(`${where}: session ${JSON.stringify(id)} appears a second time. The file is damaged; nothing was imported.`, n, id);
		// The checks save() makes, before anything is written: a session a store would refuse half-way is refused here.
		try {
			checkSessionId(id, 'import');
			prepareSnapshot(id, data, 'import', { entryJson: false, full: false });
		} catch (error) {
			if (error instanceof RangeError) {
				throw new ExportInputError(
					`${where} (session ${JSON.stringify(id)}): a store would refuse this session: its data is nested too deeply to check. Nothing was imported.`,
					n,
					id,
				);
			}
			if (!isFluePersistError(error)) throw error;
			throw new ExportInputError(
				`${where} (session ${JSON.stringify(id)}): a store would refuse this session: ${unprefixedMessage(error)} Nothing was imported.`,
				n,
				id,
			);
		}
		this.ids.add(id);
		this.sessions++;
		return { kind: 'session', id, checksum, data: data as unknown as SessionData };
	}

	/** Call after the last line: refuses a file without a header or cut short before its end line. */
	finish(): number {
		if (!this.seenHeader) throw new ExportInputError(`${this.fileName} is empty: there is no header line. Nothing was imported.`, 0);
		if (!this.ended) {
			throw new ExportInputError(
				`${this.fileName} ends at line ${this.line} without its end line: the export was cut short (an interrupted export or a partial download). Nothing was imported. Export the sessions again.`,
				this.line,
			);
		}
		return this.sessions;
	}
}
