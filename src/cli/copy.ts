/**
 * `flue-persist copy --from <url> --to <url>`: copies sessions between any two stores. Each
 * session is one save at the destination (one transaction), read back and compared by checksum;
 * sessions already identical there are skipped, so running the copy again resumes it.
 */
import { Command } from 'commander';
import { count } from '../tools/format.js';
import { openStore, redactUrl, type OpenedStore } from '../tools/open-store.js';
import { copySessions } from '../tools/transfer.js';
import { CliError, EXIT, type CliIo } from './program.js';
import { guarded, listenForInterrupt, progressOf, shellQuote } from './session-io.js';

interface CopyOptions {
	from: string;
	to: string;
	prefix?: string;
	parallel?: string;
}

/** The `copy` command. */
export function copyCommand(io: CliIo): Command {
	return new Command('copy')
		.summary('copy sessions from one store to another')
		.description(
			'Copy sessions between stores, for example from SQLite to Postgres. Each session is written\n' +
				'in one transaction and verified by checksum. Sessions already identical at the destination\n' +
				'are skipped, so the copy can be run again to resume it; a session with the same id and other\n' +
				'content is replaced. Sessions only at the destination are left alone.\n\n' +
				'A destination without session tables gets the layout of the source; pick another with\n' +
				'?layout=log|blob in the destination URL. ?table= picks a table on either side.',
		)
		.requiredOption('--from <url>', 'the store to copy from')
		.requiredOption('--to <url>', 'the store to copy to')
		.option('--prefix <prefix>', 'only sessions whose id starts with this')
		.option('--parallel <n>', 'sessions copied at once', '4')
		.addHelpText('after', '\nExample:\n  flue-persist copy --from sqlite:./data/sessions.db --to postgres://localhost/app')
		.action((options: CopyOptions) => copy(io, options));
}

async function copy(io: CliIo, options: CopyOptions): Promise<void> {
	const parallel = Number(options.parallel ?? '4');
	if (!Number.isInteger(parallel) || parallel < 1 || parallel > 64) throw new CliError(`--parallel must be a whole number from 1 to 64 (got ${JSON.stringify(options.parallel)}).`, EXIT.USAGE);
	await guarded(async () => {
		const from = await openStore(options.from, { cwd: io.cwd, intent: 'read' });
		let to: OpenedStore;
		try {
			to = await openStore(options.to, { cwd: io.cwd, intent: 'write', fallbackLayout: from.target.layout });
		} catch (error) {
			await from.close();
			throw error;
		}
		const progress = progressOf(io, 'copy', 'sessions');
		const interrupt = listenForInterrupt(io, 'sessions');
		let result;
		try {
			result = await copySessions(from.store, to.store, {
				prefix: options.prefix,
				parallel,
				stopped: interrupt.stopped,
				...progress.hooks('failed'),
			});
		} finally {
			progress.done();
			interrupt.dispose();
			await Promise.all([from.close(), to.close()]);
		}
		const summary = `${count(result.copied, 'session')} copied, ${result.unchanged.toLocaleString('en-US')} already there${result.vanished > 0 ? `, ${result.vanished} deleted from the source meanwhile` : ''}`;
		if (result.interrupted) {
			const again = `flue-persist copy --from ${shellQuote(redactUrl(options.from))} --to ${shellQuote(redactUrl(options.to))}${options.prefix ? ` --prefix ${shellQuote(options.prefix)}` : ''}`;
			throw new CliError(
				`Interrupted after ${(result.copied + result.unchanged + result.vanished + result.failed.length).toLocaleString('en-US')} of ${count(result.total, 'session')} (${summary}). Every session at the destination is whole. Run the same command again to resume; sessions already copied are skipped:\n\n  ${again}`,
				EXIT.ERROR,
			);
		}
		io.err(`Copied from ${from.describe} to ${to.describe}: ${summary}.\n`);
		if (result.failed.length > 0) {
			throw new CliError(`${count(result.failed.length, 'session')} failed and ${result.failed.length === 1 ? 'was' : 'were'} not copied:\n${result.failed.map((f) => `  ${f.message}`).join('\n')}`, EXIT.ERROR);
		}
	});
}
