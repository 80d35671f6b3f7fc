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
import { unprefixedMessage } from '../errors.js';
import { ExportInputError } from '../tools/export-format.js';
import { count, escapeText } from '../tools/format.js';
import { openStore, redactUrl } from '../tools/open-store.js';
import { importSessions, readLines, verifyExport } from '../tools/transfer.js';
import type { Layout } from '../types.js';
import { importFlue2, isFlue2Export } from './flue2/transfer.js';
import { CliError, type CliIo, EXIT } from './program.js';
import {
	existingOptions,
	existingPolicy,
	failOnLeftBehind,
	guarded,
	type StoreFlags,
	shellQuote,
	storeOptions,
	terminalOf,
	withProgress,
} from './session-io.js';

interface ImportOptions extends StoreFlags {
	prefix?: string;
	agent?: string;
	parallel?: string;
	overwrite?: boolean;
	newer?: boolean;
}

/** The `import` command. */
export function importCommand(io: CliIo): Command {
	const command = new Command('import')
		.summary('import sessions from an export file')
		.description(
			"Import an export made by `flue-persist export`. The file is checked whole before anything is written: a line that is not valid JSON, whose checksum does not match its session, or whose session a store would refuse (the same checks as save) is refused with its line number. Each session is then written in one transaction and verified; sessions already identical in the store are skipped, so an interrupted import is finished by running it again. A session the store holds with other content is left there and reported, unless --overwrite (replace it) or --newer (replace it when the file's is later) is given.",
		)
		.argument('<store>', 'store URL: sqlite:<file>, postgres://…, d1:<dir>, do:<dir>')
		.argument('<file>', 'the export file, or - for stdin')
		.option('--prefix <prefix>', 'only sessions whose id starts with this (Flue 2: instances whose id does)')
		.option('--agent <name>', 'Flue 2 exports: only the instances of this agent')
		.option('--parallel <n>', 'sessions written at once', '4');
	return existingOptions(storeOptions(command))
		.addHelpText('after', '\nExample:\n  flue-persist import postgres://localhost/app sessions.jsonl')
		.action((store: string, file: string, options: ImportOptions) => importFrom(io, store, file, options));
}

async function importFrom(io: CliIo, url: string, fileArg: string, options: ImportOptions): Promise<void> {
	const parallel = Number(options.parallel ?? '4');
	const policy = existingPolicy(options);
	if (!Number.isInteger(parallel) || parallel < 1 || parallel > 64)
		throw new CliError(`--parallel must be a whole number from 1 to 64 (got ${JSON.stringify(options.parallel)}).`, EXIT.USAGE);
	const fromStdin = fileArg === '-';
	const file = fromStdin ? null : resolve(io.cwd, fileArg);
	if (file && !existsSync(file)) throw new CliError(`${fileArg} does not exist. Pass the file that flue-persist export wrote.`, EXIT.ERROR);
	const text = fromStdin ? await terminalOf(io).readStdin() : null;
	const name = fromStdin ? 'stdin' : fileArg;
	const source = () => readLines(text !== null ? { text } : { file: file! }, name);
	// Flue 2 exports are imported by src/cli/flue2 (whole agent instances).
	if (await guarded(() => isFlue2Export(source()))) {
		if (options.layout !== undefined || options.table !== undefined)
			throw new CliError(
				`${name} is a Flue 2 export: --layout and --table apply to flue-persist session stores only. Run the command without them.`,
				EXIT.USAGE,
			);
		return guarded(() => importFlue2(io, url, text !== null ? { text } : { file: file! }, name, fileArg, options));
	}
	if (options.agent !== undefined)
		throw new CliError(`${name} is an export of sessions: --agent applies to Flue 2 exports only. Use --prefix to pick sessions.`, EXIT.USAGE);

	let verified: Awaited<ReturnType<typeof verifyExport>>;
	try {
		verified = await verifyExport(source(), name);
	} catch (error) {
		if (error instanceof ExportInputError) throw new CliError(`Refused: ${unprefixedMessage(error, { keepBackend: true })}`, EXIT.ERROR);
		throw error;
	}
	const prefix = options.prefix ?? '';
	const total = verified.ids.filter((id) => id.startsWith(prefix)).length;
	const sourceLayout = verified.header.source?.layout;
	const fallbackLayout: Layout | undefined = sourceLayout === 'log' || sourceLayout === 'blob' ? sourceLayout : undefined;

	await guarded(async () => {
		const opened = await openStore(url, { cwd: io.cwd, intent: 'write', layout: options.layout, table: options.table, fallbackLayout });
		let result: Awaited<ReturnType<typeof importSessions>>;
		try {
			result = await withProgress(io, 'import', 'sessions', 'sessions', (progress, interrupt) =>
				importSessions(opened.store, source(), name, {
					total,
					prefix,
					parallel,
					existing: policy,
					stopped: interrupt.stopped,
					...progress.hooks('failed'),
				}),
			);
		} catch (error) {
			if (error instanceof ExportInputError)
				throw new CliError(
					`Stopped: ${unprefixedMessage(error, { keepBackend: true })} (the file changed while it was imported; the sessions before that line are written whole).`,
					EXIT.ERROR,
				);
			throw error;
		} finally {
			await opened.close();
		}
		const done = result.copied + result.unchanged + result.skipped.length;
		const skipped = result.skipped.length > 0 ? `, ${result.skipped.length.toLocaleString('en-US')} left as they were (other content in the store)` : '';
		const summary = `${count(result.copied, 'session')} written, ${result.unchanged.toLocaleString('en-US')} already there${skipped}`;
		const again = `flue-persist import ${shellQuote(redactUrl(url))} ${shellQuote(fileArg)}`;
		if (result.interrupted) {
			throw new CliError(
				`Interrupted after ${done.toLocaleString('en-US')} of ${count(result.total, 'session')} (${summary}). Every session written is whole. Run the same command again to finish; sessions already there are skipped:\n\n  ${again}${policy === 'skip' ? '' : ` --${policy}`}`,
				EXIT.ERROR,
			);
		}
		io.err(`Imported ${escapeText(name)} into ${escapeText(opened.describe)}: ${summary}.\n`);
		failOnLeftBehind(result, policy, again, 'imported');
	});
}
