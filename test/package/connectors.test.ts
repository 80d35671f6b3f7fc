/**
 * The connector Markdown and its generated index: the format checks, the name rules across files,
 * the committed index being current, and each connector's store file being the example that runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateIndexModule } from '../../scripts/build-connectors.js';
import {
	buildConnectorIndex,
	type ConnectorIndex,
	extractInstallCommand,
	extractStoreFile,
	extractWiringSnippet,
	parseConnectorFile,
	REQUIRED_SECTIONS,
	stripFrontmatter,
} from '../../src/cli/connector-format.js';
import { CONNECTOR_INDEX } from '../../src/cli/connector-index.generated.js';
import { resolveConnector } from '../../src/cli/connectors.js';
import { root } from '../support/paths.js';

const scratch = mkdtempSync(join(tmpdir(), 'flue-persist-connectors-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The example each connector's store file must equal, byte for byte. */
const EXAMPLE_FILES: Record<string, string> = {
	sqlite: 'examples/hello-world/.flue/persist/sqlite.ts',
	postgres: 'examples/hello-world/.flue/persist/postgres.ts',
	d1: 'examples/cloudflare/.flue/persist/d1.ts',
	'durable-object': 'examples/cloudflare/.flue/persist/durable-object.ts',
};

/** A named connector that passes every check; tests break one thing at a time. */
function validConnector(overrides: { frontmatter?: Record<string, unknown>; body?: string; slug?: string } = {}): string {
	const slug = overrides.slug ?? 'sqlite';
	const frontmatter = overrides.frontmatter ?? { category: 'persist', website: 'https://sqlite.org', aliases: ['better-sqlite3'] };
	const body =
		overrides.body ??
		[
			`# Add a store: ${slug}`,
			'',
			...REQUIRED_SECTIONS.flatMap((section) => {
				if (section === 'The file') return [`## ${section}`, '', `\`\`\`ts title=".flue/persist/${slug}.ts"`, 'export const store = 1;', '```', ''];
				if (section === 'Dependencies') return [`## ${section}`, '', '```sh', 'npm install flue-persist', '```', ''];
				if (section === 'Wiring it into an agent') return [`## ${section}`, '', '```ts', "import { store } from '../persist/x.js';", '```', ''];
				return [`## ${section}`, '', 'Text.', ''];
			}),
		].join('\n');
	return `---\n${JSON.stringify(frontmatter, null, 2)}\n---\n\n${body}`;
}

const validRoot = (category = 'persist') => `---\n{ "category": "${category}", "root": true }\n---\n\n# Build one\n\nStart at {{URL}}.\n`;

const rejects = (file: string, source: string, message: RegExp) => expect(() => parseConnectorFile(file, source)).toThrow(message);

describe('the connector index', () => {
	it('is up to date with connectors/*.md (run `npm run build:connectors` after editing a connector)', () => {
		const committed = readFileSync(join(root, 'src/cli/connector-index.generated.ts'), 'utf8');
		expect(generateIndexModule(join(root, 'connectors'))).toBe(committed);
	});

	it('the build script in --check mode agrees that it is up to date', () => {
		const tsx = join(root, 'node_modules/.bin/tsx');
		const ok = spawnSync(tsx, ['scripts/build-connectors.ts', '--check'], { cwd: root, encoding: 'utf8' });
		expect(ok.stderr).toContain('up to date');
		expect(ok.status).toBe(0);
	});

	it('lists the four stores and the persist category root, with the Markdown of each without its frontmatter', () => {
		expect(CONNECTOR_INDEX.connectors.map((c) => c.slug)).toEqual(['d1', 'durable-object', 'postgres', 'sqlite']);
		expect(CONNECTOR_INDEX.categoryRoots.map((r) => r.category)).toEqual(['persist']);
		for (const entry of [...CONNECTOR_INDEX.connectors, ...CONNECTOR_INDEX.categoryRoots]) {
			const source = readFileSync(join(root, 'connectors', entry.file), 'utf8');
			expect(source.startsWith('---\n{')).toBe(true);
			expect(entry.body.startsWith('# ')).toBe(true);
			expect(entry.body).toBe(stripFrontmatter(source));
		}
		expect(CONNECTOR_INDEX.categoryRoots[0]!.body).toContain('{{URL}}');
	});

	it("each connector's store file is byte-identical to its example under examples/", () => {
		for (const connector of CONNECTOR_INDEX.connectors) {
			const example = EXAMPLE_FILES[connector.slug];
			expect(example, `no example registered for ${connector.slug}`).toBeDefined();
			const { path, content } = extractStoreFile(connector.body, connector.slug);
			expect(path).toBe(`.flue/persist/${connector.slug}.ts`);
			expect(content).toBe(readFileSync(join(root, example!), 'utf8'));
		}
	});

	it('each connector names the exact install line and shows an agent that uses its store', () => {
		const installs = Object.fromEntries(CONNECTOR_INDEX.connectors.map((c) => [c.slug, extractInstallCommand(c.body)]));
		expect(installs).toEqual({
			d1: 'npm install flue-persist',
			'durable-object': 'npm install flue-persist',
			postgres: 'npm install flue-persist pg@8',
			sqlite: 'npm install flue-persist better-sqlite3@12',
		});
		for (const c of CONNECTOR_INDEX.connectors) expect(extractWiringSnippet(c.body)).toContain(`'../persist/${c.slug}.js'`);
	});
});

describe('connector file checks', () => {
	it('accepts a valid named connector and a valid category root', () => {
		const named = parseConnectorFile('persist--sqlite.md', validConnector());
		expect(named.kind).toBe('connector');
		expect(named.entry).toMatchObject({ slug: 'sqlite', category: 'persist', website: 'https://sqlite.org', aliases: ['better-sqlite3'] });
		const rootEntry = parseConnectorFile('persist.md', validRoot());
		expect(rootEntry).toMatchObject({ kind: 'root', entry: { category: 'persist' } });
	});

	it('rejects a file without frontmatter, with unclosed frontmatter, or with frontmatter that is not a JSON object', () => {
		rejects('persist--sqlite.md', '# no frontmatter\n', /must start with JSON frontmatter/);
		rejects('persist--sqlite.md', '---\n{ "category": "persist" }\n# body\n', /not closed/);
		rejects('persist--sqlite.md', '---\ncategory: persist\n---\n', /not valid JSON/);
		rejects('persist--sqlite.md', '---\n["persist"]\n---\n', /must be a JSON object/);
	});

	it('rejects unknown frontmatter fields and a missing or malformed category', () => {
		rejects(
			'persist--sqlite.md',
			validConnector({ frontmatter: { category: 'persist', website: 'https://sqlite.org', alias: ['x'] } }),
			/unknown frontmatter field "alias"/,
		);
		rejects('persist--sqlite.md', validConnector({ frontmatter: { website: 'https://sqlite.org' } }), /"category" must be/);
		rejects('persist--sqlite.md', validConnector({ frontmatter: { category: 'Persist Stores', website: 'https://sqlite.org' } }), /"category" must be/);
	});

	it('rejects a named connector whose file name and frontmatter disagree, or that has no https website', () => {
		rejects('sandbox--sqlite.md', validConnector(), /file name says category "sandbox"/);
		rejects('persist--sqlite.md', validConnector({ frontmatter: { category: 'persist' } }), /"website" is required/);
		rejects('persist--sqlite.md', validConnector({ frontmatter: { category: 'persist', website: 'sqlite.org' } }), /not a URL/);
		rejects('persist--sqlite.md', validConnector({ frontmatter: { category: 'persist', website: 'http://sqlite.org' } }), /must be an https URL/);
		rejects('persist--sqlite.md', validConnector({ frontmatter: { category: 'persist', website: 'https://sqlite.org', root: true } }), /only a category root/);
		rejects('persist--SQLite.md', validConnector({ slug: 'SQLite' }), /lower-case letters/);
	});

	it('rejects aliases that are not a list of non-empty, trimmed strings', () => {
		for (const aliases of ['pg', [''], [' pg'], [3]]) {
			rejects(
				'persist--sqlite.md',
				validConnector({ frontmatter: { category: 'persist', website: 'https://sqlite.org', aliases } }),
				/"aliases" must be an array/,
			);
		}
	});

	it('rejects a category root without "root": true, named after another category, with a website, or without {{URL}}', () => {
		rejects('persist.md', '---\n{ "category": "persist" }\n---\nAt {{URL}}\n', /needs "root": true/);
		rejects('persist.md', validRoot('sandbox'), /must be named "sandbox.md"/);
		rejects('persist.md', '---\n{ "category": "persist", "root": true, "website": "https://x.dev" }\n---\nAt {{URL}}\n', /no "website" or "aliases"/);
		rejects('persist.md', '---\n{ "category": "persist", "root": true }\n---\nNo placeholder.\n', /must contain the \{\{URL\}\} placeholder/);
	});

	it('rejects a named connector that misses a section of the body structure or has them out of order', () => {
		rejects('persist--sqlite.md', validConnector().replace('## Credentials\n', '## Secrets\n'), /missing the section "## Credentials"/);
		const swapped = validConnector().replace('## Schema', '## TEMP').replace('## Verify', '## Schema').replace('## TEMP', '## Verify');
		rejects('persist--sqlite.md', swapped, /missing the section/);
	});

	it('rejects a named connector without exactly one titled store file, one install line and an agent snippet', () => {
		rejects(
			'persist--sqlite.md',
			validConnector().replace('title=".flue/persist/sqlite.ts"', 'title="sqlite.ts"'),
			/exactly one code block opened with ```ts title=".flue\/persist\/sqlite.ts"/,
		);
		rejects(
			'persist--sqlite.md',
			validConnector().replace('npm install flue-persist', 'npm install flue-persist\nnpm install pg'),
			/exactly one "npm install …" line/,
		);
		rejects('persist--sqlite.md', validConnector().replace('```ts\nimport { store }', '```js\nimport { store }'), /needs a ```ts code block/);
		rejects('persist--sqlite.md', validConnector().replace('Text.', 'See {{URL}}.'), /only a category root has the \{\{URL\}\} placeholder/);
	});

	it('rejects CRLF line endings, which would break byte identity with the example', () => {
		rejects('persist--sqlite.md', validConnector().replaceAll('\n', '\r\n'), /LF line endings/);
	});

	it('extracts a store file exactly, even when it contains a shorter fence', () => {
		const body = '## The file\n\n````ts title=".flue/persist/x.ts"\n/** ```ts\n * x\n * ``` */\n\texport const x = 1;\n````\n';
		expect(extractStoreFile(body, 'x').content).toBe('/** ```ts\n * x\n * ``` */\n\texport const x = 1;\n');
	});
});

describe('names across connector files', () => {
	const root = { name: 'persist.md', source: validRoot() };

	it('rejects two connectors with the same slug, even in different categories', () => {
		const files = [
			root,
			{ name: 'other.md', source: validRoot('other') },
			{ name: 'persist--sqlite.md', source: validConnector() },
			{ name: 'other--sqlite.md', source: validConnector({ frontmatter: { category: 'other', website: 'https://x.dev' } }) },
		];
		expect(() => buildConnectorIndex(files)).toThrow(/persist--sqlite.md: slug "sqlite" clashes with the slug "sqlite" of other--sqlite.md/);
	});

	it("rejects an alias equal to another connector's slug, or to another alias ignoring case", () => {
		const pg = (aliases: string[]) => ({
			name: 'persist--postgres.md',
			source: validConnector({ slug: 'postgres', frontmatter: { category: 'persist', website: 'https://postgresql.org', aliases } }),
		});
		expect(() => buildConnectorIndex([root, { name: 'persist--sqlite.md', source: validConnector() }, pg(['sqlite'])])).toThrow(
			/persist--sqlite.md: slug "sqlite" clashes with the alias "sqlite" of persist--postgres.md/,
		);
		expect(() => buildConnectorIndex([root, { name: 'persist--sqlite.md', source: validConnector() }, pg(['Better-SQLite3'])])).toThrow(
			/persist--sqlite.md: alias "better-sqlite3" clashes with the alias "Better-SQLite3" of persist--postgres.md/,
		);
	});

	it("rejects an alias equal to the connector's own slug or to a category", () => {
		expect(() =>
			buildConnectorIndex([
				root,
				{ name: 'persist--sqlite.md', source: validConnector({ frontmatter: { category: 'persist', website: 'https://sqlite.org', aliases: ['sqlite'] } }) },
			]),
		).toThrow(/persist--sqlite.md: alias "sqlite" clashes with the slug "sqlite" of persist--sqlite.md/);
		expect(() =>
			buildConnectorIndex([
				root,
				{ name: 'persist--sqlite.md', source: validConnector({ frontmatter: { category: 'persist', website: 'https://sqlite.org', aliases: ['persist'] } }) },
			]),
		).toThrow(/persist.md: category "persist" clashes with the alias "persist" of persist--sqlite.md/);
	});

	it('rejects a connector whose category has no root file', () => {
		expect(() => buildConnectorIndex([{ name: 'persist--sqlite.md', source: validConnector() }])).toThrow(/category "persist" has no root file "persist.md"/);
	});

	it('the build fails on a connectors directory with a duplicate, naming both files', () => {
		const dir = mkdtempSync(join(scratch, 'dup-'));
		writeFileSync(join(dir, 'persist.md'), validRoot());
		writeFileSync(join(dir, 'persist--sqlite.md'), validConnector());
		writeFileSync(
			join(dir, 'persist--lite.md'),
			validConnector({ slug: 'lite', frontmatter: { category: 'persist', website: 'https://x.dev', aliases: ['sqlite'] } }),
		);
		expect(() => generateIndexModule(dir)).toThrow(/persist--sqlite.md: slug "sqlite" clashes with the alias "sqlite" of persist--lite.md/);
	});
});

describe('name resolution', () => {
	// Built by hand: the build forbids these collisions, but the order `flue add` resolves in is still the contract.
	const index: ConnectorIndex = {
		categoryRoots: [],
		connectors: [
			{ slug: 'alpha', category: 'persist', website: 'https://a.dev', aliases: ['beta'], file: 'a', body: '' },
			{ slug: 'beta', category: 'persist', website: 'https://b.dev', aliases: ['Gamma'], file: 'b', body: '' },
			{ slug: 'gamma', category: 'persist', website: 'https://c.dev', aliases: [], file: 'c', body: '' },
		],
	};

	it('tries the slug, then an alias, then the slug ignoring case, then an alias ignoring case', () => {
		expect(resolveConnector('beta', index)?.slug).toBe('beta');
		expect(resolveConnector('Gamma', index)?.slug).toBe('beta');
		expect(resolveConnector('GAMMA', index)?.slug).toBe('gamma');
		expect(resolveConnector('ALPHA', index)?.slug).toBe('alpha');
		expect(resolveConnector('delta', index)).toBeUndefined();
	});
});
