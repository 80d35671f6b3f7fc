/**
 * `flue-persist studio --store <url>`: the sessions of a store in a browser, served on a local
 * address until Ctrl-C. Read-only unless started with `--allow-delete`; a Flue 2 database is
 * always read-only.
 */
import { Command } from 'commander';
import { type Flue2StudioSource, isFlue2Source } from '../studio/flue2.js';
import { type LaunchPage, launchInBrowser } from '../studio/open-browser.js';
import { type Studio, type StudioSource, startStudio, studioSource } from '../studio/server.js';
import { escapeText } from '../tools/format.js';
import { redactUrl } from '../tools/open-store.js';
import { runIfFlue2 } from './flue2/open.js';
import { flue2StudioSource } from './flue2/studio.js';
import { CliError, type CliIo, EXIT } from './program.js';
import { type StoreFlags, shellQuote, storeOptions, terminalOf, withStore } from './session-io.js';

interface StudioOptions extends StoreFlags {
	store?: string;
	port: string;
	host: string;
	open: boolean;
	allowDelete?: boolean;
}

/** The port the studio listens on unless told otherwise. */
const DEFAULT_STUDIO_PORT = 7483;

/** The `studio` command. */
export function studioCommand(io: CliIo): Command {
	const command = new Command('studio')
		.summary('look at sessions in a browser')
		.description(
			'Serve a page that shows the sessions of a store: the list (search, prefix, date, sort by time or\n' +
				'size), each session as its tree (branches, the path to the leaf, compactions, tool calls folded),\n' +
				'its size entry by entry, and what doctor finds. The page is read-only unless --allow-delete is given.\n\n' +
				'The URL printed carries a random token; every request without it is refused. The browser is opened\n' +
				'with a one-time link instead, through a file only you can read, so that the token never shows on a\n' +
				'command line. The server listens on 127.0.0.1 only, unless --host says otherwise, and runs until Ctrl-C.\n\n' +
				'On a Flue 2 database (sqlite:, postgres://, mysql://) it shows the agent instances instead: each\n' +
				'conversation as turns with its child tasks, how much of the stream is per-token delta records,\n' +
				'and what doctor finds. A Flue 2 database is only read: --allow-delete is refused.',
		)
		.argument('[store]', 'store URL, the same as --store')
		.option('--store <url>', 'store URL: sqlite:<file>, postgres://…, mysql://… (Flue 2), d1:<dir>, do:<dir>')
		.option('--port <n>', 'port to listen on; 0 picks a free one', String(DEFAULT_STUDIO_PORT))
		.option('--host <address>', 'address to listen on', '127.0.0.1')
		.option('--no-open', 'print the URL without opening a browser')
		.option('--allow-delete', 'let the page delete sessions (it asks before each one)');
	return storeOptions(command)
		.addHelpText(
			'after',
			'\nExamples:\n  flue-persist studio --store sqlite:./data/sessions.db\n  flue-persist studio --store postgres://localhost/app --port 0 --no-open',
		)
		.action((store: string | undefined, options: StudioOptions) => studio(io, store, options));
}

async function studio(io: CliIo, positional: string | undefined, options: StudioOptions): Promise<void> {
	if (positional !== undefined && options.store !== undefined && positional !== options.store) {
		throw new CliError('Give the store once: either as an argument or with --store.', EXIT.USAGE);
	}
	const url = options.store ?? positional;
	if (url === undefined) throw new CliError('studio needs a store: flue-persist studio --store sqlite:./data/sessions.db', EXIT.USAGE);
	const port = Number(options.port);
	if (!/^\d+$/.test(options.port) || port > 65535)
		throw new CliError(`--port must be a whole number from 0 to 65535 (got ${JSON.stringify(options.port)}).`, EXIT.USAGE);
	const allowDelete = options.allowDelete === true;

	// Flue 2 databases are read through src/cli/flue2; nothing on the page can change them.
	const flue2 = await runIfFlue2(
		io,
		url,
		async (db) => {
			if (allowDelete)
				throw new CliError(
					`${db.display} is a Flue 2 database: the studio only reads it, and --allow-delete does not apply. Nothing was changed; start the studio without it.`,
					EXIT.USAGE,
				);
			const source = flue2StudioSource(db);
			await serve(io, url, source, source.describe, options, port, false);
		},
		{ flags: options },
	);
	if (flue2) return;
	await withStore(io, url, allowDelete ? 'modify' : 'read', options, (opened) =>
		serve(io, url, studioSource(opened), opened.describe, options, port, allowDelete),
	);
}

/** Serves the page until Ctrl-C. */
async function serve(
	io: CliIo,
	url: string,
	source: StudioSource | Flue2StudioSource,
	describe: string,
	options: StudioOptions,
	port: number,
	allowDelete: boolean,
): Promise<void> {
	let server: Studio;
	try {
		server = await startStudio({ source, host: options.host, port, allowDelete });
	} catch (error) {
		const code = (error as { code?: unknown }).code;
		if (code === 'EADDRINUSE') throw new CliError(`Port ${port} on ${options.host} is in use. Pick another with --port, or --port 0 for a free one.`);
		if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new CliError(`Cannot listen on ${options.host}: it is not an address of this machine.`);
		if (code === 'EACCES') throw new CliError(`Not allowed to listen on port ${port} of ${options.host}. Pick a port above 1023 with --port.`);
		throw error;
	}
	let launched: LaunchPage | null = null;
	try {
		const mode = allowDelete
			? 'Deletes are allowed (the page asks before each one).'
			: isFlue2Source(source)
				? 'Read-only: the studio never changes a Flue 2 database.'
				: 'Read-only: start with --allow-delete to delete sessions from the page.';
		io.err(`flue-persist studio: ${escapeText(describe)}\n${mode}\n`);
		if (server.host !== '127.0.0.1' && server.host !== 'localhost' && server.host !== '::1') {
			io.err(
				`Listening on ${escapeText(server.host)}: anyone who can reach this machine and has the URL below can ${allowDelete ? 'read and delete' : 'read'} these sessions.\n`,
			);
		}
		io.out(`${server.url}\n`);
		if (options.open) {
			const launch = launchInBrowser(server.oneTimeUrl());
			launched = launch.page;
			if (!launch.opened) io.err('Could not start a browser; open the URL above yourself.\n');
		}
		io.err(`Press Ctrl-C to stop. To see this store again: flue-persist studio --store ${escapeText(shellQuote(redactUrl(url)))}\n`);
		await new Promise<void>((resolve) => {
			const dispose = terminalOf(io).onInterrupt(() => {
				dispose();
				resolve();
			});
		});
	} finally {
		launched?.remove();
		await server.close();
	}
	io.err('Stopped.\n');
}
