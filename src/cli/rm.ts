/** `flue-persist rm <store> <id…>`: deletes sessions, after asking (or with `--yes`). */
import { Command } from 'commander';
import { closestMatches, count, escapeText, formatBytes, formatTime } from '../tools/format.js';
import { redactUrl } from '../tools/open-store.js';
import { listIds, listingOf } from '../tools/transfer.js';
import { runIfFlue2 } from './flue2/open.js';
import { rmFlue2 } from './flue2/rm.js';
import { CliError, type CliIo, EXIT } from './program.js';
import { confirm, type StoreFlags, shellQuote, storeOptions, withStore } from './session-io.js';

interface RmOptions extends StoreFlags {
	yes?: boolean;
}

/** The `rm` command. */
export function rmCommand(io: CliIo): Command {
	const command = new Command('rm')
		.summary('delete sessions')
		.description(
			'Delete sessions by id (on a Flue 2 database: whole agent instances, as <agent>/<instance>). Every id must exist, or nothing is deleted. Asks before deleting; --yes deletes without asking, and is required when stdin is not a terminal.',
		)
		.argument('<store>', 'store URL: sqlite:<file>, postgres://…, mysql://… (Flue 2), d1:<dir>, do:<dir>')
		.argument('<id...>', 'the ids of the sessions to delete (Flue 2: <agent>/<instance>, or an instance id one agent has)')
		.option('-y, --yes', 'delete without asking');
	return storeOptions(command).action((store: string, ids: string[], options: RmOptions) => rm(io, store, ids, options));
}

async function rm(io: CliIo, url: string, ids: string[], options: RmOptions): Promise<void> {
	// Flue 2 databases: whole agent instances, one transaction each (src/cli/flue2/rm.ts).
	if (await runIfFlue2(io, url, (db) => rmFlue2(io, db, url, ids, options), { flags: options })) return;
	await withStore(io, url, 'modify', options, async ({ store, describe }) => {
		const found: string[] = [];
		const missing: string[] = [];
		for (const id of new Set(ids)) {
			const item = await listingOf(store, id);
			if (item !== null) found.push(`  ${escapeText(id)}  (updated ${formatTime(item.updatedAt)}, ${formatBytes(item.bytes)})`);
			else missing.push(id);
		}
		if (missing.length > 0) {
			const ids = await listIds(store);
			const close = [...new Set(missing.flatMap((id) => closestMatches(id, ids)))].slice(0, 5);
			const hint = close.length > 0 ? ` The closest ids there: ${close.map((id) => JSON.stringify(id)).join(', ')}.` : '';
			throw new CliError(
				`Nothing was deleted: ${missing.map((id) => JSON.stringify(id)).join(', ')} ${missing.length === 1 ? 'is' : 'are'} not in ${describe}.${hint} List the ids with flue-persist ls ${shellQuote(redactUrl(url))}.`,
				EXIT.ERROR,
			);
		}
		const unique = [...new Set(ids)];
		const again = `flue-persist rm ${shellQuote(redactUrl(url))} ${unique.map(shellQuote).join(' ')}`;
		io.err(`${escapeText(describe)}:\n${found.join('\n')}\n`);
		await confirm(io, `Delete ${unique.length === 1 ? 'this session' : `these ${unique.length} sessions`}?`, options.yes === true, again);
		for (const id of unique) await store.delete(id);
		io.err(`Deleted ${count(unique.length, 'session')}.\n`);
	});
}
