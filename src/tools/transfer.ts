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
import { createInterface } from 'node:readline';
import type { FluePersistStore, SessionData } from '../types.js';
import { ExportReader, encodeHeader, encodeSession, encodeTrailer, sessionChecksum, type ExportHeader } from './export-format.js';

/** An error as a message for a person: typed errors already name the session and what to do. */
function describeError(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

/** What happened to one session. */
export type Outcome = { id: string; status: 'copied' | 'unchanged' | 'vanished' } | { id: string; status: 'failed'; message: string };

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
}

/** Every id of a store (optionally under a prefix), in id order. */
export async function listIds(store: FluePersistStore, prefix = ''): Promise<string[]> {
	const ids: string[] = [];
	let cursor: string | null = null;
	do {
		const page = await store.list({ prefix, limit: 1000, cursor });
		for (const s of page.sessions) ids.push(s.id);
		cursor = page.cursor;
	} while (cursor !== null);
	return ids;
}

/** Runs `fn` over the items with at most `limit` at once; stops taking new items once `stopped()`. */
async function eachLimited<T>(items: AsyncIterable<T> | Iterable<T>, limit: number, stopped: () => boolean, fn: (item: T) => Promise<void>): Promise<boolean> {
	const iterator = (Symbol.asyncIterator in items ? (items as AsyncIterable<T>)[Symbol.asyncIterator]() : (items as Iterable<T>)[Symbol.iterator]()) as AsyncIterator<T> | Iterator<T>;
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
async function put(to: FluePersistStore, id: string, data: SessionData, checksum: string, mayExist = true): Promise<Outcome> {
	if (mayExist) {
		const existing = await to.load(id);
		if (existing && sessionChecksum(id, existing) === checksum) return { id, status: 'unchanged' };
	}
	await to.save(id, data);
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
	else result[outcome.status]++;
}

/**
 * Copies sessions from one store to another. The destination should use `last-writer-wins`, so
 * that an older copy there is replaced; sessions only at the destination are left alone.
 */
export async function copySessions(from: FluePersistStore, to: FluePersistStore, options: TransferOptions = {}): Promise<TransferResult> {
	const ids = await listIds(from, options.prefix);
	// Ids the destination already has: only those need a read to tell whether they are up to date.
	const present = new Set(await listIds(to, options.prefix));
	const result: TransferResult = { total: ids.length, copied: 0, unchanged: 0, vanished: 0, failed: [], interrupted: false };
	options.onTotal?.(ids.length);
	result.interrupted = await eachLimited(ids, options.parallel ?? 4, options.stopped ?? (() => false), async (id) => {
		let outcome: Outcome;
		try {
			const data = await from.load(id);
			outcome = data === null ? { id, status: 'vanished' } : await put(to, id, data, sessionChecksum(id, data), present.has(id));
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
export async function exportSessions(store: FluePersistStore, write: (text: string) => Promise<void>, options: TransferOptions & { source?: ExportHeader['source']; now?: Date } = {}): Promise<TransferResult> {
	const ids = await listIds(store, options.prefix);
	const result: TransferResult = { total: ids.length, copied: 0, unchanged: 0, vanished: 0, failed: [], interrupted: false };
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

/** The lines of a file (or of text already read, for stdin), without line ends. */
export function readLines(source: { file: string } | { text: string }): AsyncIterable<string> {
	if ('text' in source) {
		const lines = source.text.split(/\r?\n/);
		if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
		return (async function* () {
			yield* lines;
		})();
	}
	return createInterface({ input: createReadStream(source.file, { encoding: 'utf8' }), crlfDelay: Infinity });
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
export async function importSessions(store: FluePersistStore, lines: AsyncIterable<string>, fileName: string, options: TransferOptions & { total: number }): Promise<TransferResult> {
	const reader = new ExportReader(fileName);
	const prefix = options.prefix ?? '';
	const result: TransferResult = { total: options.total, copied: 0, unchanged: 0, vanished: 0, failed: [], interrupted: false };
	options.onTotal?.(options.total);
	const sessions = (async function* () {
		for await (const line of lines) {
			const parsed = reader.next(line);
			if (parsed?.kind === 'session' && parsed.id.startsWith(prefix)) yield parsed;
		}
		reader.finish();
	})();
	result.interrupted = await eachLimited(sessions, options.parallel ?? 4, options.stopped ?? (() => false), async (s) => {
		let outcome: Outcome;
		try {
			outcome = await put(store, s.id, s.data, s.checksum);
		} catch (error) {
			outcome = { id: s.id, status: 'failed', message: describeError(error) };
		}
		tally(result, outcome);
		options.onSession?.(outcome);
	});
	return result;
}
