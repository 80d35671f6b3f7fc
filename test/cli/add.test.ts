/**
 * `flue-persist add`, run as a user runs it: a child process with its own environment and working
 * directory, checked on stdout, stderr and exit code.
 */

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractStoreFile } from '../../src/cli/connector-format.js';
import { CONNECTOR_INDEX } from '../../src/cli/connector-index.generated.js';
import { detectCodingAgent } from '../../src/cli/connectors.js';
import { markdownBlocks } from '../support/guide-blocks.js';
import { root, tsxLoader } from '../support/paths.js';
import { capture } from '../support/spawn.js';

const main = join(root, 'src/cli/main.ts');
const scratch = mkdtempSync(join(tmpdir(), 'flue-persist-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const bundled = (slug: string) => CONNECTOR_INDEX.connectors.find((c) => c.slug === slug)!.body;
const persistRoot = CONNECTOR_INDEX.categoryRoots.find((r) => r.category === 'persist')!.body;

/** Every variable that makes the CLI believe a coding agent runs it. */
const AGENT_VARIABLES = [
	'AI_AGENT',
	'CURSOR_TRACE_ID',
	'CURSOR_AGENT',
	'CURSOR_EXTENSION_HOST_ROLE',
	'GEMINI_CLI',
	'CODEX_SANDBOX',
	'CODEX_CI',
	'CODEX_THREAD_ID',
	'ANTIGRAVITY_AGENT',
	'AUGMENT_AGENT',
	'OPENCODE',
	'OPENCODE_CLIENT',
	'CLAUDECODE',
	'CLAUDE_CODE',
	'CLAUDE_CODE_IS_COWORK',
	'REPL_ID',
	'COPILOT_MODEL',
	'COPILOT_ALLOW_ALL',
	'COPILOT_GITHUB_TOKEN',
	'FLUE_PERSIST_REGISTRY',
];

interface Run {
	code: number | null;
	stdout: string;
	stderr: string;
}

/** Runs the CLI as a person at a terminal would (no coding agent in the environment) unless `env` says otherwise. */
function cli(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<Run> {
	const env: NodeJS.ProcessEnv = { ...process.env };
	for (const name of AGENT_VARIABLES) delete env[name];
	Object.assign(env, options.env);
	return capture(process.execPath, ['--import', tsxLoader, main, ...args], { cwd: options.cwd ?? scratch, env });
}

const listingRow = (slug: string, website: string) => new RegExp(`^  flue-persist add ${slug} +persist +${website.replace(/[.]/g, '\\.')}$`, 'm');

describe.concurrent('flue-persist add, listing and resolution', () => {
	it('with no name, lists every connector on stderr in columns, with how to build one, and exits 0', async ({ expect }) => {
		const run = await cli(['add']);
		expect(run.code).toBe(0);
		expect(run.stdout).toBe('');
		expect(run.stderr.startsWith('flue-persist add <name>\n\nAvailable connectors:\n')).toBe(true);
		for (const c of CONNECTOR_INDEX.connectors) expect(run.stderr).toMatch(listingRow(c.slug, c.website));
		const rows = run.stderr.split('\n').filter((l) => l.startsWith('  flue-persist add ') && l.includes('https://'));
		expect(rows).toHaveLength(CONNECTOR_INDEX.connectors.length);
		expect(new Set(rows.map((r) => r.indexOf('persist     https://'))).size).toBe(1);
		expect(run.stderr).toContain('flue-persist add <url> --category persist');
		expect(run.stderr).toContain('flue-persist add <name> --write');
	});

	it('an unknown name prints `Connector "<name>" not found.` and the listing on stderr, and exits 1', async ({ expect }) => {
		const run = await cli(['add', 'mongodb', '--print']);
		expect(run.code).toBe(1);
		expect(run.stdout).toBe('');
		expect(run.stderr.startsWith('Connector "mongodb" not found.\n\nAvailable connectors:\n')).toBe(true);
		for (const c of CONNECTOR_INDEX.connectors) expect(run.stderr).toMatch(listingRow(c.slug, c.website));
		expect(run.stderr).toContain('  flue-persist add <url> --category persist\n');
	});

	it('resolves a slug, an alias, and either ignoring case', async ({ expect }) => {
		const cases = [
			['postgres', 'postgres'],
			['pg', 'postgres'],
			['PostgreSQL', 'postgres'],
			['SQLite', 'sqlite'],
			['better-sqlite3', 'sqlite'],
			['DO', 'durable-object'],
		] as const;
		const runs = await Promise.all(cases.map(([name]) => cli(['add', name, '--print'])));
		cases.forEach(([name, slug], i) => {
			expect(runs[i]!.code, name).toBe(0);
			expect(runs[i]!.stdout, name).toBe(bundled(slug));
		});
	});
});

describe.concurrent('flue-persist add <name>: who gets the Markdown', () => {
	it('--print writes the raw Markdown, without frontmatter, to stdout and nothing else', async ({ expect }) => {
		const run = await cli(['add', 'postgres', '--print']);
		expect(run.code).toBe(0);
		expect(run.stdout).toBe(bundled('postgres'));
		expect(run.stdout.startsWith('# Add a Flue session store: Postgres\n')).toBe(true);
		expect(run.stderr).toBe('');
	});

	it('a person at a terminal gets, on stderr, how to pipe it to a coding agent, and stdout stays empty', async ({ expect }) => {
		const run = await cli(['add', 'sqlite']);
		expect(run.code).toBe(0);
		expect(run.stdout).toBe('');
		expect(run.stderr).toContain('npx flue-persist add sqlite --print | claude\n');
		expect(run.stderr).toContain('Run "npx flue-persist add sqlite --print" and follow the instructions.');
		expect(run.stderr).toContain('npx flue-persist add sqlite --write\n');
	});

	it('a coding agent detected from its environment gets the Markdown on stdout without --print', async ({ expect }) => {
		const envs: Array<Record<string, string>> = [
			{ CLAUDECODE: '1' },
			{ CURSOR_AGENT: '1' },
			{ CODEX_SANDBOX: 'seatbelt' },
			{ GEMINI_CLI: '1' },
			{ OPENCODE: '1' },
			{ AI_AGENT: 'my-agent' },
		];
		const runs = await Promise.all(envs.map((env) => cli(['add', 'd1'], { env })));
		envs.forEach((env, i) => {
			expect(runs[i]!.code, JSON.stringify(env)).toBe(0);
			expect(runs[i]!.stdout, JSON.stringify(env)).toBe(bundled('d1'));
		});
	});
});

describe.concurrent('flue-persist add <url> --category persist', () => {
	it('prints the category root with {{URL}} replaced by the argument', async ({ expect }) => {
		const url = 'https://www.mongodb.com/docs/drivers/node/current/';
		const run = await cli(['add', url, '--category', 'persist', '--print']);
		expect(run.code).toBe(0);
		expect(run.stdout).toBe(persistRoot.replaceAll('{{URL}}', url));
		expect(run.stdout).not.toContain('{{URL}}');
		expect(run.stdout).toContain(`\n${url}\n`);
	});

	it('tells a person how to pipe it, quoting an argument the shell would split', async ({ expect }) => {
		const run = await cli(['add', 'https://example.com/docs?a=1&b=2', '--category', 'persist']);
		expect(run.code).toBe(0);
		expect(run.stdout).toBe('');
		expect(run.stderr).toContain(`npx flue-persist add 'https://example.com/docs?a=1&b=2' --category persist --print | claude`);
	});

	it('an unknown category exits 1 and names the known ones', async ({ expect }) => {
		const run = await cli(['add', 'https://redis.io', '--category', 'cache', '--print']);
		expect(run.code).toBe(1);
		expect(run.stdout).toBe('');
		expect(run.stderr).toBe('[flue-persist] Unknown category "cache". Known categories: persist.\n');
	});

	it('--category without a URL exits 1 and shows an example', async ({ expect }) => {
		const run = await cli(['add', '--category', 'persist']);
		expect(run.code).toBe(1);
		expect(run.stderr).toContain('needs a URL');
		expect(run.stderr).toContain('--category persist --print | claude');
	});

	it('--category without its value is a usage error (exit 2)', async ({ expect }) => {
		const run = await cli(['add', '--category']);
		expect(run.code).toBe(2);
		expect(run.stderr).toContain("option '--category <category>' argument missing");
	});
});

describe.concurrent('the registry named by FLUE_PERSIST_REGISTRY', () => {
	let server: Server;
	let base: string;
	const requested: string[] = [];
	const served: Record<string, string> = {
		'/connectors/sqlite.md':
			'---\n{ "category": "persist", "website": "https://sqlite.org" }\n---\n\n# From the registry\n\n```ts title=".flue/persist/sqlite.ts"\nexport const fromRegistry = true;\n```\n\n```sh\nnpm install flue-persist better-sqlite3@13\n```\n\n## Wiring it into an agent\n\n```ts\nimport { store } from \'../persist/sqlite.js\';\n```\n',
		'/connectors/persist.md': '# Registry root\n\nBuild it from {{URL}}.\n',
		'/connectors/d1.md': '# A d1 page without a store file\n',
	};

	beforeAll(async () => {
		server = createServer((req, res) => {
			requested.push(req.url ?? '');
			const body = served[req.url ?? ''];
			if (body === undefined) res.writeHead(404).end('not found');
			else res.writeHead(200, { 'content-type': 'text/markdown' }).end(body);
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/connectors/`;
	});
	afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

	it('reads <base>/<slug>.md after resolving the name, and prints it without its frontmatter', async ({ expect }) => {
		const run = await cli(['add', 'better-sqlite3', '--print'], { env: { FLUE_PERSIST_REGISTRY: base } });
		expect(run.code).toBe(0);
		expect(requested).toContain('/connectors/sqlite.md');
		expect(run.stdout.startsWith('# From the registry\n')).toBe(true);
		expect(run.stderr).toBe('');
	});

	it('reads <base>/<category>.md for --category and fills {{URL}}', async ({ expect }) => {
		const run = await cli(['add', 'https://redis.io/docs', '--category', 'persist', '--print'], { env: { FLUE_PERSIST_REGISTRY: base } });
		expect(run.code).toBe(0);
		expect(run.stdout).toBe('# Registry root\n\nBuild it from https://redis.io/docs.\n');
	});

	it('falls back to the bundled copy, with a note on stderr, when the registry answers 404', async ({ expect }) => {
		const run = await cli(['add', 'postgres', '--print'], { env: { FLUE_PERSIST_REGISTRY: base } });
		expect(run.code).toBe(0);
		expect(run.stdout).toBe(bundled('postgres'));
		expect(run.stderr).toBe(`[flue-persist] could not read ${base}postgres.md (HTTP 404); using the copy bundled with this package.\n`);
	});

	it('falls back to the bundled copy, with a note on stderr, when the registry cannot be reached', async ({ expect }) => {
		const closed = createServer();
		await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
		const port = (closed.address() as AddressInfo).port;
		await new Promise<void>((resolve) => closed.close(() => resolve()));
		const run = await cli(['add', 'sqlite', '--print'], { env: { FLUE_PERSIST_REGISTRY: `http://127.0.0.1:${port}` } });
		expect(run.code).toBe(0);
		expect(run.stdout).toBe(bundled('sqlite'));
		expect(run.stderr).toMatch(
			new RegExp(`^\\[flue-persist\\] could not read http://127\\.0\\.0\\.1:${port}/sqlite\\.md \\(ECONNREFUSED\\); using the copy bundled`),
		);
	});

	it('--write takes the store file and the install line from the registry copy', async ({ expect }) => {
		const project = mkdtempSync(join(scratch, 'registry-write-'));
		const run = await cli(['add', 'sqlite', '--write'], { cwd: project, env: { FLUE_PERSIST_REGISTRY: base } });
		expect(run.code).toBe(0);
		expect(readFileSync(join(project, '.flue/persist/sqlite.ts'), 'utf8')).toBe('export const fromRegistry = true;\n');
		expect(run.stdout).toContain('  npm install flue-persist better-sqlite3@13\n');
	});

	it('--write uses the bundled copy, with a note, when the registry copy has no store file', async ({ expect }) => {
		const project = mkdtempSync(join(scratch, 'registry-fallback-'));
		const run = await cli(['add', 'd1', '--write'], { cwd: project, env: { FLUE_PERSIST_REGISTRY: base } });
		expect(run.code).toBe(0);
		expect(run.stderr).toContain(`[flue-persist] ${base}d1.md has no usable store file`);
		expect(readFileSync(join(project, '.flue/persist/d1.ts'), 'utf8')).toBe(extractStoreFile(bundled('d1'), 'd1').content);
	});
});

describe.concurrent('flue-persist add <name> --write', () => {
	const storeFile = (slug: string) => extractStoreFile(bundled(slug), slug).content;

	it('writes .flue/persist/<slug>.ts, prints the install line and how an agent uses it, and exits 0', async ({ expect }) => {
		const project = mkdtempSync(join(scratch, 'write-'));
		const run = await cli(['add', 'sqlite', '--write'], { cwd: project });
		expect(run.code).toBe(0);
		expect(readFileSync(join(project, '.flue/persist/sqlite.ts'), 'utf8')).toBe(storeFile('sqlite'));
		expect(run.stdout).toContain('Wrote .flue/persist/sqlite.ts\n');
		expect(run.stdout).toContain('\n  npm install flue-persist better-sqlite3@12\n');
		expect(run.stdout).toContain("  import { store } from '../persist/sqlite.js';\n");
		// The README shows the start of this output, up to its "…".
		const shown = markdownBlocks('README.md').find((b) => b.code.startsWith('$ npx flue-persist add sqlite --write\n'));
		expect(shown, 'the README block of add sqlite --write').toBeDefined();
		const printed = shown!.code.slice(shown!.code.indexOf('\n') + 1).replace(/ …\n$/, '');
		expect(printed.length).toBeGreaterThan(40);
		expect(run.stdout.startsWith(printed), `the README shows:\n${printed}\nadd printed:\n${run.stdout}`).toBe(true);
	});

	it('says a file that matches is up to date and exits 0', async ({ expect }) => {
		const project = mkdtempSync(join(scratch, 'same-'));
		expect((await cli(['add', 'postgres', '--write'], { cwd: project })).code).toBe(0);
		const again = await cli(['add', 'postgres', '--write'], { cwd: project });
		expect(again.code).toBe(0);
		expect(again.stdout).toContain('.flue/persist/postgres.ts is up to date');
		expect(again.stdout).toContain('npm install flue-persist pg@8');
	});

	it('refuses to overwrite a file the user changed (exit 1, file untouched) and replaces it with --force', async ({ expect }) => {
		const project = mkdtempSync(join(scratch, 'changed-'));
		const file = join(project, '.flue/persist/sqlite.ts');
		expect((await cli(['add', 'sqlite', '--write'], { cwd: project })).code).toBe(0);
		const edited = `${storeFile('sqlite')}// tuned by hand\n`;
		writeFileSync(file, edited);
		const refused = await cli(['add', 'sqlite', '--write'], { cwd: project });
		expect(refused.code).toBe(1);
		expect(refused.stderr).toContain('.flue/persist/sqlite.ts exists and differs from the store file of the sqlite connector');
		expect(refused.stderr).toContain('npx flue-persist add sqlite --write --force');
		expect(readFileSync(file, 'utf8')).toBe(edited);
		const forced = await cli(['add', 'sqlite', '--write', '--force'], { cwd: project });
		expect(forced.code).toBe(0);
		expect(readFileSync(file, 'utf8')).toBe(storeFile('sqlite'));
	});

	it('writes into the directory given to --write, resolved against the working directory', async ({ expect }) => {
		const parent = mkdtempSync(join(scratch, 'dir-'));
		mkdirSync(join(parent, 'app'));
		const run = await cli(['add', 'durable-object', '--write', 'app'], { cwd: parent });
		expect(run.code).toBe(0);
		expect(readFileSync(join(parent, 'app/.flue/persist/durable-object.ts'), 'utf8')).toBe(storeFile('durable-object'));
		expect(run.stdout).toContain('Wrote app/.flue/persist/durable-object.ts\n');
	});

	it('in a project with agents/ at its root and no .flue/, writes persist/<slug>.ts and creates no .flue/', async ({ expect }) => {
		const project = mkdtempSync(join(scratch, 'root-layout-'));
		mkdirSync(join(project, 'agents'));
		const run = await cli(['add', 'd1', '--write'], { cwd: project });
		expect(run.code).toBe(0);
		expect(readFileSync(join(project, 'persist/d1.ts'), 'utf8')).toBe(storeFile('d1'));
		expect(existsSync(join(project, '.flue'))).toBe(false);
	});

	it('exits 1 for a directory that does not exist, and for an unknown name', async ({ expect }) => {
		const missing = await cli(['add', 'sqlite', '--write', join(scratch, 'nope')]);
		expect(missing.code).toBe(1);
		expect(missing.stderr).toContain('is not a directory');
		const unknown = await cli(['add', 'redis', '--write']);
		expect(unknown.code).toBe(1);
		expect(unknown.stderr.startsWith('Connector "redis" not found.')).toBe(true);
	});
});

describe.concurrent('usage errors and help', () => {
	it('exits 2 on an unknown option, an extra argument, conflicting options, or a missing name', async ({ expect }) => {
		const cases = [
			['add', 'sqlite', '--bogus'],
			['add', 'sqlite', 'postgres'],
			['add', 'sqlite', '--write', '--print'],
			['add', 'x', '--category', 'persist', '--write'],
			['add', 'sqlite', '--force'],
			['add', '--write'],
			['frobnicate'],
			[],
		];
		const runs = await Promise.all(cases.map((args) => cli(args)));
		cases.forEach((args, i) => {
			expect(runs[i]!.code, args.join(' ')).toBe(2);
			expect(runs[i]!.stdout, args.join(' ')).toBe('');
			expect(runs[i]!.stderr.length, args.join(' ')).toBeGreaterThan(0);
		});
	});

	it('--help on the program and on add prints usage to stdout and exits 0; --version prints the version', async ({ expect }) => {
		const top = await cli(['--help']);
		expect(top.code).toBe(0);
		expect(top.stdout).toContain('Usage: flue-persist [options] [command]');
		expect(top.stdout).toContain('Exit codes: 0 ok, 1 error');
		const add = await cli(['add', '--help']);
		expect(add.code).toBe(0);
		for (const flag of ['--category <category>', '--print', '--write [dir]', '--force', 'FLUE_PERSIST_REGISTRY']) expect(add.stdout).toContain(flag);
		const version = await cli(['--version']);
		expect(version.code).toBe(0);
		expect(version.stdout).toBe(`${JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version}\n`);
	});
});

describe('coding agent detection', () => {
	const none = () => false;
	it('recognises the signals Flue uses, in its order, and nothing in a plain shell', () => {
		expect(detectCodingAgent({}, none)).toBeUndefined();
		expect(detectCodingAgent({ CLAUDECODE: '1' }, none)).toBe('claude');
		expect(detectCodingAgent({ CLAUDECODE: '1', CLAUDE_CODE_IS_COWORK: '1' }, none)).toBe('cowork');
		expect(detectCodingAgent({ CURSOR_TRACE_ID: 'x' }, none)).toBe('cursor');
		expect(detectCodingAgent({ CURSOR_EXTENSION_HOST_ROLE: 'agent-exec' }, none)).toBe('cursor-cli');
		expect(detectCodingAgent({ CODEX_THREAD_ID: 't' }, none)).toBe('codex');
		expect(detectCodingAgent({ OPENCODE: '0' }, none)).toBeUndefined();
		expect(detectCodingAgent({ OPENCODE_CLIENT: 'x' }, none)).toBe('opencode');
		expect(detectCodingAgent({ COPILOT_MODEL: 'x' }, none)).toBe('github-copilot');
		expect(detectCodingAgent({ AI_AGENT: 'github-copilot-cli' }, none)).toBe('github-copilot');
		expect(detectCodingAgent({ AI_AGENT: '  ', REPL_ID: 'r' }, none)).toBe('replit');
		expect(detectCodingAgent({ AI_AGENT: 'zed', CLAUDECODE: '1' }, none)).toBe('zed');
		expect(detectCodingAgent({}, (path) => path === '/opt/.devin')).toBe('devin');
	});
});
