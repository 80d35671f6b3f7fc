/**
 * `copy` and `import` of Flue 2 instances: whole agent instances written one transaction each
 * through the format owner (src/flue2/write.ts), verified by checksum, resumable (instances the
 * target already holds with the same content are skipped), and never replacing an instance the
 * target holds with other content unless `--overwrite`.
 */
import { realpathSync } from 'node:fs';
import { FluePersistError, unprefixedMessage } from '../../errors.js';
import { exportFlue2Instance, FLUE2_EXPORT_KIND, type Flue2ExportLine } from '../../flue2/export.js';
import { flue2InstanceName, hasFlue2StreamTables, listFlue2Streams } from '../../flue2/format.js';
import { checkFlue2ExportLine, type Flue2WriteOutcome, writeFlue2Instance } from '../../flue2/write.js';
import { checkExportHeader } from '../../tools/export-format.js';
import { count, escapeText } from '../../tools/format.js';
import { parseStoreUrl, redactUrl } from '../../tools/open-store.js';
import { readLines } from '../../tools/transfer.js';
import { CliError, type CliIo, EXIT } from '../program.js';
import { failedReport, failWithReports, shellQuote, withProgress } from '../session-io.js';
import { type Flue2Database, type Flue2WriteDatabase, openFlue2ForWrite } from './open.js';

/** The `copy`/`import` options that apply to Flue 2 instances. */
export interface Flue2TransferOptions {
	prefix?: string;
	agent?: string;
	overwrite?: boolean;
	newer?: boolean;
}

/** A Flue 2 export line can hold a long stream whole: up to what one string can hold. */
const MAX_FLUE2_LINE_BYTES = 512 * 1024 * 1024;

interface Tally {
	total: number;
	counts: Record<Flue2WriteOutcome, number>;
	skipped: string[];
	failed: string[];
	interrupted: boolean;
}

function refuseNewer(options: Flue2TransferOptions): void {
	if (options.newer)
		throw new CliError(
			'--newer applies to session stores only: a Flue 2 instance has no single updatedAt. Use --overwrite to replace instances the target holds with other content.',
			EXIT.USAGE,
		);
}

function selected(instance: string, options: Flue2TransferOptions): boolean {
	const slash = instance.indexOf('/');
	const agent = slash === -1 ? instance : instance.slice(0, slash);
	const id = slash === -1 ? instance : instance.slice(slash + 1);
	return (options.agent === undefined || agent === options.agent) && (options.prefix === undefined || id.startsWith(options.prefix));
}

async function writeAll(
	io: CliIo,
	target: Flue2WriteDatabase,
	total: number,
	lines: AsyncIterable<Flue2ExportLine>,
	options: Flue2TransferOptions,
	label: string,
): Promise<Tally> {
	const tally: Tally = { total, counts: { copied: 0, unchanged: 0, skipped: 0, replaced: 0 }, skipped: [], failed: [], interrupted: false };
	return withProgress(io, label, 'instances', 'instance', async (progress, interrupt) => {
		progress.start(total);
		for await (const line of lines) {
			if (interrupt.stopped()) {
				tally.interrupted = true;
				break;
			}
			try {
				const outcome = await writeFlue2Instance(target.sql, line, { overwrite: options.overwrite });
				tally.counts[outcome]++;
				if (outcome === 'skipped') tally.skipped.push(line.instance);
			} catch (error) {
				if (!(error instanceof FluePersistError)) throw error;
				tally.failed.push(unprefixedMessage(error, { keepBackend: true }));
			}
			progress.tick();
		}
		return tally;
	});
}

function finish(io: CliIo, tally: Tally, what: string, again: string, overwrite: boolean | undefined): void {
	const c = tally.counts;
	const summary = `${count(c.copied, 'instance')} written${c.replaced > 0 ? `, ${c.replaced.toLocaleString('en-US')} replaced` : ''}, ${c.unchanged.toLocaleString('en-US')} already there${c.skipped > 0 ? `, ${c.skipped.toLocaleString('en-US')} left as they were (other content at the target)` : ''}`;
	if (tally.interrupted) {
		throw new CliError(
			`Interrupted (${summary}). Every instance at the target is whole. Run the same command again to resume; instances already there are skipped:\n\n  ${again}${overwrite ? ' --overwrite' : ''}`,
			EXIT.ERROR,
		);
	}
	io.err(`${what}: ${summary}.\n`);
	const listed = [...tally.skipped].sort().map((id) => `  ${escapeText(JSON.stringify(id))}`);
	failWithReports(
		failedReport(tally.failed.map(escapeText), 'instance', 'written'),
		tally.skipped.length > 0
			? `${tally.skipped.length === 1 ? '1 instance was left as it is' : `${tally.skipped.length} instances were left as they are`} (the target holds other content under ${tally.skipped.length === 1 ? 'this name' : 'these names'}):\n${listed.join('\n')}\nTo replace ${tally.skipped.length === 1 ? 'it' : 'them'}, run:\n\n  ${again} --overwrite`
			: null,
	);
}

/**
 * Refuses a target of another format, and one that holds only the stamp (what `reset` leaves):
 * the runtime's adapter creates its tables at its next start, exactly as that adapter makes them,
 * so instances are written after that, never into tables made here.
 */
function refuseUnwritableTarget(source: string | null, sourceName: string, target: Flue2WriteDatabase): void {
	if (source !== target.inspection.stamp) {
		throw new CliError(
			`Refused: ${sourceName} is Flue 2 format_version ${JSON.stringify(source)} but ${target.display} is stamped ${JSON.stringify(target.inspection.stamp)}. Instances are only written into a database of the same format; nothing was written.`,
			EXIT.ERROR,
		);
	}
	if (!hasFlue2StreamTables(target.inspection.tables)) {
		throw new CliError(
			`Refused: ${target.display} holds the Flue 2 format stamp but not yet Flue's tables (as \`reset\` leaves it). Start the Flue app on it once, so that its adapter creates them, then run this again; nothing was written.`,
			EXIT.ERROR,
		);
	}
}

/** Where a URL points, for refusing a copy onto itself. */
function place(io: CliIo, text: string): string {
	try {
		const url = parseStoreUrl(text, io.cwd);
		if (url.kind === 'sqlite') return `file:${realpathSync(url.path!)}`;
		if (url.kind === 'postgres') {
			const u = new URL(url.connectionString!);
			return `postgres:${u.hostname}:${u.port || '5432'}${u.pathname}:${url.schema ?? ''}`;
		}
	} catch {
		// Not a session-store URL (mysql://): compared as written below.
	}
	const u = new URL(text.replace(/^mariadb:/i, 'mysql:'));
	return `mysql:${u.hostname}:${u.port || '3306'}${u.pathname}`;
}

/** `copy <from> <to>` where the source is a Flue 2 database. */
export async function copyFlue2(io: CliIo, from: Flue2Database, fromText: string, toText: string, options: Flue2TransferOptions): Promise<void> {
	refuseNewer(options);
	if (place(io, fromText) === place(io, toText))
		throw new CliError(
			`Refused: ${from.display} is both the source and the target of the copy; nothing was copied. Name another database as the target.`,
			EXIT.ERROR,
		);
	const target = await openFlue2ForWrite(io, toText);
	try {
		refuseUnwritableTarget(from.inspection.stamp, from.display, target);
		const streams = (await listFlue2Streams(from.sql)).filter((s) => s.agent !== null && selected(flue2InstanceName(s), options));
		const lines = (async function* () {
			for (const s of streams) yield await exportFlue2Instance(from.sql, s);
		})();
		const tally = await writeAll(io, target, streams.length, lines, options, 'copy');
		const again = `flue-persist copy ${shellQuote(redactUrl(fromText))} ${shellQuote(redactUrl(toText))}${options.agent ? ` --agent ${shellQuote(options.agent)}` : ''}${options.prefix ? ` --prefix ${shellQuote(options.prefix)}` : ''}`;
		finish(io, tally, `Copied from ${escapeText(from.display)} to ${escapeText(target.display)} (Flue 2)`, again, options.overwrite);
	} finally {
		await target.close();
	}
}

/** True when the first line of an export is the header of a Flue 2 export. */
export async function isFlue2Export(lines: AsyncIterable<string>): Promise<boolean> {
	for await (const line of lines) {
		try {
			return (JSON.parse(line) as { kind?: unknown }).kind === FLUE2_EXPORT_KIND;
		} catch {
			return false;
		}
	}
	return false;
}

/**
 * `import <db> <file>` of a Flue 2 export. The whole file is checked first (header, every
 * instance's checksum and batches, the end line); a damaged file is refused with its line number
 * before anything is written.
 */
export async function importFlue2(
	io: CliIo,
	urlText: string,
	source: { file: string } | { text: string },
	name: string,
	fileArg: string,
	options: Flue2TransferOptions,
): Promise<void> {
	refuseNewer(options);
	const read = () => readLines(source, name, MAX_FLUE2_LINE_BYTES);
	let header: { flueFormatVersion?: unknown } | null = null;
	let instances = 0;
	let chosen = 0;
	let ended = false;
	let n = 0;
	for await (const text of read()) {
		n++;
		let value: Record<string, unknown>;
		try {
			value = JSON.parse(text) as Record<string, unknown>;
		} catch {
			throw new CliError(`Refused: line ${n} of ${name} is not JSON. Nothing was imported; export the database again.`, EXIT.ERROR);
		}
		if (n === 1) {
			try {
				checkExportHeader(value, `${name}, line 1`);
			} catch (error) {
				throw new CliError(`Refused: ${unprefixedMessage(error, { keepBackend: true })}`, EXIT.ERROR);
			}
			header = value as { flueFormatVersion?: unknown };
			continue;
		}
		if (ended) throw new CliError(`Refused: ${name} has lines after its end line (line ${n}). Nothing was imported.`, EXIT.ERROR);
		if (value.end === true) {
			if (value.instances !== instances)
				throw new CliError(
					`Refused: the end line of ${name} counts ${String(value.instances)} instances but the file holds ${instances}. Nothing was imported.`,
					EXIT.ERROR,
				);
			ended = true;
			continue;
		}
		try {
			checkFlue2ExportLine(value as unknown as Flue2ExportLine);
		} catch (error) {
			if (!(error instanceof FluePersistError))
				throw new CliError(`Refused: line ${n} of ${name} is not an instance of a Flue 2 export. Nothing was imported.`, EXIT.ERROR);
			throw new CliError(`Refused: line ${n} of ${name}: ${unprefixedMessage(error, { keepBackend: true })} Nothing was imported.`, EXIT.ERROR);
		}
		instances++;
		if (selected((value as unknown as Flue2ExportLine).instance, options)) chosen++;
	}
	if (!ended) throw new CliError(`Refused: ${name} has no end line, so it may be cut short. Nothing was imported; export the database again.`, EXIT.ERROR);
	const target = await openFlue2ForWrite(io, urlText);
	try {
		refuseUnwritableTarget(typeof header?.flueFormatVersion === 'string' ? header.flueFormatVersion : null, name, target);
		const lines = (async function* () {
			let i = 0;
			for await (const text of read()) {
				if (i++ === 0) continue;
				const value = JSON.parse(text) as Flue2ExportLine & { end?: boolean };
				if (value.end === true) return;
				if (selected(value.instance, options)) yield value;
			}
		})();
		const tally = await writeAll(io, target, chosen, lines, options, 'import');
		const again = `flue-persist import ${shellQuote(redactUrl(urlText))} ${shellQuote(fileArg)}${options.agent ? ` --agent ${shellQuote(options.agent)}` : ''}${options.prefix ? ` --prefix ${shellQuote(options.prefix)}` : ''}`;
		finish(io, tally, `Imported ${escapeText(name)} into ${escapeText(target.display)} (Flue 2)`, again, options.overwrite);
	} finally {
		await target.close();
	}
}
