/**
 * `flue-persist import <store> <file>`: reads an export into a store.
 *
 * The whole file is checked first (header, every line's JSON and checksum, the end line), and a
 * damaged file is refused with its line number before anything is written. Then each session is
 * written in one transaction, read back and compared by checksum: the import is atomic per
 * session, and running it again after an interruption skips the sessions already there.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { ExportInputError } from '../tools/export-format.js';
import { count } from '../tools/format.js';
import { openStore, redactUrl } from '../tools/open-store.js';
import { importSessions, readLines, verifyExport } from '../tools/transfer.js';
import type { Layout } from '../types.js';
import { CliError, EXIT, type CliIo } from './program.js';
import { guarded, listenForInterrupt, progressOf, shellQuote, storeOptions, terminalOf, type StoreFlags } from './session-io.js';

interface ImportOptions extends StoreFlags {
	prefix?: string;
	parallel?: string;
}

/** The `import` command. */
export function importCommand(io: CliIo): Command {
	const command = new Command('import')
		.summary('import sessions from an export file')
		.description(
			'Import an export made by `flue-persist export`. The file is checked whole before anything is\n' +
				'written: a line that is not valid JSON or whose checksum does not match its session is refused\n' +
				'with its line number. Each session is then written in one transaction and verified; sessions\n' +
				'already identical in the store are skipped, so an interrupted import is finished by running it\n' +
				'again. A session with the same id and other content is replaced.',
		)
		.argument('<store>', 'store URL: sqlite:<file>, postgres://…, d1:<dir>, do:<dir>')
		.argument('<file>', 'the export file, or - for stdin')
		.option('--prefix <prefix>', 'only sessions whose id starts with this')
		.option('--parallel <n>', 'sessions written at once', '4');
	return storeOptions(command)
		.addHelpText('after', '\nExample:\n  flue-persist import postgres://localhost/app sessions.jsonl')
		.action((store: string, file: string, options: ImportOptions) => importFrom(io, store, file, options));
}

async function importFrom(io: CliIo, url: string, fileArg: string, options: ImportOptions): Promise<void> {
	const parallel = Number(options.parallel ?? '4');
	if (!Number.isInteger(parallel) || parallel < 1 || parallel > 64) throw new CliError(`--parallel must be a whole number from 1 to 64 (got ${JSON.stringify(options.parallel)}).`, EXIT.USAGE);
	const fromStdin = fileArg === '-';
	const file = fromStdin ? null : resolve(io.cwd, fileArg);
	if (file && !existsSync(file)) throw new CliError(`${fileArg} does not exist. Pass the file that flue-persist export wrote.`, EXIT.ERROR);
	const text = fromStdin ? await terminalOf(io).readStdin() : null;
	const source = () => readLines(text !== null ? { text } : { file: file! });
	const name = fromStdin ? 'stdin' : fileArg;

	let verified;
	try {
		verified = await verifyExport(source(), name);
	} catch (error) {
		if (error instanceof ExportInputError) throw new CliError(`Refused: ${error.message.replace(/^\[flue-persist\] /, '')}`, EXIT.ERROR);
		throw error;
	}
	const prefix = options.prefix ?? '';
	const total = verified.ids.filter((id) => id.startsWith(prefix)).length;
	const sourceLayout = verified.header.source?.layout;
	const fallbackLayout: Layout | undefined = sourceLayout === 'log' || sourceLayout === 'blob' ? sourceLayout : undefined;

	await guarded(async () => {
		const opened = await openStore(url, { cwd: io.cwd, intent: 'write', layout: options.layout, table: options.table, fallbackLayout });
		const progress = progressOf(io, 'import', 'sessions');
		const interrupt = listenForInterrupt(io, 'sessions');
		let result;
		try {
			result = await importSessions(opened.store, source(), name, {
				total,
				prefix,
				parallel,
				stopped: interrupt.stopped,
				...progress.hooks('failed'),
			});
		} catch (error) {
			if (error instanceof ExportInputError) throw new CliError(`Stopped: ${error.message.replace(/^\[flue-persist\] /, '')} (the file changed while it was imported; the sessions before that line are written whole).`, EXIT.ERROR);
			throw error;
		} finally {
			progress.done();
			interrupt.dispose();
			await opened.close();
		}
		const done = result.copied + result.unchanged;
		const summary = `${count(result.copied, 'session')} written, ${result.unchanged.toLocaleString('en-US')} already there`;
		if (result.interrupted) {
			throw new CliError(
				`Interrupted after ${done.toLocaleString('en-US')} of ${count(result.total, 'session')} (${summary}). Every session written is whole. Run the same command again to finish; sessions already there are skipped:\n\n  flue-persist import ${shellQuote(redactUrl(url))} ${shellQuote(fileArg)}`,
				EXIT.ERROR,
			);
		}
		io.err(`Imported ${name} into ${opened.describe}: ${summary}.\n`);
		if (result.failed.length > 0) {
			throw new CliError(`${count(result.failed.length, 'session')} failed and ${result.failed.length === 1 ? 'was' : 'were'} not imported:\n${result.failed.map((f) => `  ${f.message}`).join('\n')}`, EXIT.ERROR);
		}
	});
}
