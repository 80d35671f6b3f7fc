/**
 * `flue-persist export <store>`: every session (or those under a prefix) as JSON Lines, to stdout
 * or to a file. A file is written under a temporary name and renamed when complete, so an
 * interrupted export never leaves a file that looks whole.
 */
import { existsSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { count } from '../tools/format.js';
import { exportSessions } from '../tools/transfer.js';
import { redactUrl } from '../tools/open-store.js';
import { CliError, EXIT, type CliIo } from './program.js';
import { listenForInterrupt, progressOf, shellQuote, storeOptions, withStore, type StoreFlags } from './session-io.js';

interface ExportOptions extends StoreFlags {
	output?: string;
	prefix?: string;
	force?: boolean;
}

/** The `export` command. */
export function exportCommand(io: CliIo): Command {
	const command = new Command('export')
		.summary('export sessions to a portable JSON Lines file')
		.description(
			'Export sessions as JSON Lines: a header line with the format version, one line per session\n' +
				'with a sha256 checksum, and an end line with the count. `flue-persist import` reads it into\n' +
				'any store.',
		)
		.argument('<store>', 'store URL: sqlite:<file>, postgres://…, d1:<dir>, do:<dir>')
		.option('-o, --output <file>', 'write to this file instead of stdout')
		.option('--prefix <prefix>', 'only sessions whose id starts with this')
		.option('--force', 'replace the output file if it exists');
	return storeOptions(command)
		.addHelpText('after', '\nExamples:\n  flue-persist export sqlite:./data/sessions.db -o sessions.jsonl\n  flue-persist export postgres://localhost/app --prefix support- | gzip > support.jsonl.gz')
		.action((store: string, options: ExportOptions) => exportTo(io, store, options));
}

async function exportTo(io: CliIo, url: string, options: ExportOptions): Promise<void> {
	const file = options.output === undefined || options.output === '-' ? null : resolve(io.cwd, options.output);
	if (file && existsSync(file) && !options.force) throw new CliError(`${options.output} exists and was left as it is. Pass --force to replace it, or choose another file.`, EXIT.ERROR);
	await withStore(io, url, 'read', options, async ({ store, target, describe }) => {
		const partial = file ? `${file}.partial` : null;
		const handle = partial ? await open(partial, 'w') : null;
		const write = handle ? async (text: string) => void (await handle.write(text)) : async (text: string) => io.out(text);
		const progress = progressOf(io, 'export', 'sessions');
		const interrupt = listenForInterrupt(io, 'session');
		let result;
		try {
			result = await exportSessions(store, write, {
				prefix: options.prefix,
				source: { backend: store.backend, layout: target.layout, table: target.table },
				stopped: interrupt.stopped,
				...progress.hooks('skipped'),
			});
		} catch (error) {
			await handle?.close();
			if (partial) await rm(partial, { force: true });
			throw error;
		} finally {
			progress.done();
			interrupt.dispose();
		}
		if (handle) {
			if (result.interrupted) {
				await handle.close();
				await rm(partial!, { force: true });
			} else {
				// On disk before the rename makes it visible under its name.
				await handle.sync();
				await handle.close();
				await rename(partial!, file!);
			}
		}
		const where = file ? options.output! : 'stdout';
		if (result.interrupted) {
			throw new CliError(
				`Interrupted after ${count(result.copied, 'session')} of ${result.total.toLocaleString('en-US')}. ${file ? `No file was written (${options.output} is only created by a complete export).` : 'The output has no end line, so import will refuse it.'} Run the export again.`,
				EXIT.ERROR,
			);
		}
		io.err(`Exported ${count(result.copied, 'session')} from ${describe} to ${where}.\n`);
		if (result.failed.length > 0) {
			throw new CliError(
				`${count(result.failed.length, 'session')} could not be read and ${result.failed.length === 1 ? 'is' : 'are'} not in the export:\n${result.failed.map((f) => `  ${f.message}`).join('\n')}\nRun flue-persist doctor ${shellQuote(redactUrl(url))} to find the damage.`,
				EXIT.ERROR,
			);
		}
	});
}
