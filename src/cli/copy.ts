/**
 * `flue-persist copy <from> <to>`: copies sessions between any two stores. Each session is one
 * save at the destination (one transaction), read back and compared by checksum; sessions
 * already identical there are skipped, so running the copy again resumes it. A session the
 * destination holds with other content is left there unless `--overwrite` or `--newer` says so.
 */

import { realpathSync } from 'node:fs';
import { Command } from 'commander';
import { DEFAULT_TABLE } from '../sql/sqlite-schema.js';
import { count, escapeText } from '../tools/format.js';
import { type OpenedStore, openStore, parseStoreUrl, redactUrl, type StoreUrl } from '../tools/open-store.js';
import { copySessions } from '../tools/transfer.js';
import { runIfFlue2 } from './flue2/open.js';
import { copyFlue2 } from './flue2/transfer.js';
import { CliError, type CliIo, EXIT } from './program.js';
import { existingOptions, existingPolicy, failOnLeftBehind, guarded, shellQuote, withProgress } from './session-io.js';

interface CopyOptions {
	from?: string;
	to?: string;
	prefix?: string;
	agent?: string;
	parallel?: string;
	overwrite?: boolean;
	newer?: boolean;
}

/** The `copy` command. */
export function copyCommand(io: CliIo): Command {
	const command = new Command('copy')
		.summary('copy sessions from one store to another')
		.description(
			'Copy sessions between stores, for example from SQLite to Postgres. Each session is written in one transaction and verified by checksum. Sessions already identical at the destination are skipped, so the copy can be run again to resume it. A session the destination holds with other content is left there and reported, unless --overwrite (replace it) or --newer (replace it when the source is later) is given. Sessions only at the destination are left alone.\n\n' +
				'A destination without session tables gets the layout of the source; pick another with ?layout=log|blob in the destination URL. ?table= picks a table on either side.',
		)
		.argument('[from]', 'the store to copy from (or --from)')
		.argument('[to]', 'the store to copy to (or --to)')
		.option('--from <url>', 'the store to copy from')
		.option('--to <url>', 'the store to copy to')
		.option('--prefix <prefix>', 'only sessions whose id starts with this (Flue 2: instances whose id does)')
		.option('--agent <name>', 'Flue 2 databases: only the instances of this agent')
		.option('--parallel <n>', 'sessions copied at once', '4');
	return existingOptions(command)
		.addHelpText('after', '\nExample:\n  flue-persist copy sqlite:./data/sessions.db postgres://localhost/app')
		.action((from: string | undefined, to: string | undefined, options: CopyOptions) =>
			copy(io, pick(from, options.from, 'from'), pick(to, options.to, 'to'), options),
		);
}

/** One store URL from the positional argument or its flag, not both. */
function pick(positional: string | undefined, flag: string | undefined, name: 'from' | 'to'): string {
	if (positional !== undefined && flag !== undefined && positional !== flag) {
		throw new CliError(
			`copy: the ${name} store is given twice (${JSON.stringify(redactUrl(positional))} and --${name} ${JSON.stringify(redactUrl(flag))}). Give it once.`,
			EXIT.USAGE,
		);
	}
	const url = positional ?? flag;
	if (url === undefined) throw new CliError(`copy needs two stores: flue-persist copy <from> <to> (or --from <url> --to <url>).`, EXIT.USAGE);
	return url;
}

/** Where a URL points, as far as can be told without opening it: a real file, or a Postgres database and schema. */
function place(url: StoreUrl): string | null {
	if (url.kind === 'postgres') {
		const parsed = new URL(url.connectionString!);
		return `postgres:${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}:${url.schema ?? ''}`;
	}
	if (url.kind !== 'sqlite') return null;
	try {
		return `file:${realpathSync(url.path!)}`;
	} catch {
		return null;
	}
}

function sameStore(from: OpenedStore, to: OpenedStore): boolean {
	if (from.target.table !== to.target.table || from.target.layout !== to.target.layout) return false;
	const a = from.database.handle;
	const b = to.database.handle;
	if (a.kind === 'sqlite' && b.kind === 'sqlite') return realpathSync(a.file) === realpathSync(b.file);
	return a.kind === 'postgres' && b.kind === 'postgres' && place(from.database.url) === place(to.database.url);
}

async function copy(io: CliIo, fromText: string, toText: string, options: CopyOptions): Promise<void> {
	const parallel = Number(options.parallel ?? '4');
	if (!Number.isInteger(parallel) || parallel < 1 || parallel > 64)
		throw new CliError(`--parallel must be a whole number from 1 to 64 (got ${JSON.stringify(options.parallel)}).`, EXIT.USAGE);
	const policy = existingPolicy(options);
	const refuseSame = (display: string) =>
		new CliError(
			`Refused: ${display} is both the source and the destination of the copy; nothing was copied. Name another store (or another ?table= or ?layout=) as the destination.`,
			EXIT.ERROR,
		);
	// A Flue 2 source is copied by src/cli/flue2 (whole agent instances).
	if (await runIfFlue2(io, fromText, (db) => copyFlue2(io, db, fromText, toText, options))) return;
	if (options.agent !== undefined)
		throw new CliError('--agent applies to Flue 2 databases only; this is a session store. Use --prefix to pick sessions.', EXIT.USAGE);
	await guarded(async () => {
		const fromUrl = parseStoreUrl(fromText, io.cwd);
		const toUrl = parseStoreUrl(toText, io.cwd);
		// Known to be the same before anything is opened: nothing at all is touched.
		const here = place(fromUrl);
		const sameTable = (fromUrl.table ?? DEFAULT_TABLE) === (toUrl.table ?? DEFAULT_TABLE) && fromUrl.layout === toUrl.layout;
		if (here !== null && here === place(toUrl) && sameTable) throw refuseSame(fromUrl.display);
		const from = await openStore(fromUrl, { cwd: io.cwd, intent: 'read' });
		let to: OpenedStore;
		try {
			to = await openStore(toUrl, { cwd: io.cwd, intent: 'write', fallbackLayout: from.target.layout });
		} catch (error) {
			await from.close();
			throw error;
		}
		if (sameStore(from, to)) {
			await Promise.all([from.close(), to.close()]);
			throw refuseSame(from.describe);
		}
		let result: Awaited<ReturnType<typeof copySessions>>;
		try {
			result = await withProgress(io, 'copy', 'sessions', 'sessions', (progress, interrupt) =>
				copySessions(from.store, to.store, {
					prefix: options.prefix,
					parallel,
					existing: policy,
					stopped: interrupt.stopped,
					...progress.hooks('failed'),
				}),
			);
		} finally {
			await Promise.all([from.close(), to.close()]);
		}
		const skipped = result.skipped.length > 0 ? `, ${result.skipped.length.toLocaleString('en-US')} left as they were (other content at the destination)` : '';
		const summary = `${count(result.copied, 'session')} copied, ${result.unchanged.toLocaleString('en-US')} already there${skipped}${result.vanished > 0 ? `, ${result.vanished} deleted from the source meanwhile` : ''}`;
		const again = `flue-persist copy ${shellQuote(redactUrl(fromText))} ${shellQuote(redactUrl(toText))}${options.prefix ? ` --prefix ${shellQuote(options.prefix)}` : ''}`;
		const flag = policy === 'skip' ? '' : ` --${policy}`;
		if (result.interrupted) {
			throw new CliError(
				`Interrupted after ${(result.copied + result.unchanged + result.vanished + result.skipped.length + result.failed.length).toLocaleString('en-US')} of ${count(result.total, 'session')} (${summary}). Every session at the destination is whole. Run the same command again to resume; sessions already copied are skipped:\n\n  ${again}${flag}`,
				EXIT.ERROR,
			);
		}
		io.err(`Copied from ${escapeText(from.describe)} to ${escapeText(to.describe)}: ${summary}.\n`);
		failOnLeftBehind(result, policy, again, 'copied');
	});
}
