/**
 * The user guides' code blocks, run as printed against the real backends: TypeScript against
 * Postgres and against D1 inside workerd (miniflare), shell commands against real temporary
 * stores, SQL on the database it is written for, each after the steps the guide puts before it.
 *
 * Every fenced block of a guide is either claimed here by the test that runs it (or by another
 * test file, named in the claim), or carries `<!-- not run: <reason> -->` on the line before its
 * fence; the inventory test fails on any other block, so a new block cannot slip in unrun.
 * Transcripts (`$ <command>` lines with their output) are run in order and compared with the
 * printed output, numbers, times, checksums and spacing aside.
 *
 * What the test changes, and only that:
 * - a placeholder the guide names is replaced by the test's own value: its Postgres server for
 *   `postgres://user:password@host:5432/app` and for `postgres://postgres:$PGPASSWORD@localhost:5433/postgres?schema=agents`
 *   (with a schema of its own), said where the substitution is made;
 * - `flue-persist` resolves to this repository's source, through a `node_modules/flue-persist` in
 *   the scratch project whose exports point at `src/` (as an installed package's point at `dist/`);
 *   `node` gets tsx's loader through NODE_OPTIONS so that it can load that source;
 * - the guides' model, `anthropic/…`, is registered to a local fake model server (Flue's
 *   `registerProvider`), which answers `ACK: <the last message>`;
 * - `| claude` is not run: the test reads the Markdown a coding agent would be given;
 * - `flue-persist studio` gets `--port 0 --no-open`, so that it neither takes a fixed port nor
 *   starts a browser on the machine that runs the test;
 * - the damage `doctor` finds in docs/cli.md is planted by the test, which the guide does not show.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { registerProvider } from '@flue/sdk/app';
import Database from 'better-sqlite3';
import { build as esbuild } from 'esbuild';
import { Miniflare } from 'miniflare';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { d1Store } from '../../src/backends/d1/index.js';
import { postgresStore } from '../../src/backends/postgres/index.js';
import { sqliteStore } from '../../src/backends/sqlite/index.js';
import { addCommand } from '../../src/cli/add.js';
import { createProgram, runProgram } from '../../src/cli/program.js';
import { sessionCommands } from '../../src/cli/session-commands.js';
import type { SessionCliIo } from '../../src/cli/session-io.js';
import { studioCommand } from '../../src/cli/studio.js';
import { conversation, messageEntry } from '../../src/conformance/fixtures.js';
import { isFluePersistError } from '../../src/errors.js';
import { redactUrl } from '../../src/tools/open-store.js';
import type { SessionData, SessionStore } from '../../src/types.js';
import { scriptTerminal, startStudioCli } from '../support/cli.js';
import { COMPATIBILITY_DATE, COMPATIBILITY_FLAGS, testD1 } from '../support/cloudflare.js';
import { type FakeModel, sessionKey, startAgent, startFakeModel, transcript } from '../support/flue-harness.js';
import { installedSdkSpec, loadRelease } from '../support/flue-releases.js';
import { type GuideBlock, guideBlocks, markdownBlocks, projectsOf, repoRoot } from '../support/guide-blocks.js';
import { tsxLoader } from '../support/paths.js';
import { dropSchema, makePool, postgresUrl, uniqueSchema } from '../support/postgres.js';
import { linkSourcePackage } from '../support/source-package.js';

const run = promisify(execFile);

/** The pages of docs/ a user follows and copies from. */
const GUIDES = ['persist-postgres.md', 'persist-d1.md', 'custom-store.md', 'cli.md', 'studio.md', 'flue2.md', 'reliability.md'];
/** Pages that describe the project rather than steps to follow: their blocks are not checked. */
const REFERENCE = {
	'architecture.md': 'the layout of the source, for contributors',
	'flue-versions.md': "how this repository's own tests cover each Flue release",
};

const blocks = Object.fromEntries(GUIDES.map((guide) => [guide, guideBlocks(guide)])) as Record<string, GuideBlock[]>;
/** Which test runs a block. */
const claims = new Map<GuideBlock, string>();

/** The blocks of `guide` that `pick` selects, claimed as run by `by`; at least one must match. */
function claim(guide: string, pick: (block: GuideBlock) => boolean, by = 'test/package/guides-run.test.ts'): GuideBlock[] {
	const found = blocks[guide]!.filter(pick);
	if (found.length === 0) throw new Error(`docs/${guide} has no block this test expects`);
	for (const block of found) claims.set(block, by);
	return found;
}
function claimOne(guide: string, pick: (block: GuideBlock) => boolean): GuideBlock {
	const found = claim(guide, pick);
	if (found.length !== 1) throw new Error(`docs/${guide}: ${found.length} blocks match where one was expected (lines ${found.map((b) => b.line).join(', ')})`);
	return found[0]!;
}

// Blocks run by other test files.
claim('custom-store.md', (b) => b.path !== null, 'test/package/custom-store-doc.test.ts');

// Inside the repository, so that pg, @flue/sdk and better-sqlite3 resolve from its node_modules.
mkdirSync(join(repoRoot, '.tmp'), { recursive: true });
const work = mkdtempSync(join(repoRoot, '.tmp', 'guides-run-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A scratch project directory whose `flue-persist` is this repository's source. */
function scratchProject(name: string, files: Map<string, string> = new Map(), dependencies: Record<string, string> = {}): string {
	const dir = join(work, name);
	linkSourcePackage(dir, `guide-${name}`, dependencies);
	for (const [path, code] of files) {
		mkdirSync(dirname(join(dir, path)), { recursive: true });
		writeFileSync(join(dir, path), code);
	}
	return dir;
}

/**
 * Runs a guide's TypeScript fragment (statements that use names the guide defined before it) as
 * the body of an async function given those names; returns the value of `result` when named.
 */
async function runFragment(name: string, code: string, scope: Record<string, unknown>, result?: string): Promise<unknown> {
	const dir = scratchProject(`fragment-${name}`);
	const file = join(dir, 'fragment.ts');
	writeFileSync(
		file,
		`export default async function ({ ${Object.keys(scope).join(', ')} }: Record<string, any>) {\n${code}\nreturn ${result ?? 'undefined'};\n}\n`,
	);
	const mod = (await import(file)) as { default: (scope: Record<string, unknown>) => Promise<unknown> };
	return mod.default(scope);
}

/** `curl … -d '<json>'` lines of a shell block: the request bodies. */
function curlBodies(block: GuideBlock): Array<{ path: string; body: string }> {
	return block.code
		.split('\n')
		.filter((line) => line.startsWith('curl '))
		.map((line) => {
			const m = line.match(/^curl -X POST (\S+) -H '[^']+' -d '([^']+)'$/);
			if (!m) throw new Error(`docs/${block.guide}:${block.line}: unexpected curl line: ${line}`);
			return { path: new URL(`http://${m[1]}`).pathname, body: m[2]! };
		});
}

let fake: FakeModel;
beforeAll(async () => {
	fake = await startFakeModel();
	// The guides' model, answered by the fake server (a registered provider wins over pi-ai's catalog).
	registerProvider('anthropic', { api: 'openai-completions', baseUrl: fake.baseUrl, apiKey: 'fake-key' });
});
afterAll(async () => {
	await fake?.close();
});

describe('every block of the guides is run or marked as not runnable', () => {
	it('docs/ holds the guides and the reference pages named here, and nothing else', () => {
		const pages = readdirSync(join(repoRoot, 'docs')).filter((f) => f.endsWith('.md'));
		expect(pages.sort()).toEqual([...GUIDES, ...Object.keys(REFERENCE)].sort());
	});

	it('each block is claimed by a test that runs it, or carries <!-- not run: <reason> --> (never both)', () => {
		const problems: string[] = [];
		for (const guide of GUIDES) {
			for (const block of blocks[guide]!) {
				const where = `docs/${guide}:${block.line} (${block.lang || 'no language'}: ${block.code.split('\n')[0]!.slice(0, 60)})`;
				if (claims.has(block) && block.notRun !== null) problems.push(`${where} is run by ${claims.get(block)} but marked not run`);
				if (!claims.has(block) && block.notRun === null) problems.push(`${where} is neither run by a test nor marked <!-- not run: <reason> -->`);
				// A reason says why in words, not just "skip".
				if (block.notRun !== null && block.notRun.split(/\s+/).length < 3) problems.push(`${where}: the reason "${block.notRun}" does not say why`);
			}
		}
		expect(problems).toEqual([]);
	});

	it('a test file named as running blocks exists and reads that guide', () => {
		for (const [block, by] of claims) expect(readFileSync(join(repoRoot, by), 'utf8'), `${by} for docs/${block.guide}`).toContain(block.guide);
	});
});

// ---------------------------------------------------------------------------------------------
// docs/persist-postgres.md

describe('docs/persist-postgres.md', () => {
	const guide = 'persist-postgres.md';
	const modules = claim(guide, (b) => b.path !== null);
	const verify = claimOne(guide, (b) => b.lang === 'sh' && b.code.includes('deepStrictEqual'));
	const blobSql = claimOne(guide, (b) => b.lang === 'sql' && b.code.includes('CREATE TABLE flue_sessions ('));
	const logSql = claimOne(guide, (b) => b.lang === 'sql' && b.code.includes('CREATE TABLE flue_sessions_log'));
	const copyStep = claimOne(guide, (b) => b.lang === 'ts' && b.code.includes(".migrate({ from: 'blob' })"));
	const sealStep = claimOne(guide, (b) => b.lang === 'ts' && b.code.includes('seal: true'));
	const lock = claimOne(guide, (b) => b.lang === 'ts' && b.code.includes('withSessionLock('));
	const text = readFileSync(join(repoRoot, 'docs', guide), 'utf8');

	let admin: pg.Pool;
	const schemas: string[] = [];
	const pools: pg.Pool[] = [];
	/** A URL whose connections use `schema` (created here) as search_path, as a role's default would. */
	async function schemaUrl(prefix: string): Promise<{ schema: string; url: string; pool: pg.Pool }> {
		const schema = uniqueSchema(prefix);
		await admin.query(`CREATE SCHEMA "${schema}"`);
		schemas.push(schema);
		const url = new URL(postgresUrl());
		url.searchParams.set('options', `-c search_path=${schema}`);
		const pool = makePool(url.href, 4);
		pools.push(pool);
		return { schema, url: url.href, pool };
	}
	beforeAll(() => {
		admin = makePool();
	});
	afterAll(async () => {
		await Promise.all(pools.map((p) => p.end()));
		for (const schema of schemas) await dropSchema(admin, schema);
		await admin?.end();
	});

	it('persist.ts and agents/assistant.ts, run by Flue for two requests: the second continues the conversation the first stored in Postgres', async () => {
		expect(modules.map((b) => b.path)).toEqual(['persist.ts', 'agents/assistant.ts']);
		const { url, pool } = await schemaUrl('guide_agent');
		const project = scratchProject('postgres-agent', projectsOf(guide)[0]);
		// persist.ts reads DATABASE_URL when it is imported, as in an app started with it set.
		const saved = process.env.DATABASE_URL;
		process.env.DATABASE_URL = url;
		const persist = (await import(join(project, 'persist.ts')).finally(() => {
			if (saved === undefined) delete process.env.DATABASE_URL;
			else process.env.DATABASE_URL = saved;
		})) as { pool: pg.Pool; store: SessionStore };
		try {
			const agentFile = (await import(join(project, 'agents/assistant.ts'))) as {
				triggers: unknown;
				default: (context: unknown) => Promise<{ reply: string }>;
			};
			expect(agentFile.triggers).toEqual({ webhook: true });
			const release = await loadRelease(installedSdkSpec);
			const before = fake.requests.length;
			// Each request gets a context of its own, as Flue's server gives it: only the store carries the conversation.
			const ask = async (message: string) => agentFile.default(release.handlerContext!({ id: 'demo', payload: { thread: 't1', message }, env: {} }));
			expect(await ask('My name is Ada.')).toEqual({ reply: 'ACK: My name is Ada.' });
			expect(await ask('What is my name?')).toEqual({ reply: 'ACK: What is my name?' });
			expect(fake.requests.slice(before).at(-1)!.messages).toEqual([
				{ role: 'user', text: 'My name is Ada.' },
				{ role: 'assistant', text: 'ACK: My name is Ada.' },
				{ role: 'user', text: 'What is my name?' },
			]);
		} finally {
			await persist.pool.end();
		}
		// In the log layout, in the schema of the connection's search_path, as the comment says.
		const stored = await postgresStore(pool).load(sessionKey('demo', 't1'));
		expect(transcript(stored!)).toEqual([
			'user: My name is Ada.',
			'assistant: ACK: My name is Ada.',
			'user: What is my name?',
			'assistant: ACK: What is my name?',
		]);
		expect((await pool.query(`SELECT count(*)::int AS n FROM flue_sessions_entries`)).rows[0].n).toBe(4);
	});

	it('Verify: the command prints what migrate() created, then the success line; run again, created: []', async () => {
		const { url, pool } = await schemaUrl('guide_verify');
		const placeholder = "DATABASE_URL='postgres://user:password@host:5432/app'";
		expect(verify.code.startsWith(placeholder)).toBe(true);
		// The guide's placeholder for "your own database", replaced by this test's database.
		const command = verify.code.replace(placeholder, `DATABASE_URL='${url}'`);
		const cwd = scratchProject('postgres-verify');
		const env = { ...process.env, NODE_OPTIONS: `--import ${tsxLoader}` };
		const first = await run('bash', ['-c', command], { cwd, env });
		expect(first.stdout).toContain("created: [ 'flue_persist_meta', 'flue_sessions_log', 'flue_sessions_entries' ]");
		expect(first.stdout).toMatch(/\nflue-persist: save, load and delete work on Postgres \d+\.\d+.*\n$/);
		const again = await run('bash', ['-c', command], { cwd, env });
		expect(again.stdout).toContain('created: []');
		expect(again.stdout).toMatch(/\nflue-persist: save, load and delete work on Postgres \d+\.\d+.*\n$/);
		expect(text).toContain('`created: []` when the tables already exist');
		expect((await pool.query('SELECT count(*)::int AS n FROM flue_sessions_log')).rows[0].n).toBe(0);
	});

	it('the log tables as printed are the ones the store creates', async () => {
		const printed = await schemaUrl('guide_logsql');
		await printed.pool.query(logSql.code);
		const created = await schemaUrl('guide_logstore');
		await postgresStore(created.pool).migrate();
		const shape = async (schema: string) => ({
			columns: (
				await admin.query(
					`SELECT table_name, column_name, data_type, is_nullable, collation_name FROM information_schema.columns WHERE table_schema = $1 AND table_name IN ('flue_sessions_log', 'flue_sessions_entries') ORDER BY table_name, ordinal_position`,
					[schema],
				)
			).rows,
			constraints: (
				await admin.query(
					`SELECT c.relname, k.contype, replace(pg_get_constraintdef(k.oid), $1 || '.', '') AS def FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname IN ('flue_sessions_log', 'flue_sessions_entries') ORDER BY c.relname, k.contype, def`,
					[schema],
				)
			).rows,
		});
		const expected = await shape(created.schema);
		expect(expected.columns.length).toBe(12);
		expect(await shape(printed.schema)).toEqual(expected);
	});

	it("the recipe's blob table as printed, then the online move to the log layout (copy and mirror, seal, drop the backup)", async () => {
		const { pool } = await schemaUrl('guide_blob');
		await pool.query(blobSql.code);
		const blob = postgresStore(pool, { layout: 'blob' });
		const sessions = {
			'agent-session:["assistant","a"]': conversation(2),
			'agent-session:["assistant","b"]': conversation(1),
			'agent-session:["assistant","c"]': conversation(3),
		};
		for (const [id, data] of Object.entries(sessions)) await blob.save(id, data);

		const result = await runFragment('copy', copyStep.code, { pool, postgresStore }, 'result');
		// The guide's comment gives the result, with an example count.
		const printed = copyStep.code.match(/^\/\/ (\{.*\})$/m)![1]!;
		expect(result).toEqual({ ...(Function(`return (${printed});`)() as object), copied: 3 });
		// Mirrored: a blob write after the copy reaches the log layout.
		const later = conversation(4);
		await blob.save('agent-session:["assistant","a"]', later);
		const log = postgresStore(pool, { layout: 'log' });
		expect(await log.load('agent-session:["assistant","a"]')).toEqual(later);

		await runFragment('seal', sealStep.code, { pool, postgresStore });
		const refused = await blob.save('agent-session:["assistant","b"]', conversation(2)).catch((e: unknown) => e);
		expect(isFluePersistError(refused) && refused.code).toBe('CONFIG');

		// "Keep it as a backup or drop it: `DROP TABLE …`."
		const drop = text.match(/drop it: `(DROP TABLE flue_sessions;[^`]*)`/)![1]!;
		await pool.query(drop);
		const fresh = postgresStore(pool, { layout: 'log' });
		for (const [id, data] of Object.entries(sessions)) expect(await fresh.load(id)).toEqual(id.endsWith('"a"]') ? later : data);
	});

	it('withSessionLock around a turn returns the reply, and the turn is stored', async () => {
		const { pool } = await schemaUrl('guide_lock');
		const store = postgresStore(pool, { immutableEntries: true });
		const agent = await startAgent(fake, store, { agentId: 'assistant' });
		const reply = await runFragment('lock', lock.code, { store, agent, threadId: 't1', message: 'hello' }, 'reply');
		expect(reply).toBe('ACK: hello');
		expect(transcript((await store.load(sessionKey('assistant', 't1')))!)).toEqual(['user: hello', 'assistant: ACK: hello']);
	});
});

// ---------------------------------------------------------------------------------------------
// docs/persist-d1.md

describe('docs/persist-d1.md', () => {
	const guide = 'persist-d1.md';
	const [d1Module, agentModule] = claim(
		guide,
		(b) => b.path === '.flue/persist/d1.ts' || (b.path === '.flue/agents/assistant.ts' && b.code.includes('sessionStore(env.DB)')),
	);
	const dashboard = claimOne(guide, (b) => b.lang === 'sql');
	const verifyLocally = blocks[guide]!.find((b) => b.lang === 'sh' && b.code.startsWith('flue dev --target cloudflare'))!;
	const copyToD1 = claimOne(guide, (b) => b.lang === 'ts' && b.code.startsWith('const sql = ctx.storage.sql;'));

	let mf: Miniflare;
	beforeAll(async () => {
		mf = new Miniflare({
			modules: true,
			script: 'export default { fetch: () => new Response("") };',
			compatibilityDate: COMPATIBILITY_DATE,
			compatibilityFlags: COMPATIBILITY_FLAGS,
			d1Databases: ['DB'],
		});
		await mf.ready;
	});
	afterAll(async () => {
		await mf?.dispose();
	});

	it("the agent with .flue/persist/d1.ts, run by Flue with a D1 binding in workerd: the guide's two messages, the second in a new isolate's store; the dashboard SQL reads them", async () => {
		expect([d1Module!.path, agentModule!.path]).toEqual(['.flue/persist/d1.ts', '.flue/agents/assistant.ts']);
		const project = scratchProject(
			'd1-agent',
			new Map([
				[d1Module!.path!, d1Module!.code],
				[agentModule!.path!, agentModule!.code],
			]),
		);
		const agentFile = (await import(join(project, '.flue/agents/assistant.ts'))) as {
			triggers: unknown;
			default: (context: unknown) => Promise<{ reply: string }>;
		};
		const { sessionStore } = (await import(join(project, '.flue/persist/d1.ts'))) as { sessionStore: (db: unknown) => SessionStore };
		expect(agentFile.triggers).toEqual({ webhook: true });
		const release = await loadRelease(installedSdkSpec);
		// The messages of the guide's "Verify locally" commands (flue dev itself is not run here).
		const requests = curlBodies(verifyLocally);
		expect(requests.map((r) => r.path)).toEqual(['/agents/assistant/demo', '/agents/assistant/demo']);
		const before = fake.requests.length;
		const replies: string[] = [];
		for (const request of requests) {
			// A binding object of its own for each request, as a new isolate gets: its own store.
			const db = await testD1(mf, 'DB');
			expect(sessionStore(db)).toBe(sessionStore(db));
			const context = release.handlerContext!({ id: 'demo', payload: JSON.parse(request.body), env: { DB: db } });
			replies.push((await agentFile.default(context)).reply);
		}
		const messages = requests.map((r) => (JSON.parse(r.body) as { message: string }).message);
		expect(replies).toEqual(messages.map((m) => `ACK: ${m}`));
		expect(
			fake.requests
				.slice(before)
				.at(-1)!
				.messages.map((m) => m.text),
		).toEqual([messages[0], `ACK: ${messages[0]}`, messages[1]]);

		const db = await testD1(mf, 'DB');
		const id = sessionKey('demo', 'default');
		expect(transcript((await d1Store(db).load(id))!)).toHaveLength(4);
		// The dashboard's queries, one statement at a time; ?1 is a session id.
		const statements = dashboard.code
			.split(/;\s*\n/)
			.map((s) => s.trim())
			.filter(Boolean);
		expect(statements).toHaveLength(2);
		const sessionsRows = (await db.prepare(statements[0]!).all()).results;
		expect(sessionsRows).toEqual([{ id, updated_at: expect.any(Number), entry_count: 4, bytes: expect.any(Number) }]);
		const roles = (await db.prepare(statements[1]!).bind(id).all()).results;
		expect(roles.map((r) => r.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
	});

	it('the copy of the blob layout from a Durable Object into D1, run inside the object: the sessions, one of them in chunks, load unchanged from D1', async () => {
		// A Durable Object whose storage a flue-persist blob store has written, and that runs the
		// guide's statements with its own `ctx` and `env`, bundled as a Worker.
		const dir = scratchProject('d1-copy');
		writeFileSync(
			join(dir, 'worker.ts'),
			`import { durableObjectStore } from 'flue-persist/durable-object';
export class Agent {
	constructor(private ctx: any, private env: any) {}
	async fetch(request: Request): Promise<Response> {
		const { ctx, env } = this;
		if (new URL(request.url).pathname === '/save') {
			const sessions = (await request.json()) as Record<string, any>;
			const store = durableObjectStore(ctx.storage, { layout: 'blob' });
			for (const [id, data] of Object.entries(sessions)) await store.save(id, data);
			return new Response('saved');
		}
${copyToD1.code}
		return new Response('copied');
	}
}
export default { fetch: (request: Request, env: any) => env.AGENT.get(env.AGENT.idFromName('demo')).fetch(request) };
`,
		);
		const script = join(dir, 'worker.mjs');
		await esbuild({
			entryPoints: [join(dir, 'worker.ts')],
			bundle: true,
			format: 'esm',
			platform: 'neutral',
			target: 'es2022',
			outfile: script,
			logLevel: 'silent',
		});
		const worker = new Miniflare({
			modules: true,
			scriptPath: script,
			compatibilityDate: COMPATIBILITY_DATE,
			compatibilityFlags: COMPATIBILITY_FLAGS,
			durableObjects: { AGENT: { className: 'Agent', useSQLite: true } },
			d1Databases: ['DB'],
		});
		try {
			const db = await testD1(worker, 'DB');
			// "The tables must exist in D1 first: open d1Store(env.DB, { layout: 'blob' }) and call any method."
			expect(await d1Store(db, { layout: 'blob' }).load('none')).toBeNull();
			const sessions = { [sessionKey('demo', 't1')]: conversation(2), [sessionKey('demo', 'large')]: conversation(20, { toolBytes: 105_000 }) };
			expect(JSON.stringify(sessions[sessionKey('demo', 'large')]).length).toBeGreaterThan(1_900_000);
			expect(await (await worker.dispatchFetch('http://worker/save', { method: 'POST', body: JSON.stringify(sessions) })).text()).toBe('saved');
			const copied = await worker.dispatchFetch('http://worker/copy', { method: 'POST' });
			expect(await copied.text()).toBe('copied');
			const fromD1 = d1Store(await testD1(worker, 'DB'), { layout: 'blob' });
			for (const [id, data] of Object.entries(sessions)) expect(await fromD1.load(id)).toEqual(data);
			expect((await db.prepare('SELECT count(*) AS n FROM flue_sessions_chunks').all()).results[0]!.n).toBeGreaterThan(1);
		} finally {
			await worker.dispose();
		}
	});
});

// ---------------------------------------------------------------------------------------------
// docs/cli.md

/** `flue-persist <argv>` in-process, as src/cli/main.ts builds it, with stdout and stderr in one stream as a terminal shows them. */
async function fluePersist(argv: string[], cwd: string): Promise<{ code: number; output: string }> {
	let output = '';
	const write = (text: string) => void (output += text);
	const io: SessionCliIo = {
		out: write,
		err: write,
		env: {},
		cwd,
		// A script's stdin: no one to answer a question.
		terminal: scriptTerminal(),
	};
	const program = createProgram();
	program.addCommand(addCommand(io));
	for (const command of sessionCommands(io)) program.addCommand(command);
	program.addCommand(studioCommand(io));
	const code = await runProgram(program, argv, io);
	return { code, output };
}

/** Splits a command line as sh does for the quoting the guides use: '…', "…" with $NAME, and bare words. */
function shellWords(line: string, vars: Record<string, string>): string[] {
	const words: string[] = [];
	for (const m of line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) words.push(m[1] ?? (m[2] ?? m[3]!).replace(/\$(\w+)/g, (_, name: string) => vars[name] ?? ''));
	return words;
}

/** What may differ between the printed output and a run: numbers, times, sizes, checksums, spacing. */
const masked = (text: string) =>
	text
		.replace(/sha256:[0-9a-f]{64}/g, 'sha256:<hex>')
		.replace(/\d+/g, '#')
		.split('\n')
		.map((line) => line.replace(/\s+/g, ' ').trim())
		.filter(Boolean);

/** A transcript block: each `$ <command>` line with the output printed under it. */
function stepsOf(block: GuideBlock): Array<{ command: string; printed: string }> {
	const steps: Array<{ command: string; printed: string }> = [];
	for (const line of block.code.split('\n')) {
		if (line.startsWith('$ ')) steps.push({ command: line.slice(2), printed: '' });
		else if (steps.length) steps.at(-1)!.printed += `${line}\n`;
		else throw new Error(`${block.file}:${block.line}: a transcript starts with a "$ " line`);
	}
	return steps;
}

describe('docs/cli.md', () => {
	const guide = 'cli.md';
	const addBlock = claimOne(guide, (b) => b.lang === 'sh' && b.code.includes('flue-persist add'));
	// The transcripts on data/sessions.db, one story in the guide's order: ls, show, export and
	// import, rm and prune, doctor.
	const story = claim(guide, (b) => b.lang === '' && /^\$ npx flue-persist \w+ sqlite:data\/sessions\.db/.test(b.code));
	const docPostgres = 'postgres://postgres:$PGPASSWORD@localhost:5433/postgres?schema=agents';
	const DAY = 86_400_000;

	it('the add commands: the listing, the Markdown a coding agent reads, and the store file --write writes', async () => {
		const cwd = scratchProject('cli-add');
		const lines = addBlock.code.split('\n').filter(Boolean);
		expect(lines).toHaveLength(4);
		const results: Array<{ code: number; output: string; piped: boolean }> = [];
		for (const line of lines) {
			// `| claude` hands stdout to a coding agent; the test reads what the agent would be given.
			const [command, pipe] = line.replace(/\s+#.*$/, '').split(' | ');
			const argv = shellWords(command!, {});
			expect(argv.slice(0, 2)).toEqual(['npx', 'flue-persist']);
			results.push({ ...(await fluePersist(argv.slice(2), cwd)), piped: pipe === 'claude' });
		}
		expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0]);
		expect(results[0]!.output).toContain('Available connectors:');
		expect(results[1]!.piped && results[1]!.output).toMatch(/flue-persist\/postgres/);
		expect(results[2]!.piped && results[2]!.output).toContain('https://docs.turso.tech');
		expect(readFileSync(join(cwd, '.flue/persist/sqlite.ts'), 'utf8')).toContain("from 'flue-persist/sqlite'");
	});

	it('the session tooling transcripts, run in order on one SQLite file (and the Postgres server for import), print what the guide prints', async () => {
		const cwd = scratchProject('cli-sessions');
		mkdirSync(join(cwd, 'data'));
		// The sessions the transcripts show, written by the store, at the ages the transcripts imply.
		const ada = conversation(3);
		ada.entries.push(messageEntry('7f3a91c2', '10000004', 'assistant', 'Try restarting the worker first, then check the logs.', 40));
		ada.entries.push({
			type: 'compaction',
			id: 'c81d0e55',
			parentId: ada.leafId,
			timestamp: ada.updatedAt,
			summary: 'The user debugged three steps of a build script and asked what each printed.',
			firstKeptEntryId: '10000008',
			tokensBefore: 48_210,
		} as SessionData['entries'][number]);
		ada.leafId = 'c81d0e55';
		ada.metadata = { agent: 'support', customer: 'ada' };
		const sessions: Record<string, [SessionData, number]> = {
			'billing:alan': [conversation(1), 120 * DAY],
			'billing:margaret': [conversation(5), 9 * DAY],
			'support:ada': [ada, DAY / 12],
			'support:grace': [conversation(24), 3 * DAY],
			'support:linus': [conversation(2), 45 * DAY],
		};
		const file = join(cwd, 'data/sessions.db');
		const store = sqliteStore(file);
		for (const [id, [data]] of Object.entries(sessions)) await store.save(id, data);
		await store.close();
		const db = new Database(file);
		for (const [id, [, age]] of Object.entries(sessions)) db.prepare('UPDATE flue_sessions_log SET updated_at = ? WHERE id = ?').run(Date.now() - age, id);
		db.close();

		// The guide's Postgres server and schema, replaced by this test's server and a schema of its own.
		const schema = uniqueSchema('guide_cli');
		const pgUrl = `${postgresUrl()}?schema=${schema}`;
		const admin = makePool();
		try {
			for (const block of story) {
				if (block.code.startsWith('$ npx flue-persist doctor')) {
					// The damage the doctor transcript finds, planted here: the guide does not show how it came about.
					const damage = new Database(file);
					damage.prepare(`UPDATE flue_sessions_log SET header = json_set(header, '$.leafId', 'deadbeef') WHERE id = 'billing:margaret'`).run();
					damage.prepare(`UPDATE flue_sessions_log SET entry_count = 3 WHERE id = 'support:ada'`).run();
					damage
						.prepare(
							`UPDATE flue_sessions_entries SET data = json_set(data, '$.parentId', '0badf00d'), parent_id = '0badf00d' WHERE session_id = 'support:grace' AND entry_id = '10000010'`,
						)
						.run();
					damage
						.prepare(
							`INSERT INTO flue_sessions_entries (session_id, entry_id, part, parts, pos, parent_id, data) SELECT 'support:old', entry_id, part, parts, pos, parent_id, data FROM flue_sessions_entries WHERE session_id = 'support:grace' AND entry_id = '10000000'`,
						)
						.run();
					damage.close();
				}
				for (const step of stepsOf(block)) {
					let output: string;
					if (step.command.startsWith('npx flue-persist ')) {
						expect(step.command.includes(docPostgres) || !step.command.includes('postgres://'), step.command).toBe(true);
						const argv = shellWords(step.command.replaceAll(docPostgres, pgUrl), {}).slice(2);
						output = (await fluePersist(argv, cwd)).output.replaceAll(redactUrl(pgUrl), 'postgres://postgres:***@localhost:5433/postgres?schema=agents');
					} else {
						// cut, sed: the shell's own commands.
						output = (await run('bash', ['-c', step.command], { cwd })).stdout;
					}
					expect(masked(output), `docs/${guide}:${block.line}: $ ${step.command}`).toEqual(masked(step.printed));
				}
			}
		} finally {
			await dropSchema(admin, schema);
			await admin.end();
		}
	});
});

// ---------------------------------------------------------------------------------------------
// README.md

describe('README.md', () => {
	it('each transcript of the tooling is one docs/cli.md runs, step by step, or is marked not run', () => {
		const run = guideBlocks('cli.md').filter((b) => b.notRun === null && b.code.startsWith('$ npx flue-persist'));
		const problems: string[] = [];
		let checked = 0;
		for (const block of markdownBlocks('README.md')) {
			if (!block.code.startsWith('$ npx flue-persist') || block.notRun !== null) continue;
			// test/cli/add.test.ts runs this one and compares it with what add prints.
			if (block.code.startsWith('$ npx flue-persist add ')) continue;
			for (const step of stepsOf(block)) {
				checked++;
				// The step as printed, ended where cli.md's ends too: at the block's end, a blank line or the next command.
				const text = `$ ${step.command}\n${step.printed.replace(/\n+$/, '\n')}`;
				const held = run.some((b) => {
					for (let at = b.code.indexOf(text); at !== -1; at = b.code.indexOf(text, at + 1)) {
						const next = b.code.slice(at + text.length, at + text.length + 2);
						if (next === '' || next.startsWith('\n') || next.startsWith('$ ')) return true;
					}
					return false;
				});
				if (!held) problems.push(`README.md:${block.line}: $ ${step.command}`);
			}
		}
		expect(problems, 'README transcripts that no docs/cli.md transcript holds as printed').toEqual([]);
		expect(checked).toBeGreaterThan(10);
	});
});

// docs/studio.md

describe('docs/studio.md', () => {
	const guide = 'studio.md';
	const start = claimOne(guide, (b) => b.lang === 'sh' && b.code.includes('--store sqlite:./data/sessions.db'));
	const printed = claimOne(guide, (b) => b.lang === 'text' && b.code.startsWith('http://127.0.0.1:'));

	it('the studio command prints the URL on stdout and what it serves on stderr, as shown', async () => {
		const cwd = scratchProject('studio');
		mkdirSync(join(cwd, 'data'));
		const store = sqliteStore(join(cwd, 'data/sessions.db'));
		await store.save('support:ada', conversation(2));
		await store.close();
		const argv = shellWords(start.code.trim(), {});
		expect(argv.slice(0, 3)).toEqual(['npx', 'flue-persist', 'studio']);
		// Added so that the test neither takes the fixed port nor starts a browser on the machine it runs on.
		const studio = startStudioCli([...argv.slice(3), '--port', '0', '--no-open'], cwd);
		try {
			await vi.waitFor(() => expect(studio.listening(), studio.err()).toBe(true), { timeout: 5000 });
			const [url, ...rest] = printed.code.trimEnd().split('\n');
			// A line printed with "…" is shown cut: the run's line starts with what is shown.
			const matches = (actual: string, shown: string) => (shown.endsWith('…') ? actual.startsWith(shown.slice(0, -1).trimEnd()) : actual === shown);
			const token = (line: string) => line.replace(/:\d+\/\?token=\S+$/, ':<port>/?token=<token>');
			expect(token(studio.out().trim())).toBe(token(url!.replace(/…$/, 'x')));
			const err = studio.err().trimEnd().split('\n');
			expect(err.length).toBe(rest.length);
			for (const [i, shown] of rest.entries()) expect(matches(err[i]!, shown), `${err[i]} / ${shown}`).toBe(true);
		} finally {
			studio.pressCtrlC();
			expect(await studio.exit).toBe(0);
		}
	});
});
