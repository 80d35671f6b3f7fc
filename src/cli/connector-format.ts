/**
 * The connector file format, shared by the build step that indexes `connectors/*.md` and by the
 * CLI that reads a connector at run time (bundled or fetched from a registry).
 *
 * A connector is Markdown for a coding agent, in the format Flue's `flue add` uses: JSON
 * frontmatter between `---` lines, then the body. `<category>--<slug>.md` is a named connector;
 * `<category>.md` with `"root": true` is the category root, which carries a `{{URL}}` placeholder.
 */

/** One named connector, as the index keeps it. */
export interface ConnectorEntry {
	readonly slug: string;
	readonly category: string;
	readonly website: string;
	readonly aliases: readonly string[];
	/** Source file name under `connectors/`. */
	readonly file: string;
	/** The Markdown an agent reads: the file without its frontmatter. */
	readonly body: string;
}

/** The root of a category: instructions to build a connector of that category from scratch. */
export interface CategoryRootEntry {
	readonly category: string;
	readonly file: string;
	/** The Markdown an agent reads, with the `{{URL}}` placeholder still in it. */
	readonly body: string;
}

/** Every connector the package ships, checked at build time. */
export interface ConnectorIndex {
	readonly connectors: readonly ConnectorEntry[];
	readonly categoryRoots: readonly CategoryRootEntry[];
}

/** A connector file that breaks the format. The message names the file and the fix. */
export class ConnectorFormatError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'ConnectorFormatError';
	}
}

/** The placeholder a category root carries for the URL the user passes. */
export const URL_PLACEHOLDER = '{{URL}}';

/**
 * The sections of a named connector's body, in order. They follow the structure Flue's connectors
 * use, so a coding agent that has installed one Flue connector knows where to look in this one.
 */
export const REQUIRED_SECTIONS = [
	'What it does',
	'Where to write the file',
	'The file',
	'Dependencies',
	'Credentials',
	'Schema',
	'Wiring it into an agent',
	'Verify',
] as const;

const NAME = /^[a-z0-9][a-z0-9-]*$/;
const FRONTMATTER_KEYS = new Set(['category', 'website', 'aliases', 'root']);

/** Where a store file goes in a project that keeps its Flue sources in `.flue/`. */
function storeFilePath(slug: string): string {
	return `.flue/persist/${slug}.ts`;
}

/** Splits `---\n{json}\n---\n` off the top of a connector file. */
function splitFrontmatter(source: string, file: string): { frontmatter: unknown; body: string } {
	if (!source.startsWith('---\n')) throw new ConnectorFormatError(`${file}: the file must start with JSON frontmatter between two "---" lines.`);
	const end = source.indexOf('\n---\n', 3);
	if (end < 0) throw new ConnectorFormatError(`${file}: the frontmatter is not closed; add a "---" line after the JSON.`);
	let frontmatter: unknown;
	try {
		frontmatter = JSON.parse(source.slice(4, end));
	} catch (cause) {
		throw new ConnectorFormatError(`${file}: the frontmatter is not valid JSON (${(cause as Error).message}).`);
	}
	return { frontmatter, body: source.slice(end + 5).replace(/^\n+/, '') };
}

/**
 * The Markdown an agent should read. A registry that serves the raw file (frontmatter and all)
 * works as well as one that strips it, the way Flue's registry does.
 */
export function stripFrontmatter(source: string): string {
	if (!source.startsWith('---\n')) return source;
	const end = source.indexOf('\n---\n', 3);
	return end < 0 ? source : source.slice(end + 5).replace(/^\n+/, '');
}

/** The fenced code blocks of a Markdown text, with their info strings and exact contents. */
function fences(markdown: string): Array<{ info: string; content: string }> {
	const out: Array<{ info: string; content: string }> = [];
	const lines = markdown.split('\n');
	let offset = 0;
	let open: { ticks: number; info: string; start: number } | null = null;
	for (const line of lines) {
		const next = offset + line.length + 1;
		if (open === null) {
			const m = /^(`{3,})(.*)$/.exec(line);
			if (m) open = { ticks: m[1]!.length, info: m[2]!.trim(), start: next };
		} else {
			const m = /^(`{3,})\s*$/.exec(line);
			if (m && m[1]!.length >= open.ticks) {
				out.push({ info: open.info, content: markdown.slice(open.start, offset) });
				open = null;
			}
		}
		offset = next;
	}
	return out;
}

/**
 * The store file a named connector carries: the one code block whose info string is
 * `ts title=".flue/persist/<slug>.ts"`. Its content is the file, byte for byte.
 */
export function extractStoreFile(body: string, slug: string, file = `${slug}.md`): { path: string; content: string } {
	const path = storeFilePath(slug);
	const info = `ts title="${path}"`;
	const blocks = fences(body).filter((f) => f.info === info);
	if (blocks.length !== 1) throw new ConnectorFormatError(`${file}: expected exactly one code block opened with \`\`\`${info} (found ${blocks.length}).`);
	return { path, content: blocks[0]!.content };
}

/** The one `npm install …` line of a named connector's Dependencies section. */
export function extractInstallCommand(body: string, file = 'connector'): string {
	const lines = fences(body)
		.filter((f) => f.info === 'sh' || f.info === 'bash')
		.flatMap((f) => f.content.split('\n'))
		.filter((l) => l.startsWith('npm install '));
	if (lines.length !== 1) throw new ConnectorFormatError(`${file}: expected exactly one "npm install …" line in a sh code block (found ${lines.length}).`);
	return lines[0]!.trim();
}

/** The first TypeScript block of the "Wiring it into an agent" section: how an agent uses the store. */
export function extractWiringSnippet(body: string, file = 'connector'): string {
	const at = body.indexOf('\n## Wiring it into an agent\n');
	const block = at < 0 ? undefined : fences(body.slice(at)).find((f) => f.info === 'ts');
	if (!block)
		throw new ConnectorFormatError(`${file}: the section "## Wiring it into an agent" needs a \`\`\`ts code block showing an agent that uses the store.`);
	return block.content;
}

/** The level-2 headings of a Markdown text, outside code blocks. */
function sections(body: string): string[] {
	const out: string[] = [];
	let inFence = 0;
	for (const line of body.split('\n')) {
		const tick = /^(`{3,})/.exec(line);
		if (tick) {
			if (inFence === 0) inFence = tick[1]!.length;
			else if (/^`{3,}\s*$/.test(line) && tick[1]!.length >= inFence) inFence = 0;
			continue;
		}
		if (inFence === 0 && line.startsWith('## ')) out.push(line.slice(3).trim());
	}
	return out;
}

type Parsed = { kind: 'connector'; entry: ConnectorEntry } | { kind: 'root'; entry: CategoryRootEntry };

/** Parses and checks one connector file; `file` is its name, e.g. `persist--sqlite.md`. */
export function parseConnectorFile(file: string, source: string): Parsed {
	if (!file.endsWith('.md')) throw new ConnectorFormatError(`${file}: a connector file name ends in ".md".`);
	if (source.includes('\r')) throw new ConnectorFormatError(`${file}: use LF line endings; the store file in it must match its example byte for byte.`);
	const { frontmatter, body } = splitFrontmatter(source, file);
	if (typeof frontmatter !== 'object' || frontmatter === null || Array.isArray(frontmatter))
		throw new ConnectorFormatError(`${file}: the frontmatter must be a JSON object.`);
	const fm = frontmatter as Record<string, unknown>;
	for (const key of Object.keys(fm)) {
		if (!FRONTMATTER_KEYS.has(key))
			throw new ConnectorFormatError(`${file}: unknown frontmatter field "${key}"; the fields are category, website, aliases and root.`);
	}
	if (typeof fm.category !== 'string' || !NAME.test(fm.category))
		throw new ConnectorFormatError(`${file}: frontmatter "category" must be a lower-case name such as "persist".`);
	const category = fm.category;
	const stem = file.slice(0, -3);
	const sep = stem.indexOf('--');

	if (sep < 0) {
		if (fm.root !== true) throw new ConnectorFormatError(`${file}: a file named "<category>.md" is a category root and needs "root": true.`);
		if (stem !== category) throw new ConnectorFormatError(`${file}: a category root must be named "${category}.md" after its category.`);
		if (fm.aliases !== undefined || fm.website !== undefined) throw new ConnectorFormatError(`${file}: a category root has no "website" or "aliases".`);
		if (!body.includes(URL_PLACEHOLDER)) throw new ConnectorFormatError(`${file}: a category root must contain the ${URL_PLACEHOLDER} placeholder.`);
		return { kind: 'root', entry: { category, file, body } };
	}

	if (fm.root !== undefined) throw new ConnectorFormatError(`${file}: only a category root ("${category}.md") has "root"; remove it.`);
	const fileCategory = stem.slice(0, sep);
	const slug = stem.slice(sep + 2);
	if (fileCategory !== category)
		throw new ConnectorFormatError(`${file}: the file name says category "${fileCategory}" but the frontmatter says "${category}".`);
	if (!NAME.test(slug)) throw new ConnectorFormatError(`${file}: the name after "--" must be lower-case letters, digits and dashes.`);
	if (typeof fm.website !== 'string') throw new ConnectorFormatError(`${file}: frontmatter "website" is required for a named connector.`);
	let website: URL;
	try {
		website = new URL(fm.website);
	} catch {
		throw new ConnectorFormatError(`${file}: frontmatter "website" is not a URL (${JSON.stringify(fm.website)}).`);
	}
	if (website.protocol !== 'https:') throw new ConnectorFormatError(`${file}: frontmatter "website" must be an https URL.`);
	const aliases = fm.aliases ?? [];
	if (!Array.isArray(aliases) || aliases.some((a) => typeof a !== 'string' || a.trim() === '' || a.trim() !== a)) {
		throw new ConnectorFormatError(`${file}: frontmatter "aliases" must be an array of non-empty strings without surrounding spaces.`);
	}
	if (body.includes(URL_PLACEHOLDER)) throw new ConnectorFormatError(`${file}: only a category root has the ${URL_PLACEHOLDER} placeholder.`);
	const have = sections(body);
	let at = 0;
	for (const wanted of REQUIRED_SECTIONS) {
		const found = have.indexOf(wanted, at);
		if (found < 0) throw new ConnectorFormatError(`${file}: missing the section "## ${wanted}" (the sections, in order: ${REQUIRED_SECTIONS.join(', ')}).`);
		at = found + 1;
	}
	extractStoreFile(body, slug, file);
	extractInstallCommand(body, file);
	extractWiringSnippet(body, file);
	return { kind: 'connector', entry: { slug, category, website: fm.website, aliases: aliases as string[], file, body } };
}

/**
 * Parses every connector file and checks them together: each name a user can type (slug, alias,
 * category) resolves to one connector only, ignoring case, since `add` falls back to a
 * case-insensitive match.
 */
export function buildConnectorIndex(files: ReadonlyArray<{ name: string; source: string }>): ConnectorIndex {
	const connectors: ConnectorEntry[] = [];
	const categoryRoots: CategoryRootEntry[] = [];
	const taken = new Map<string, { file: string; what: string; name: string }>();
	const claim = (name: string, file: string, what: string) => {
		const key = name.toLowerCase();
		const owner = taken.get(key);
		if (owner !== undefined) {
			throw new ConnectorFormatError(
				`${file}: ${what} "${name}" clashes with the ${owner.what} "${owner.name}" of ${owner.file}; every slug, alias and category must be unique, ignoring case.`,
			);
		}
		taken.set(key, { file, what, name });
	};
	for (const { name, source } of [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
		const parsed = parseConnectorFile(name, source);
		if (parsed.kind === 'root') {
			claim(parsed.entry.category, name, 'category');
			categoryRoots.push(parsed.entry);
		} else {
			claim(parsed.entry.slug, name, 'slug');
			for (const alias of parsed.entry.aliases) claim(alias, name, 'alias');
			connectors.push(parsed.entry);
		}
	}
	for (const c of connectors) {
		if (!categoryRoots.some((r) => r.category === c.category))
			throw new ConnectorFormatError(`${c.file}: category "${c.category}" has no root file "${c.category}.md".`);
	}
	return { connectors, categoryRoots };
}

/** The TypeScript module the build step writes: the whole index, Markdown included, as data. */
export function renderIndexModule(index: ConnectorIndex): string {
	const json = JSON.stringify(index, null, '\t');
	return [
		'// Generated by scripts/build-connectors.ts from connectors/*.md. Do not edit: change the Markdown and run `npm run build:connectors`.',
		"import type { ConnectorIndex } from './connector-format.js';",
		'',
		'/** Every connector bundled with the package, so that `add` works offline. */',
		`export const CONNECTOR_INDEX: ConnectorIndex = ${json};`,
		'',
	].join('\n');
}
