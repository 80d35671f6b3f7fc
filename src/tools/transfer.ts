/**
 * Moving sessions: copy between two stores, export to the JSON Lines format, import from it.
 *
 * Every session is written with one `save`, which every store runs as one transaction, so a
 * destination holds each session whole or not at all, whenever the work stops. Each written
 * session is read back and compared by canonical checksum. A session whose destination copy
 * already has the source's checksum is skipped, so running the same copy or import again after an
 * interruption finishes the work without rewriting what is there.
 */
import { createReadStream } from 'node:fs';
import type { FluePersistStore, SessionData, SessionListItem } from '../types.js';
import { type ExportHeader, ExportInputError, ExportReader, encodeHeader, encodeSession, encodeTrailer, sessionChecksum } from './export-format.js';

/** An error as a message for a person: typed errors already name the session and what to do. */
function describeError(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

/** What happened to one session. `skipped`: the destination holds other content under its id and it was left there. */
export type Outcome = { id: string; status: 'copied' | 'unchanged' | 'vanished' | 'skipped' } | { id: string; status: 'failed'; message: string };

/**
 * What a copy or import does with a session the destination already holds with other content:
 * `skip` leaves it (the default: the destination may hold the newer turn), `overwrite` replaces
 * it, `newer` replaces it only when the incoming session's `updatedAt` is later.
 */
export type ExistingPolicy = 'skip' | 'overwrite' | 'newer';

/** The counts of a copy, export or import pass. */
export interface TransferResult {
	/** Sessions the pass was to handle. */
	total: number;
	/** Written and verified. */
	copied: number;
	/** Already identical at the destination. */
	unchanged: number;
	/** Deleted from the source after the pass listed it. */
	vanished: number;
	/** Ids left as they were at the destination, which holds other content under them (see `ExistingPolicy`). */
	skipped: string[];
	failed: Array<{ id: string; message: string }>;
	/** The pass stopped early (Ctrl-C); every session it wrote is whole. */
	interrupted: boolean;
}

/** What a copy, export or import pass takes, and how it reports. */
export interface TransferOptions {
	/** Only sessions whose id starts with this. */
	prefix?: string;
	/** Sessions in flight at once. Default 4. */
	parallel?: number;
	/** Checked before each session starts: true stops the pass after the sessions in flight. */
	stopped?: () => boolean;
	/** Told how many sessions the pass will handle, before the first. */
	onTotal?: (total: number) => void;
	/** Told each session's outcome. */
	onSession?: (outcome: Outcome) => void;
	/** copy and import: a session the destination holds with other content. Default `skip`. */
	existing?: ExistingPolicy;
}

/**
 * The listing row (last write, stored size) of exactly this id, or null when it is not stored. The
 * smallest id that starts with `id` is `id` itself, so the first row of the prefix listing tells.
 * Callers that only ask whether the id exists use `store.has(id)`.
 */
export async function listingOf(store: FluePersistStore, id: string): Promise<SessionListItem | null> {
	const item = (await store.list({ prefix: id, limit: 1 })).sessions[0];
	return item?.id === id ? item : null;
}

/** Every id of a store (optionally under a prefix), in id order. */
export async function listIds(store: FluePersistStore, prefix = ''): Promise<string[]> {
	const ids: string[] = [];
	for await (const s of store.listAll({ prefix })) ids.push(s.id);
	return ids;
}

/** Runs `fn` over the items with at most `limit` at once; stops taking new items once `stopped()`. */
async function eachLimited<T>(items: AsyncIterable<T> | Iterable<T>, limit: number, stopped: () => boolean, fn: (item: T) => Promise<void>): Promise<boolean> {
	const iterator = (Symbol.asyncIterator in items ? (items as AsyncIterable<T>)[Symbol.asyncIterator]() : (items as Iterable<T>)[Symbol.iterator]()) as
		| AsyncIterator<T>
		| Iterator<T>;
	let interrupted = false;
	// One shared iterator: workers pull in turn, so an async source is read by one worker at a time.
	let pulling: Promise<unknown> = Promise.resolve();
	const next = (): Promise<IteratorResult<T>> => {
		const result = pulling.then(() => iterator.next());
		pulling = result.catch(() => undefined);
		return result;
	};
	const worker = async () => {
		for (;;) {
			const stop = stopped();
			const step = await next();
			if (step.done) return;
			// Asked to stop with items left: the item just taken is not started.
			if (stop) {
				interrupted = true;
				return;
			}
			await fn(step.value);
		}
	};
	try {
		await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
	} finally {
		// Closes a source left unread (the file behind an import stopped early).
		await iterator.return?.();
	}
	return interrupted;
}

/**
 * Writes one session unless the destination already holds it; reads it back to verify.
 * `mayExist: false` (the destination's listing lacked the id) skips the first read.
 */
async function put(
	to: FluePersistStore,
	id: string,
	box: { data: SessionData | null },
	checksum: string,
	mayExist: boolean,
	policy: ExistingPolicy,
): Promise<Outcome> {
	const data = box.data!;
	if (mayExist) {
		const existing = await to.load(id);
		if (existing) {
			if (sessionChecksum(id, existing) === checksum) return { id, status: 'unchanged' };
			if (policy === 'skip') return { id, status: 'skipped' };
			// A time that does not parse is never later: when in doubt, the destination keeps its copy.
			if (policy === 'newer' && !(Date.parse(String(data.updatedAt)) > Date.parse(String(existing.updatedAt)))) return { id, status: 'skipped' };
		}
	}
	await to.save(id, data);
	// Only the checksum is needed from here: a large session is not held twice while it is read back.
	box.data = null;
	const back = await to.load(id);
	const again = back ? sessionChecksum(id, back) : null;
	if (again !== checksum) {
		return {
			id,
			status: 'failed',
			message: `session ${JSON.stringify(id)}: the copy reads back ${again === null ? 'as missing' : `with checksum ${again}`}, not ${checksum}. The destination holds a different value; check it with flue-persist show.`,
		};
	}
	return { id, status: 'copied' };
}

function tally(result: TransferResult, outcome: Outcome): void {
	if (outcome.status === 'failed') result.failed.push({ id: outcome.id, message: outcome.message });
	else if (outcome.status === 'skipped') result.skipped.push(outcome.id);
	else result[outcome.status]++;
}

/**
 * Copies sessions from one store to another. A session the destination holds with other content
 * is handled by `options.existing` (default: left alone and reported). The destination should use
 * `last-writer-wins`, so that a session the policy replaces is replaced whole; sessions only at
 * the destination are left alone.
 */
export async function copySessions(from: FluePersistStore, to: FluePersistStore, options: TransferOptions = {}): Promise<TransferResult> {
	const ids = await listIds(from, options.prefix);
	// Ids the destination already has: only those need a read to tell whether they are up to date.
	const present = new Set(await listIds(to, options.prefix));
	const result: TransferResult = { total: ids.length, copied: 0, unchanged: 0, vanished: 0, skipped: [], failed: [], interrupted: false };
	options.onTotal?.(ids.length);
	result.interrupted = await eachLimited(ids, options.parallel ?? 4, options.stopped ?? (() => false), async (id) => {
		let outcome: Outcome;
		try {
			const box = { data: await from.load(id) };
			outcome =
				box.data === null ? { id, status: 'vanished' } : await put(to, id, box, sessionChecksum(id, box.data), present.has(id), options.existing ?? 'skip');
		} catch (error) {
			outcome = { id, status: 'failed', message: describeError(error) };
		}
		tally(result, outcome);
		options.onSession?.(outcome);
	});
	return result;
}

/**
 * Writes an export of a store through `write` (one call per line, newline included): the header,
 * a line per session, and the end line, which is left out when the pass was interrupted.
 */
export async function exportSessions(
	store: FluePersistStore,
	write: (text: string) => Promise<void>,
	options: TransferOptions & { source?: ExportHeader['source']; now?: Date } = {},
): Promise<TransferResult> {
	const ids = await listIds(store, options.prefix);
	const result: TransferResult = { total: ids.length, copied: 0, unchanged: 0, vanished: 0, skipped: [], failed: [], interrupted: false };
	options.onTotal?.(ids.length);
	await write(`${encodeHeader(options.source, options.now)}\n`);
	// One at a time: lines go out in id order, and a slow writer holds back the reads.
	result.interrupted = await eachLimited(ids, 1, options.stopped ?? (() => false), async (id) => {
		let outcome: Outcome;
		try {
			const data = await store.load(id);
			if (data === null) outcome = { id, status: 'vanished' };
			else {
				await write(`${encodeSession(id, data)}\n`);
				outcome = { id, status: 'copied' };
			}
		} catch (error) {
			outcome = { id, status: 'failed', message: describeError(error) };
		}
		tally(result, outcome);
		options.onSession?.(outcome);
	});
	if (!result.interrupted) await write(`${encodeTrailer(result.copied)}\n`);
	return result;
}

/**
 * Longest line an import reads, in bytes: 64 MiB, the largest session the stores are built for
 * (`capabilities.maxSessionBytes`) with room for its line's id and checksum. A longer line is
 * refused as soon as it passes the limit, before it is held in memory whole.
 */
const MAX_LINE_BYTES = 64 * 1024 * 1024 + 64 * 1024;

function tooLong(fileName: string, line: number, maxLineBytes: number): ExportInputError {
	return new ExportInputError(
		`${fileName}, line ${line} is longer than ${Math.round(maxLineBytes / 1024 / 1024)} MiB, the longest line an import reads (a session that large is beyond what the stores are built for). Nothing was imported.`,
		line,
	);
}

/**
 * The lines of a file (or of text already read, for stdin), without line ends. A line longer than
 * `maxLineBytes` stops the read with `ExportInputError`; the file is read in chunks, so at most
 * that much of a line is ever held.
 */
export function readLines(source: { file: string } | { text: string }, fileName = 'the export', maxLineBytes = MAX_LINE_BYTES): AsyncIterable<string> {
	if ('text' in source) {
		const lines = source.text.split(/\r?\n/);
		if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
		return (async function* () {
			for (let i = 0; i < lines.length; i++) {
				if (Buffer.byteLength(lines[i]!, 'utf8') > maxLineBytes) throw tooLong(fileName, i + 1, maxLineBytes);
				yield lines[i]!;
			}
		})();
	}
	return (async function* () {
		const stream = createReadStream(source.file, { highWaterMark: 1024 * 1024 });
		let parts: Buffer[] = [];
		let size = 0;
		let line = 0;
		const take = (): string => {
			const text = Buffer.concat(parts, size).toString('utf8');
			parts = [];
			size = 0;
			return text.endsWith('\r') ? text.slice(0, -1) : text;
		};
		try {
			for await (const chunk of stream as AsyncIterable<Buffer>) {
				let start = 0;
				for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
					if (size + nl - start > maxLineBytes) throw tooLong(fileName, line + 1, maxLineBytes);
					parts.push(chunk.subarray(start, nl));
					size += nl - start;
					line++;
					yield take();
					start = nl + 1;
				}
				if (size + chunk.length - start > maxLineBytes) throw tooLong(fileName, line + 1, maxLineBytes);
				// The rest of a chunk after a line end is copied, so that it does not keep the whole chunk alive.
				if (start < chunk.length) {
					parts.push(start === 0 ? chunk : Buffer.from(chunk.subarray(start)));
					size += chunk.length - start;
				}
			}
			if (size > 0) yield take();
		} finally {
			stream.destroy();
		}
	})();
}

/** Reads a whole export and checks every line; throws `ExportInputError` (with the line) on the first damage. */
export async function verifyExport(lines: AsyncIterable<string>, fileName: string): Promise<{ header: ExportHeader; ids: string[] }> {
	const reader = new ExportReader(fileName);
	let header: ExportHeader | undefined;
	const ids: string[] = [];
	for await (const line of lines) {
		const parsed = reader.next(line);
		if (parsed?.kind === 'header') header = parsed.header;
		else if (parsed?.kind === 'session') ids.push(parsed.id);
	}
	reader.finish();
	return { header: header!, ids };
}

/**
 * Imports a verified export into a store (call `verifyExport` on the same file first: this pass
 * checks each line again, in case the file changed in between). Each session is written whole.
 */
export async function importSessions(
	store: FluePersistStore,
	lines: AsyncIterable<string>,
	fileName: string,
	options: TransferOptions & { total: number },
): Promise<TransferResult> {
	const reader = new ExportReader(fileName);
	const prefix = options.prefix ?? '';
	const result: TransferResult = { total: options.total, copied: 0, unchanged: 0, vanished: 0, skipped: [], failed: [], interrupted: false };
	options.onTotal?.(options.total);
	const sessions = (async function* () {
		for await (let line of lines) {
			const parsed = reader.next(line);
			// The text of a large line is not kept while its session is written.
			line = '';
			if (parsed?.kind === 'session' && parsed.id.startsWith(prefix))
				yield { id: parsed.id, checksum: parsed.checksum, box: { data: parsed.data as SessionData | null } };
		}
		reader.finish();
	})();
	result.interrupted = await eachLimited(sessions, options.parallel ?? 4, options.stopped ?? (() => false), async (s) => {
		let outcome: Outcome;
		try {
			outcome = await put(store, s.id, s.box, s.checksum, true, options.existing ?? 'skip');
		} catch (error) {
			outcome = { id: s.id, status: 'failed', message: describeError(error) };
		}
		tally(result, outcome);
		options.onSession?.(outcome);
	});
	return result;
}
