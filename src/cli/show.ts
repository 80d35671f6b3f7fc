/** `flue-persist show <store> <id>`: one session as a tree, or as stored with `--json`. */
import { Command } from 'commander';
import { TooLargeError } from '../errors.js';
import { closestMatches, escapeText } from '../tools/format.js';
import { redactUrl } from '../tools/open-store.js';
import { MAX_FORK_DEPTH, writeSessionTree } from '../tools/session-tree.js';
import { listIds } from '../tools/transfer.js';
import type { SessionData } from '../types.js';
import { runIfFlue2 } from './flue2/open.js';
import { showFlue2 } from './flue2/show.js';
import { CliError, type CliIo, EXIT } from './program.js';
import { type StoreFlags, shellQuote, storeOptions, withStore } from './session-io.js';

interface ShowOptions extends StoreFlags {
	json?: boolean;
	width?: string;
	from?: string;
	skip?: string;
	limit?: string;
}

/** The `show` command. */
export function showCommand(io: CliIo): Command {
	const command = new Command('show')
		.summary('show one session as a tree')
		.description(
			'Show a session as the tree Flue keeps: each entry with its id, branches drawn where an entry ' +
				'has several children, ● on the path to the leaf (○ off it), compactions as boundary lines, ' +
				`and each tool call folded with its result into one line. Branches nested deeper than ${MAX_FORK_DEPTH} ` +
				'forks are collapsed into one line each; --from draws one of them.\n\n--limit and --skip page ' +
				'through a long drawing.',
		)
		.argument('<store>', 'store URL: sqlite:<file>, postgres://…, mysql://… (Flue 2), d1:<dir>, do:<dir>')
		.argument('<id>', 'the session id (Flue 2: the instance id, or <agent>/<instance>)')
		.option('--json', 'print the session as stored, as JSON (Flue 2: the records and their fold)')
		.option('--width <columns>', 'cut lines to this many characters', '120')
		.option('--from <entry-id>', 'draw only the branch that starts at this entry')
		.option('--skip <entries>', 'leave out this many entries of the drawing first')
		.option('--limit <entries>', 'draw at most this many entries');
	return storeOptions(command).action((store: string, id: string, options: ShowOptions) => show(io, store, id, options));
}

function count(name: string, text: string | undefined, min: number): number | undefined {
	if (text === undefined) return undefined;
	const n = Number(text);
	if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min)
		throw new CliError(`--${name} must be a whole number of ${min} or more (got ${JSON.stringify(escapeText(text))}).`, EXIT.USAGE);
	return n;
}

async function show(io: CliIo, url: string, id: string, options: ShowOptions): Promise<void> {
	const width = count('width', options.width ?? '120', 40)!;
	const skip = count('skip', options.skip, 0);
	const limit = count('limit', options.limit, 1);
	// Flue 2 databases are read by src/cli/flue2 (one agent instance and its child tasks).
	if (await runIfFlue2(io, url, (db) => showFlue2(io, db, id, { json: options.json, width }), { flags: options })) return;
	await withStore(io, url, 'read', options, async ({ store, describe }) => {
		const data = await store.load(id);
		if (data === null) {
			// Flue's keys share long prefixes (agent-session:["agent","…), so a prefix of the id finds
			// nothing useful: name the stored ids closest to the one asked for.
			const close = closestMatches(id, await listIds(store), 5);
			const hint =
				close.length > 0
					? ` The closest ids there:\n\n${close.map((c) => `  flue-persist show ${escapeText(shellQuote(redactUrl(url)))} ${escapeText(shellQuote(c))}`).join('\n')}`
					: '';
			throw new CliError(
				`session "${escapeText(id)}" is not in ${escapeText(describe)}.${hint}\n\nList the sessions with: flue-persist ls ${escapeText(shellQuote(redactUrl(url)))}`,
				EXIT.ERROR,
			);
		}
		if (options.json) return writeJson(data, io.out);
		if (options.from !== undefined && !data.entries.some((e) => e?.id === options.from)) {
			throw new CliError(
				`entry "${escapeText(options.from)}" is not in session "${escapeText(id)}". Draw the session without --from to see its entry ids.`,
				EXIT.USAGE,
			);
		}
		let drawn: ReturnType<typeof writeSessionTree>;
		try {
			drawn = writeSessionTree(id, data, { width, from: options.from, skip, limit }, io.out);
		} catch (error) {
			// Nothing in the drawing grows past the width of a line, so this is a guard, not a path.
			if (error instanceof RangeError)
				throw new TooLargeError(
					`session "${escapeText(id)}" is too large to draw (${error.message}). Draw it in pages with --limit, or print it with --json.`,
					{ sessionId: id, cause: error },
				);
			throw error;
		}
		const end = (skip ?? 0) + drawn.printed;
		if (limit !== undefined && end < drawn.total) {
			const again = ['flue-persist show', shellQuote(redactUrl(url)), escapeText(shellQuote(id))];
			if (options.from !== undefined) again.push('--from', escapeText(shellQuote(options.from)));
			again.push('--skip', String(end), '--limit', String(limit));
			const n = (x: number) => x.toLocaleString('en-US');
			io.err(`Drew entries ${n((skip ?? 0) + 1)} to ${n(end)} of ${n(drawn.total)}. The next ones: ${again.join(' ')}\n`);
		}
	});
}

/**
 * `JSON.stringify(data, null, 2)` written entry by entry, so that a session whose pretty-printed
 * JSON would pass the longest string the runtime can build still prints, byte for byte the same.
 */
function writeJson(data: SessionData, write: (text: string) => void): void {
	const record = data as unknown as Record<string, unknown>;
	const indent = (text: string, by: string) => text.replace(/\n/g, `\n${by}`);
	const keys = Object.keys(record).filter((k) => record[k] !== undefined && typeof record[k] !== 'function' && typeof record[k] !== 'symbol');
	if (keys.length === 0) {
		write('{}\n');
		return;
	}
	write('{\n');
	keys.forEach((key, k) => {
		const value = record[key];
		const comma = k < keys.length - 1 ? ',' : '';
		if (key !== 'entries' || !Array.isArray(value) || value.length === 0) {
			write(`  ${JSON.stringify(key)}: ${indent(JSON.stringify(value, null, 2), '  ')}${comma}\n`);
			return;
		}
		write(`  ${JSON.stringify(key)}: [\n`);
		let chunk: string[] = [];
		value.forEach((entry: unknown, i) => {
			const text = JSON.stringify(entry === undefined || typeof entry === 'function' || typeof entry === 'symbol' ? null : entry, null, 2);
			chunk.push(`    ${indent(text, '    ')}${i < value.length - 1 ? ',' : ''}`);
			if (chunk.length >= 500) {
				write(`${chunk.join('\n')}\n`);
				chunk = [];
			}
		});
		if (chunk.length > 0) write(`${chunk.join('\n')}\n`);
		write(`  ]${comma}\n`);
	});
	write('}\n');
}
