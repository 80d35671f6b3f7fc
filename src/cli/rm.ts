/** `flue-persist rm <store> <id…>`: deletes sessions, after asking (or with `--yes`). */
import { Command } from 'commander';
import { count, formatBytes, formatTime } from '../tools/format.js';
import { redactUrl } from '../tools/open-store.js';
import { CliError, EXIT, type CliIo } from './program.js';
import { confirm, shellQuote, storeOptions, withStore, type StoreFlags } from './session-io.js';

interface RmOptions extends StoreFlags {
	yes?: boolean;
}

/** The `rm` command. */
export function rmCommand(io: CliIo): Command {
	const command = new Command('rm')
		.summary('delete sessions')
		.description(
			'Delete sessions by id. Every id must exist, or nothing is deleted. Asks before deleting;\n' +
				'--yes deletes without asking, and is required when stdin is not a terminal.',
		)
		.argument('<store>', 'store URL: sqlite:<file>, postgres://…, d1:<dir>, do:<dir>')
		.argument('<id...>', 'the ids of the sessions to delete')
		.option('-y, --yes', 'delete without asking');
	return storeOptions(command).action((store: string, ids: string[], options: RmOptions) => rm(io, store, ids, options));
}

async function rm(io: CliIo, url: string, ids: string[], options: RmOptions): Promise<void> {
	await withStore(io, url, 'modify', options, async ({ store, describe }) => {
		const found: string[] = [];
		const missing: string[] = [];
		for (const id of new Set(ids)) {
			const page = await store.list({ prefix: id, limit: 1 });
			const item = page.sessions[0];
			if (item?.id === id) found.push(`  ${id}  (updated ${formatTime(item.updatedAt)}, ${formatBytes(item.bytes)})`);
			else missing.push(id);
		}
		if (missing.length > 0) {
			throw new CliError(`Nothing was deleted: ${missing.map((id) => JSON.stringify(id)).join(', ')} ${missing.length === 1 ? 'is' : 'are'} not in ${describe}. Check the ids with flue-persist ls ${shellQuote(redactUrl(url))}.`, EXIT.ERROR);
		}
		const unique = [...new Set(ids)];
		const again = `flue-persist rm ${shellQuote(redactUrl(url))} ${unique.map(shellQuote).join(' ')}`;
		io.err(`${describe}:\n${found.join('\n')}\n`);
		await confirm(io, `Delete ${unique.length === 1 ? 'this session' : `these ${unique.length} sessions`}?`, options.yes === true, again);
		for (const id of unique) await store.delete(id);
		io.err(`Deleted ${count(unique.length, 'session')}.\n`);
	});
}
