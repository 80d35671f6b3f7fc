/** `flue-persist prune <store> --older-than <duration>`: deletes sessions not written for that long. */
import { Command } from 'commander';
import type { SessionListItem } from '../types.js';
import { count, formatBytes, formatTime, parseDuration } from '../tools/format.js';
import { redactUrl } from '../tools/open-store.js';
import { CliError, EXIT, type CliIo } from './program.js';
import { confirm, listenForInterrupt, progressOf, shellQuote, storeOptions, terminalOf, withStore, type StoreFlags } from './session-io.js';

interface PruneOptions extends StoreFlags {
	olderThan: string;
	prefix?: string;
	dryRun?: boolean;
	yes?: boolean;
}

/** Sessions listed before asking; the rest are counted. */
const SHOWN = 10;

/** The `prune` command. */
export function pruneCommand(io: CliIo): Command {
	const command = new Command('prune')
		.summary('delete sessions not written for a while')
		.description(
			'Delete every session whose last write is older than a duration. Lists them and asks first;\n' +
				'--yes deletes without asking, and is required when stdin is not a terminal. --dry-run only lists.',
		)
		.argument('<store>', 'store URL: sqlite:<file>, postgres://…, d1:<dir>, do:<dir>')
		.requiredOption('--older-than <duration>', 'age of the last write: 30d, 12h, 2w, 1d12h (units s, m, h, d, w)')
		.option('--prefix <prefix>', 'only sessions whose id starts with this')
		.option('--dry-run', 'list what would be deleted, delete nothing')
		.option('-y, --yes', 'delete without asking');
	return storeOptions(command)
		.addHelpText('after', '\nExample:\n  flue-persist prune sqlite:./data/sessions.db --older-than 90d --yes')
		.action((store: string, options: PruneOptions) => prune(io, store, options));
}

async function prune(io: CliIo, url: string, options: PruneOptions): Promise<void> {
	const age = parseDuration(options.olderThan);
	if (age === null) throw new CliError(`--older-than ${JSON.stringify(options.olderThan)} is not a duration. Write it as 30d, 12h, 2w or 1d12h (units s, m, h, d, w).`, EXIT.USAGE);
	const cutoff = terminalOf(io).now() - age;
	await withStore(io, url, options.dryRun ? 'read' : 'modify', options, async ({ store, describe }) => {
		const old: SessionListItem[] = [];
		let cursor: string | null = null;
		do {
			const page = await store.list({ prefix: options.prefix ?? '', limit: 1000, cursor });
			for (const s of page.sessions) if (Date.parse(s.updatedAt) < cutoff) old.push(s);
			cursor = page.cursor;
		} while (cursor !== null);
		const since = new Date(cutoff).toISOString();
		if (old.length === 0) {
			io.err(`No session in ${describe} was last written before ${formatTime(since)} (${options.olderThan} ago).\n`);
			return;
		}
		const bytes = old.reduce((n, s) => n + s.bytes, 0);
		const listing = old.slice(0, SHOWN).map((s) => `  ${s.id}  (updated ${formatTime(s.updatedAt)}, ${formatBytes(s.bytes)})`);
		if (old.length > SHOWN) listing.push(`  … and ${count(old.length - SHOWN, 'more session')}`);
		io.err(`${count(old.length, 'session')} in ${describe} last written before ${formatTime(since)} (${formatBytes(bytes)}):\n${listing.join('\n')}\n`);
		if (options.dryRun) {
			io.err('Dry run: nothing was deleted.\n');
			return;
		}
		const again = `flue-persist prune ${shellQuote(redactUrl(url))} --older-than ${shellQuote(options.olderThan)}${options.prefix ? ` --prefix ${shellQuote(options.prefix)}` : ''}`;
		await confirm(io, `Delete ${old.length === 1 ? 'this session' : `these ${old.length.toLocaleString('en-US')} sessions`}?`, options.yes === true, again);
		const progress = progressOf(io, 'prune', 'sessions');
		const interrupt = listenForInterrupt(io, 'deletion');
		let deleted = 0;
		let kept = 0;
		try {
			progress.start(old.length);
			for (const s of old) {
				if (interrupt.stopped()) break;
				// Written again since the listing (an agent resumed it): it is no longer old.
				const now = (await store.list({ prefix: s.id, limit: 1 })).sessions[0];
				if (now?.id === s.id && Date.parse(now.updatedAt) < cutoff) {
					await store.delete(s.id);
					deleted++;
				} else kept++;
				progress.tick();
			}
		} finally {
			progress.done();
			interrupt.dispose();
		}
		const keptNote = kept > 0 ? ` ${count(kept, 'session')} written again (or deleted) since the listing ${kept === 1 ? 'was' : 'were'} left alone.` : '';
		if (interrupt.stopped() && deleted + kept < old.length) {
			throw new CliError(`Interrupted: deleted ${count(deleted, 'session')} of ${old.length.toLocaleString('en-US')}.${keptNote} Run the same command again to delete the rest.`, EXIT.ERROR);
		}
		io.err(`Deleted ${count(deleted, 'session')}.${keptNote}\n`);
	});
}
