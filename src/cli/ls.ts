/** `flue-persist ls <store>`: the sessions of a store, with their last write time and size. */
import { Command, Option } from 'commander';
import { columns, count, escapeText, formatBytes, formatTime, parseSince } from '../tools/format.js';
import type { SessionListItem } from '../types.js';
import { lsFlue2 } from './flue2/ls.js';
import { runIfFlue2 } from './flue2/open.js';
import { CliError, type CliIo, EXIT } from './program.js';
import { type StoreFlags, storeOptions, terminalOf, withStore } from './session-io.js';

interface LsOptions extends StoreFlags {
	agent?: string;
	prefix?: string;
	since?: string;
	sort: 'id' | 'time' | 'size';
	reverse?: boolean;
	limit?: string;
	json?: boolean;
}

/** The `ls` command. */
export function lsCommand(io: CliIo): Command {
	const command = new Command('ls')
		.summary('list the sessions of a store')
		.description('List the sessions of a store: id, last write time (UTC) and stored size.')
		.argument('<store>', 'store URL: sqlite:<file>, postgres://…, mysql://… (Flue 2), d1:<dir>, do:<dir>')
		.option('--prefix <prefix>', 'only sessions (Flue 2: instances) whose id starts with this')
		.option('--agent <name>', 'Flue 2 databases: only the instances of this agent')
		.option('--since <when>', 'only sessions written since then: a date (2026-01-31) or a duration before now (7d, 12h)')
		.addOption(new Option('--sort <key>', 'order by id, time (newest first) or size (largest first)').choices(['id', 'time', 'size']).default('id'))
		.option('--reverse', 'reverse the order')
		.option('--limit <n>', 'show at most n sessions (after sorting)')
		.option('--json', 'print a JSON array of { id, updatedAt, bytes }');
	return storeOptions(command)
		.addHelpText(
			'after',
			'\nExamples:\n  flue-persist ls sqlite:./data/sessions.db --sort time --limit 20\n  flue-persist ls postgres://localhost/app --prefix support- --since 7d --json',
		)
		.action((store: string, options: LsOptions) => ls(io, store, options));
}

async function ls(io: CliIo, url: string, options: LsOptions): Promise<void> {
	const now = terminalOf(io).now();
	let since: number | null = null;
	if (options.since !== undefined) {
		since = parseSince(options.since, now);
		if (since === null)
			throw new CliError(`--since ${JSON.stringify(options.since)} is neither a date (2026-01-31) nor a duration (7d, 12h, 90m).`, EXIT.USAGE);
	}
	let limit: number | undefined;
	if (options.limit !== undefined) {
		limit = Number(options.limit);
		if (!Number.isInteger(limit) || limit < 1)
			throw new CliError(`--limit must be a whole number of 1 or more (got ${JSON.stringify(options.limit)}).`, EXIT.USAGE);
	}
	// Flue 2 databases are read by src/cli/flue2 (one row per agent instance).
	const flue2 = { agent: options.agent, prefix: options.prefix, since, sort: options.sort, reverse: options.reverse, limit, json: options.json };
	if (await runIfFlue2(io, url, (db) => lsFlue2(io, db, flue2), { flags: options })) return;
	if (options.agent !== undefined)
		throw new CliError('--agent applies to Flue 2 databases only; this store holds flue-persist sessions. Use --prefix.', EXIT.USAGE);
	await withStore(io, url, 'read', options, async ({ store }) => {
		const sessions: SessionListItem[] = [];
		for await (const s of store.listAll({ prefix: options.prefix ?? '' })) if (since === null || Date.parse(s.updatedAt) >= since) sessions.push(s);
		if (options.sort === 'time') sessions.sort((a, b) => Date.parse(b.updatedAt) - Date.parse(a.updatedAt) || (a.id < b.id ? -1 : 1));
		else if (options.sort === 'size') sessions.sort((a, b) => b.bytes - a.bytes || (a.id < b.id ? -1 : 1));
		if (options.reverse) sessions.reverse();
		const shown = limit === undefined ? sessions : sessions.slice(0, limit);
		if (options.json) {
			io.out(`${JSON.stringify(shown, null, 2)}\n`);
			return;
		}
		const total = shown.reduce((n, s) => n + s.bytes, 0);
		const rows = [['ID', 'UPDATED', 'SIZE'], ...shown.map((s) => [escapeText(s.id), formatTime(s.updatedAt), formatBytes(s.bytes)])];
		const more = shown.length < sessions.length ? ` (of ${sessions.length.toLocaleString('en-US')})` : '';
		io.out(`${shown.length > 0 ? `${columns(rows, [2])}\n` : ''}${count(shown.length, 'session')}${more}, ${formatBytes(total)}\n`);
	});
}
