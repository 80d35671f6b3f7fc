/**
 * The connector registry as the CLI sees it: name resolution, the listing, where the Markdown
 * comes from (the copy bundled in the package, or a registry named by FLUE_PERSIST_REGISTRY),
 * and whether a coding agent is the one running the command.
 */

import { existsSync } from 'node:fs';
import { closestMatches } from '../tools/format.js';
import { type CategoryRootEntry, type ConnectorEntry, type ConnectorIndex, stripFrontmatter } from './connector-format.js';
import { CONNECTOR_INDEX } from './connector-index.generated.js';

/** The environment variable that points `add` at a registry of connector Markdown. */
export const REGISTRY_ENV = 'FLUE_PERSIST_REGISTRY';

/** How long a registry gets to answer before `add` uses the bundled copy. */
const REGISTRY_TIMEOUT_MS = 10_000;

/** The command users type, as shown in listings and hints. */
export const BIN = 'flue-persist';

/**
 * Finds a connector by slug, then by alias, then by slug and by alias ignoring case: the order
 * `flue add` resolves names in.
 */
export function resolveConnector(name: string, index: ConnectorIndex = CONNECTOR_INDEX): ConnectorEntry | undefined {
	const { connectors } = index;
	const lower = name.toLowerCase();
	return (
		connectors.find((c) => c.slug === name) ??
		connectors.find((c) => c.aliases.includes(name)) ??
		connectors.find((c) => c.slug.toLowerCase() === lower) ??
		connectors.find((c) => c.aliases.some((a) => a.toLowerCase() === lower))
	);
}

/** The root of a category, by exact name. */
export function findCategoryRoot(category: string, index: ConnectorIndex = CONNECTOR_INDEX): CategoryRootEntry | undefined {
	return index.categoryRoots.find((r) => r.category === category);
}

/** The connector rows, padded into columns. */
function table(index: ConnectorIndex): string {
	const rows = index.connectors.map((c) => [`${BIN} add ${c.slug}`, c.category, c.website] as const);
	if (rows.length === 0) return '  (none)\n';
	const w0 = Math.max(...rows.map((r) => r[0].length));
	const w1 = Math.max(...rows.map((r) => r[1].length));
	return rows.map(([cmd, cat, site]) => `  ${cmd.padEnd(w0)}     ${cat.padEnd(w1)}     ${site}\n`).join('');
}

/** What `add` prints to stderr when it is given no name. */
export function renderListing(index: ConnectorIndex = CONNECTOR_INDEX): string {
	let out = `${BIN} add <name>\n\nAvailable connectors:\n${table(index)}`;
	out += `\nWrite a store file straight into your Flue project, no coding agent needed:\n\n  ${BIN} add <name> --write\n`;
	if (index.categoryRoots.length > 0) {
		out += `\nDon't see what you need?\n`;
		for (const root of index.categoryRoots) {
			out +=
				`\n  ${BIN} add <url> --category ${root.category}\n` +
				`    Build a ${root.category} connector for any database. Pass a URL to its driver's\n` +
				`    docs (homepage, API reference, repository) as the agent's starting point,\n` +
				`    and pipe the output to your coding agent.\n`;
		}
	}
	return out;
}

/** What `add` prints to stderr for a name that matches nothing. */
export function renderNotFound(name: string, index: ConnectorIndex = CONNECTOR_INDEX): string {
	const close = closestMatches(
		name.toLowerCase(),
		index.connectors.flatMap((c) => [c.slug, ...c.aliases]),
		1,
	);
	const hint = close.length > 0 ? ` Did you mean "${close[0]}"?` : '';
	let out = `Connector "${name}" not found.${hint}\n\nAvailable connectors:\n${table(index)}`;
	if (index.categoryRoots.length > 0) {
		out += '\nTo build one from scratch with your coding agent:\n';
		for (const root of index.categoryRoots) out += `  ${BIN} add <url> --category ${root.category}\n`;
	}
	return out;
}

/** Quotes a word for a POSIX shell when it needs it, so a printed command can be pasted as is. */
export function shellWord(word: string): string {
	return /^[A-Za-z0-9_./:@%+=,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** What `add` tells a person at a terminal: how to hand the instructions to a coding agent. */
export function renderHumanInstructions(command: string, writable: boolean): string {
	const npx = `npx ${command}`;
	let out = `${command}\n\nTo install this connector, pipe it to your coding agent:\n\n`;
	for (const agent of ['claude', 'codex', 'cursor-agent', 'opencode']) out += `  ${npx} --print | ${agent}\n`;
	out += `\nOr paste this prompt into any agent:\n\n  Run "${npx} --print" and follow the instructions.\n`;
	if (writable) out += `\nOr write the store file yourself, no agent needed:\n\n  ${npx} --write\n`;
	return out;
}

/**
 * The coding agent running this process, or undefined for a person at a terminal.
 *
 * The signals are those Flue's CLI relies on for `flue add` (it asks `@vercel/detect-agent` 1.2),
 * checked in the same order, so both CLIs agree on who is asking.
 */
export function detectCodingAgent(env: NodeJS.ProcessEnv, fileExists: (path: string) => boolean = existsSync): string | undefined {
	const explicit = env.AI_AGENT?.trim();
	if (explicit) return explicit === 'github-copilot-cli' ? 'github-copilot' : explicit;
	if (env.CURSOR_TRACE_ID) return 'cursor';
	if (env.CURSOR_AGENT || env.CURSOR_EXTENSION_HOST_ROLE === 'agent-exec') return 'cursor-cli';
	if (env.GEMINI_CLI) return 'gemini';
	if (env.CODEX_SANDBOX || env.CODEX_CI || env.CODEX_THREAD_ID) return 'codex';
	if (env.ANTIGRAVITY_AGENT) return 'antigravity';
	if (env.AUGMENT_AGENT) return 'augment-cli';
	if (env.OPENCODE === '1' || env.OPENCODE_CLIENT) return 'opencode';
	if (env.CLAUDECODE || env.CLAUDE_CODE) return env.CLAUDE_CODE_IS_COWORK ? 'cowork' : 'claude';
	if (env.REPL_ID) return 'replit';
	if (env.COPILOT_MODEL || env.COPILOT_ALLOW_ALL || env.COPILOT_GITHUB_TOKEN) return 'github-copilot';
	if (fileExists('/opt/.devin')) return 'devin';
	return undefined;
}

/** The Markdown of a connector and where it came from. */
export interface LoadedMarkdown {
	markdown: string;
	/** The registry URL it was read from, or undefined for the bundled copy. */
	url: string | undefined;
}

/**
 * Reads `<registry>/<name>.md` when FLUE_PERSIST_REGISTRY is set, else the bundled copy. A registry
 * that cannot be reached, answers with an error, or sends something that is not a connector
 * leaves the bundled copy in use, with a note on stderr: the command still does its job offline.
 */
export async function loadMarkdown(
	name: string,
	bundled: string,
	io: { env: NodeJS.ProcessEnv; warn(text: string): void; fetch?: typeof fetch },
): Promise<LoadedMarkdown> {
	const base = io.env[REGISTRY_ENV]?.trim();
	if (!base) return { markdown: bundled, url: undefined };
	const url = `${base.replace(/\/+$/, '')}/${encodeURIComponent(name)}.md`;
	let reason: string;
	try {
		const res = await (io.fetch ?? fetch)(url, { signal: AbortSignal.timeout(REGISTRY_TIMEOUT_MS), headers: { accept: 'text/markdown, text/plain;q=0.9' } });
		if (res.ok) {
			const markdown = stripFrontmatter(await res.text());
			if (markdown.trim().length > 0) return { markdown, url };
			reason = 'the response was empty';
		} else {
			reason = `HTTP ${res.status}`;
		}
	} catch (error) {
		const cause = (error as { cause?: { code?: string; message?: string } }).cause;
		reason = cause?.code ?? cause?.message ?? (error as Error).message;
	}
	io.warn(`[${BIN}] could not read ${url} (${reason}); using the copy bundled with this package.\n`);
	return { markdown: bundled, url: undefined };
}
