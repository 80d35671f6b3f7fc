/**
 * `flue-persist studio --store <url>`: the sessions of a store in a browser, served on a local
 * address until Ctrl-C. Read-only unless started with `--allow-delete`.
 */
import { Command } from 'commander';
import { openInBrowser } from '../studio/open-browser.js';
import { startStudio, studioSource, type Studio } from '../studio/server.js';
import { redactUrl } from '../tools/open-store.js';
import { CliError, EXIT, type CliIo } from './program.js';
import { shellQuote, storeOptions, terminalOf, withStore, type StoreFlags } from './session-io.js';

interface StudioOptions extends StoreFlags {
	store?: string;
	port: string;
	host: string;
	open: boolean;
	allowDelete?: boolean;
}

/** The port the studio listens on unless told otherwise. */
export const DEFAULT_STUDIO_PORT = 7483;

/** The `studio` command. */
export function studioCommand(io: CliIo): Command {
	const command = new Command('studio')
		.summary('look at sessions in a browser')
		.description(
			'Serve a page that shows the sessions of a store: the list (search, prefix, date, sort by time or\n' +
				'size), each session as its tree (branches, the path to the leaf, compactions, tool calls folded),\n' +
				'its size entry by entry, and what doctor finds. The page is read-only unless --allow-delete is given.\n\n' +
				'The URL printed carries a random token; every request without it is refused. The server listens on\n' +
				'127.0.0.1 only, unless --host says otherwise, and runs until Ctrl-C.',
		)
		.argument('[store]', 'store URL, the same as --store')
		.option('--store <url>', 'store URL: sqlite:<file>, postgres://…, d1:<dir>, do:<dir>')
		.option('--port <n>', 'port to listen on; 0 picks a free one', String(DEFAULT_STUDIO_PORT))
		.option('--host <address>', 'address to listen on', '127.0.0.1')
		.option('--no-open', 'print the URL without opening a browser')
		.option('--allow-delete', 'let the page delete sessions (it asks before each one)');
	return storeOptions(command)
		.addHelpText('after', '\nExamples:\n  flue-persist studio --store sqlite:./data/sessions.db\n  flue-persist studio --store postgres://localhost/app --port 0 --no-open')
		.action((store: string | undefined, options: StudioOptions) => studio(io, store, options));
}

async function studio(io: CliIo, positional: string | undefined, options: StudioOptions): Promise<void> {
	if (positional !== undefined && options.store !== undefined && positional !== options.store) {
		throw new CliError('Give the store once: either as an argument or with --store.', EXIT.USAGE);
	}
	const url = options.store ?? positional;
	if (url === undefined) throw new CliError('studio needs a store: flue-persist studio --store sqlite:./data/sessions.db', EXIT.USAGE);
	const port = Number(options.port);
	if (!/^\d+$/.test(options.port) || port > 65535) throw new CliError(`--port must be a whole number from 0 to 65535 (got ${JSON.stringify(options.port)}).`, EXIT.USAGE);
	const allowDelete = options.allowDelete === true;

	await withStore(io, url, allowDelete ? 'modify' : 'read', options, async (opened) => {
		let server: Studio;
		try {
			server = await startStudio({ source: studioSource(opened), host: options.host, port, allowDelete });
		} catch (error) {
			const code = (error as { code?: unknown }).code;
			if (code === 'EADDRINUSE') throw new CliError(`Port ${port} on ${options.host} is in use. Pick another with --port, or --port 0 for a free one.`);
			if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new CliError(`Cannot listen on ${options.host}: it is not an address of this machine.`);
			if (code === 'EACCES') throw new CliError(`Not allowed to listen on port ${port} of ${options.host}. Pick a port above 1023 with --port.`);
			throw error;
		}
		try {
			io.err(`flue-persist studio: ${opened.describe}\n${allowDelete ? 'Deletes are allowed (the page asks before each one).' : 'Read-only: start with --allow-delete to delete sessions from the page.'}\n`);
			if (server.host !== '127.0.0.1' && server.host !== 'localhost' && server.host !== '::1') {
				io.err(`Listening on ${server.host}: anyone who can reach this machine and has the URL below can ${allowDelete ? 'read and delete' : 'read'} these sessions.\n`);
			}
			io.out(`${server.url}\n`);
			if (options.open) {
				if (!openInBrowser(server.url)) io.err('Could not start a browser; open the URL above yourself.\n');
			}
			io.err(`Press Ctrl-C to stop. To see this store again: flue-persist studio --store ${shellQuote(redactUrl(url))}\n`);
			await new Promise<void>((resolve) => {
				const dispose = terminalOf(io).onInterrupt(() => {
					dispose();
					resolve();
				});
			});
		} finally {
			await server.close();
		}
		io.err('Stopped.\n');
	});
}
