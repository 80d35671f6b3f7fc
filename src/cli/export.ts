/**
 * `flue-persist export <store>`: every session (or those under a prefix) as JSON Lines, to stdout
 * or to a file (written as export-file.ts says).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { count, escapeText } from '../tools/format.js';
import { redactUrl } from '../tools/open-store.js';
import { exportSessions } from '../tools/transfer.js';
import { openExportOutput } from './export-file.js';
import { exportFlue2 } from './flue2/export.js';
import { runIfFlue2 } from './flue2/open.js';
import { CliError, type CliIo, EXIT } from './program.js';
import { type StoreFlags, shellQuote, storeOptions, withProgress, withStore } from './session-io.js';

interface ExportOptions extends StoreFlags {
	output?: string;
	prefix?: string;
	force?: boolean;
	agent?: string;
	checkpoints?: boolean;
}

/** The `export` command. */
export function exportCommand(io: CliIo): Command {
	const command = new Command('export')
		.summary('export sessions to a portable JSON Lines file')
		.description(
			'Export sessions as JSON Lines: a header line with the format version, one line per session with a sha256 checksum, and an end line with the count. `flue-persist import` reads it into any store. A file is written under a temporary name beside it and appears only when complete; it is readable by its owner only.',
		)
		.argument('<store>', 'store URL: sqlite:<file>, postgres://…, mysql://… (Flue 2), d1:<dir>, do:<dir>')
		.option('-o, --output <file>', 'write to this file instead of stdout')
		.option('--prefix <prefix>', 'only sessions (Flue 2: instances) whose id starts with this')
		.option('--force', 'replace the output file if it exists')
		.option('--agent <name>', 'Flue 2 databases: only the instances of this agent')
		.option('--checkpoints', 'Flue 2 databases: include fold checkpoints (a cache the runtime rebuilds)');
	return storeOptions(command)
		.addHelpText(
			'after',
			'\nExamples:\n  flue-persist export sqlite:./data/sessions.db -o sessions.jsonl\n  flue-persist export postgres://localhost/app --prefix support- | gzip > support.jsonl.gz',
		)
		.action((store: string, options: ExportOptions) => exportTo(io, store, options));
}

async function exportTo(io: CliIo, url: string, options: ExportOptions): Promise<void> {
	const file = options.output === undefined || options.output === '-' ? null : resolve(io.cwd, options.output);
	if (file && existsSync(file) && !options.force)
		throw new CliError(`${options.output} exists and was left as it is. Pass --force to replace it, or choose another file.`, EXIT.ERROR);
	// Flue 2 databases are exported by src/cli/flue2 (whole agent instances).
	if (await runIfFlue2(io, url, (db) => exportFlue2(io, db, options), { flags: options })) return;
	if (options.agent !== undefined || options.checkpoints) throw new CliError('--agent and --checkpoints apply to Flue 2 databases only.', EXIT.USAGE);
	await withStore(io, url, 'read', options, async ({ store, target, describe, database }) => {
		const out = await openExportOutput(file, options.output, database.handle.kind === 'sqlite' ? database.handle.file : null, (text) => io.out(text));
		let result: Awaited<ReturnType<typeof exportSessions>>;
		try {
			result = await withProgress(io, 'export', 'sessions', 'session', (progress, interrupt) =>
				exportSessions(store, out.write, {
					prefix: options.prefix,
					source: { backend: store.backend, layout: target.layout, table: target.table },
					stopped: interrupt.stopped,
					...progress.hooks('skipped'),
				}),
			);
		} catch (error) {
			await out.finish(false);
			throw error;
		}
		await out.finish(!result.interrupted);
		const where = file ? options.output! : 'stdout';
		if (result.interrupted) {
			throw new CliError(
				`Interrupted after ${count(result.copied, 'session')} of ${result.total.toLocaleString('en-US')}. ${file ? `No file was written (${options.output} is only created by a complete export).` : 'The output has no end line, so import will refuse it.'} Run the export again.`,
				EXIT.ERROR,
			);
		}
		io.err(`Exported ${count(result.copied, 'session')} from ${escapeText(describe)} to ${escapeText(where)}.\n`);
		if (result.failed.length > 0) {
			throw new CliError(
				`${count(result.failed.length, 'session')} could not be read and ${result.failed.length === 1 ? 'is' : 'are'} not in the export:\n${result.failed.map((f) => `  ${f.message}`).join('\n')}\nRun flue-persist doctor ${shellQuote(redactUrl(url))} to find the damage.`,
				EXIT.ERROR,
			);
		}
	});
}
