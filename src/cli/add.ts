/**
 * `flue-persist add`: `flue add` for session stores. Prints a connector's instructions for a coding
 * agent (or tells a person how to pipe them to one), builds a store for any database from the
 * category root, and with `--write` puts the store file into the project without an agent.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { type ConnectorEntry, extractInstallCommand, extractStoreFile, extractWiringSnippet, URL_PLACEHOLDER } from './connector-format.js';
import { CONNECTOR_INDEX } from './connector-index.generated.js';
import {
	BIN,
	detectCodingAgent,
	findCategoryRoot,
	loadMarkdown,
	REGISTRY_ENV,
	renderHumanInstructions,
	renderListing,
	renderNotFound,
	resolveConnector,
	shellWord,
} from './connectors.js';
import { CliError, type CliIo, EXIT } from './program.js';

interface AddOptions {
	category?: string;
	print?: boolean;
	write?: string | true;
	force?: boolean;
}

/** The `add` command. */
export function addCommand(io: CliIo): Command {
	return new Command('add')
		.summary('install a session store connector (like `flue add`)')
		.description(
			'Print the instructions that let a coding agent add a durable session store to a Flue project, or write the store file yourself with --write. Without a name, list the connectors.',
		)
		.argument('[name]', 'connector slug or alias (e.g. sqlite); with --category, the URL of the database docs')
		.option('--category <category>', 'print the instructions to build a store of this category for any database, with <name> as the URL to start from')
		.option('--print', 'print the raw Markdown to stdout, even when no coding agent is detected')
		.addOption(
			new Option('--write [dir]', 'write the store file into the Flue project in dir (default: the current directory)').conflicts(['print', 'category']),
		)
		.option('--force', 'with --write, replace a store file that differs from the connector')
		.addHelpText(
			'after',
			`
Examples:
  ${BIN} add                                   list the connectors
  ${BIN} add postgres --print | claude         let a coding agent install the Postgres store
  ${BIN} add https://www.mongodb.com/docs/drivers/node/ --category persist --print | claude
  ${BIN} add sqlite --write                    write .flue/persist/sqlite.ts, no agent needed

The Markdown goes to stdout with --print, or when a coding agent runs the command (detected from
its environment: CLAUDECODE, CURSOR_AGENT, CODEX_SANDBOX, GEMINI_CLI, AI_AGENT, ...).
Everything else goes to stderr.

Environment:
  ${REGISTRY_ENV}   read <base>/<name>.md from this URL instead of the copy bundled with the
                          package; when it cannot be read, the bundled copy is used.
`,
		)
		.action((name: string | undefined, options: AddOptions) => add(io, name, options));
}

async function add(io: CliIo, name: string | undefined, options: AddOptions): Promise<void> {
	if (options.force && options.write === undefined) throw new CliError(`--force only applies with --write. Run "${BIN} add --help" for usage.`, EXIT.USAGE);
	const warn = (text: string) => io.err(text);
	const agentMode = () => options.print === true || detectCodingAgent(io.env) !== undefined;

	if (options.category !== undefined) {
		const category = options.category;
		if (!name) {
			throw new CliError(
				`\`${BIN} add --category ${category}\` needs a URL (or a path) as the agent's starting point: the docs of the database you want a store for.\n\n` +
					`Example:\n  npx ${BIN} add https://www.mongodb.com/docs/drivers/node/ --category ${category} --print | claude`,
			);
		}
		const root = findCategoryRoot(category);
		if (!root) {
			const known = CONNECTOR_INDEX.categoryRoots.map((r) => r.category).join(', ') || '(none)';
			throw new CliError(`[${BIN}] Unknown category "${category}". Known categories: ${known}.`);
		}
		const { markdown } = await loadMarkdown(root.category, root.body, { env: io.env, warn });
		if (agentMode()) return print(io, markdown.replaceAll(URL_PLACEHOLDER, name));
		io.err(renderHumanInstructions(`${BIN} add ${shellWord(name)} --category ${shellWord(category)}`, false));
		return;
	}

	if (!name) {
		if (options.write !== undefined) throw new CliError(`--write needs a connector name, e.g. "${BIN} add sqlite --write".`, EXIT.USAGE);
		io.err(renderListing());
		return;
	}

	const connector = resolveConnectorOrFail(name);
	const { markdown, url } = await loadMarkdown(connector.slug, connector.body, { env: io.env, warn });
	if (options.write !== undefined)
		return writeStoreFile(io, connector, url === undefined ? markdown : usableOrBundled(connector, markdown, url, warn), options.write, options.force === true);
	if (agentMode()) return print(io, markdown);
	io.err(renderHumanInstructions(`${BIN} add ${connector.slug}`, true));
}

function resolveConnectorOrFail(name: string): ConnectorEntry {
	const connector = resolveConnector(name);
	if (!connector) throw new CliError(renderNotFound(name));
	return connector;
}

function print(io: CliIo, markdown: string): void {
	io.out(markdown.endsWith('\n') ? markdown : `${markdown}\n`);
}

/** A registry copy must still carry a store file and an install line to be written from. */
function usableOrBundled(connector: ConnectorEntry, markdown: string, url: string, warn: (text: string) => void): string {
	try {
		extractStoreFile(markdown, connector.slug);
		extractInstallCommand(markdown);
		extractWiringSnippet(markdown);
		return markdown;
	} catch (error) {
		warn(`[${BIN}] ${url} has no usable store file (${(error as Error).message}); using the copy bundled with this package.\n`);
		return connector.body;
	}
}

/**
 * Where the store file goes. Flue reads sources from `.flue/` when that directory exists and from
 * the project root otherwise, and never mixes the two: creating `.flue/` in a project whose agents
 * sit in `agents/` would hide them from Flue, so such a project gets `persist/<slug>.ts`.
 */
function storeFileTarget(projectDir: string, slug: string): string {
	if (!existsSync(join(projectDir, '.flue')) && existsSync(join(projectDir, 'agents'))) return join(projectDir, 'persist', `${slug}.ts`);
	return join(projectDir, '.flue', 'persist', `${slug}.ts`);
}

function writeStoreFile(io: CliIo, connector: ConnectorEntry, markdown: string, dir: string | true, force: boolean): void {
	const projectDir = resolve(io.cwd, dir === true ? '.' : dir);
	if (!existsSync(projectDir) || !statSync(projectDir).isDirectory())
		throw new CliError(`[${BIN}] ${projectDir} is not a directory. Pass the root of your Flue project to --write.`);
	const { content } = extractStoreFile(markdown, connector.slug);
	const install = extractInstallCommand(markdown);
	const target = storeFileTarget(projectDir, connector.slug);
	const shown = relative(io.cwd, target);
	const display = shown && !shown.startsWith('..') && !isAbsolute(shown) ? shown : target;
	const again = `npx ${BIN} add ${connector.slug} --write${dir === true ? '' : ` ${shellWord(dir)}`}`;

	if (existsSync(target)) {
		if (readFileSync(target, 'utf8') === content) {
			io.out(`${display} is up to date with the ${connector.slug} connector.\n\nIts dependencies:\n\n  ${install}\n`);
			return;
		}
		if (!force) {
			throw new CliError(
				`[${BIN}] ${display} exists and differs from the store file of the ${connector.slug} connector ` +
					`(it was edited, or written by another version of ${BIN}). It was left as it is.\n` +
					`To replace it, run:\n\n  ${again} --force\n\n` +
					`To see what the connector would write, run:\n\n  npx ${BIN} add ${connector.slug} --print`,
			);
		}
	}
	mkdirSync(dirname(target), { recursive: true });
	// A new file is created exclusively ('wx'): a dangling link planted at its name is not followed.
	writeFileSync(target, content, { flag: existsSync(target) ? 'w' : 'wx' });
	const snippet = extractWiringSnippet(markdown)
		.split('\n')
		.map((line) => (line ? `  ${line}` : line))
		.join('\n');
	io.out(`Wrote ${display}\n\nInstall its dependencies:\n\n  ${install}\n\nThen pass the store to init() in your agents, for example:\n\n${snippet}`);
}
