/** `flue-persist prune <store> --older-than <duration>`: deletes sessions not written for that long. */
import { Command } from 'commander';
import { count, escapeText, formatBytes, formatTime, parseDuration } from '../tools/format.js';
import { redactUrl } from '../tools/open-store.js';
import { listingOf } from '../tools/transfer.js';
import type { SessionListItem } from '../types.js';
import { runIfFlue2 } from './flue2/open.js';
import { pruneFlue2 } from './flue2/prune.js';
import { CliError, type CliIo, EXIT } from './program.js';
import { confirm, type StoreFlags, shellQuote, storeOptions, terminalOf, withProgress, withStore } from './session-io.js';

interface PruneOptions extends StoreFlags {
	olderThan: string;
	prefix?: string;
	agent?: string;
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
			'Delete every session whose last write is older than a duration. Lists them and asks first; --yes deletes without asking, and is required when stdin is not a terminal. --dry-run only lists.',
		)
		.argument('<store>', 'store URL: sqlite:<file>, postgres://…, d1:<dir>, do:<dir>')
		.requiredOption('--older-than <duration>', 'age of the last write: 30d, 12h, 2w, 1d12h (units s, m, h, d, w)')
		.option('--prefix <prefix>', 'only sessions whose id starts with this')
		.option('--agent <name>', 'Flue 2 databases: only instances of this agent')
		.option('--dry-run', 'list what would be deleted, delete nothing')
		.option('-y, --yes', 'delete without asking');
	return storeOptions(command)
		.addHelpText('after', '\nExample:\n  flue-persist prune sqlite:./data/sessions.db --older-than 90d --yes')
		.action((store: string, options: PruneOptions) => prune(io, store, options));
}

async function prune(io: CliIo, url: string, options: PruneOptions): Promise<void> {
	const age = parseDuration(options.olderThan);
	if (age === null)
		throw new CliError(
			`--older-than ${JSON.stringify(options.olderThan)} is not a duration. Write it as 30d, 12h, 2w or 1d12h (units s, m, h, d, w).`,
			EXIT.USAGE,
		);
	const cutoff = terminalOf(io).now() - age;
	// Flue 2 databases are pruned by src/cli/flue2 (whole agent instances).
	if (await runIfFlue2(io, url, (db) => pruneFlue2(io, db, url, { ...options, cutoff }), { flags: options })) return;
	if (options.agent !== undefined)
		throw new CliError('--agent applies to Flue 2 databases only; this is a session store. Use --prefix to pick sessions.', EXIT.USAGE);
	await withStore(io, url, options.dryRun ? 'read' : 'modify', options, async ({ store, describe }) => {
		const old: SessionListItem[] = [];
		for await (const s of store.listAll({ prefix: options.prefix ?? '' })) if (Date.parse(s.updatedAt) < cutoff) old.push(s);
		const since = new Date(cutoff).toISOString();
		if (old.length === 0) {
			io.err(`No session in ${escapeText(describe)} was last written before ${formatTime(since)} (${options.olderThan} ago).\n`);
			return;
		}
		const bytes = old.reduce((n, s) => n + s.bytes, 0);
		const listing = old.slice(0, SHOWN).map((s) => `  ${escapeText(s.id)}  (updated ${formatTime(s.updatedAt)}, ${formatBytes(s.bytes)})`);
		if (old.length > SHOWN) listing.push(`  … and ${count(old.length - SHOWN, 'more session')}`);
		io.err(
			`${count(old.length, 'session')} in ${escapeText(describe)} last written before ${formatTime(since)} (${formatBytes(bytes)}):\n${listing.join('\n')}\n`,
		);
		if (options.dryRun) {
			io.err('Dry run: nothing was deleted.\n');
			return;
		}
		const again = `flue-persist prune ${shellQuote(redactUrl(url))} --older-than ${shellQuote(options.olderThan)}${options.prefix ? ` --prefix ${shellQuote(options.prefix)}` : ''}`;
		await confirm(io, `Delete ${old.length === 1 ? 'this session' : `these ${old.length.toLocaleString('en-US')} sessions`}?`, options.yes === true, again);
		let deleted = 0;
		let kept = 0;
		const stopped = await withProgress(io, 'prune', 'sessions', 'deletion', async (progress, interrupt) => {
			progress.start(old.length);
			for (const s of old) {
				if (interrupt.stopped()) break;
				// Written again since the listing (an agent resumed it): it is no longer old.
				const now = await listingOf(store, s.id);
				if (now !== null && Date.parse(now.updatedAt) < cutoff) {
					await store.delete(s.id);
					deleted++;
				} else kept++;
				progress.tick();
			}
			return interrupt.stopped();
		});
		const keptNote = kept > 0 ? ` ${count(kept, 'session')} written again (or deleted) since the listing ${kept === 1 ? 'was' : 'were'} left alone.` : '';
		if (stopped && deleted + kept < old.length) {
			throw new CliError(
				`Interrupted: deleted ${count(deleted, 'session')} of ${old.length.toLocaleString('en-US')}.${keptNote} Run the same command again to delete the rest.`,
				EXIT.ERROR,
			);
		}
		io.err(`Deleted ${count(deleted, 'session')}.${keptNote}\n`);
	});
}
