/** `flue-persist show <store> <id>`: one session as a tree, or as stored with `--json`. */
import { Command } from 'commander';
import { renderSessionTree } from '../tools/session-tree.js';
import { redactUrl } from '../tools/open-store.js';
import { CliError, EXIT, type CliIo } from './program.js';
import { shellQuote, storeOptions, withStore, type StoreFlags } from './session-io.js';

interface ShowOptions extends StoreFlags {
	json?: boolean;
	width?: string;
}

/** The `show` command. */
export function showCommand(io: CliIo): Command {
	const command = new Command('show')
		.summary('show one session as a tree')
		.description(
			'Show a session as the tree Flue keeps: each entry with its id, branches drawn where an entry\n' +
				'has several children, ● on the path to the leaf (○ off it), compactions as boundary lines,\n' +
				'and each tool call folded with its result into one line.',
		)
		.argument('<store>', 'store URL: sqlite:<file>, postgres://…, d1:<dir>, do:<dir>')
		.argument('<id>', 'the session id')
		.option('--json', 'print the session as stored, as JSON')
		.option('--width <columns>', 'cut lines to this many characters', '120');
	return storeOptions(command).action((store: string, id: string, options: ShowOptions) => show(io, store, id, options));
}

async function show(io: CliIo, url: string, id: string, options: ShowOptions): Promise<void> {
	const width = Number(options.width ?? '120');
	if (!Number.isInteger(width) || width < 40) throw new CliError(`--width must be a whole number of 40 or more (got ${JSON.stringify(options.width)}).`, EXIT.USAGE);
	await withStore(io, url, 'read', options, async ({ store, describe }) => {
		const data = await store.load(id);
		if (data === null) {
			throw new CliError(`session ${JSON.stringify(id)} is not in ${describe}. List the sessions with:\n\n  flue-persist ls ${shellQuote(redactUrl(url))} --prefix ${shellQuote(id.slice(0, 8))}`, EXIT.ERROR);
		}
		io.out(options.json ? `${JSON.stringify(data, null, 2)}\n` : renderSessionTree(id, data, { width }));
	});
}
