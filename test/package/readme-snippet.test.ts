/**
 * The README's Flue agent, run as printed: the agent file and the commands are read from
 * README.md, never copied here, so the two cannot drift. The agent is type-checked, built with
 * @flue/sdk 0.4.1's `build()` (what `flue dev --target node` runs) and served by a new process for
 * each `curl` line of the README, against a local fake model; the second process must send the
 * model the conversation the first one stored.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { build } from '@flue/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../src/backends/sqlite/index.js';
import { type FakeModel, sessionKey, startFakeModel, transcript } from '../support/flue-harness.js';
import { serveFlueOnce } from '../support/flue-server.js';
import { type GuideBlock, markdownBlocks } from '../support/guide-blocks.js';
import { root } from '../support/paths.js';
import { linkSourcePackage } from '../support/source-package.js';

const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** The fenced blocks of the README's section `heading`: after its line, before the next `## ` line. */
function blocksOf(heading: string): GuideBlock[] {
	const lines = readme.split('\n');
	const start = lines.indexOf(heading);
	if (start < 0) throw new Error(`README.md has no section "${heading}"`);
	const next = lines.findIndex((line, i) => i > start && line.startsWith('## '));
	// GuideBlock lines are 1-based.
	return markdownBlocks('README.md').filter((b) => b.line > start + 1 && (next < 0 || b.line < next + 1));
}

const blocks = blocksOf('## Use it with Flue');
const agent = blocks.find((b) => b.lang === 'ts')!;
const shell = blocks.find((b) => b.lang === 'sh')!;
/** `// .flue/agents/support.ts` on the first line says where the file goes. */
const agentPath = agent.path!;
const agentName = agentPath.match(/\.flue\/agents\/([\w-]+)\.ts$/)![1]!;

/** Each `curl <url> -H '<header>' -d '<json>'` line of the README's commands. */
const requests = shell.code
	.split('\n')
	.filter((line) => line.startsWith('curl '))
	.map((line) => {
		const m = line.match(/^curl (\S+) -H '([^:]+): ([^']+)' -d '([^']+)'$/);
		if (!m) throw new Error(`unexpected curl line in README.md: ${line}`);
		return { url: new URL(`http://${m[1]}`), header: [m[2]!, m[3]!] as const, body: m[4]! };
	});

// Inside the repository, so that the server finds @flue/sdk and better-sqlite3 in node_modules.
mkdirSync(join(root, '.tmp'), { recursive: true });
const work = mkdtempSync(join(root, '.tmp', 'readme-snippet-'));
const project = join(work, 'project');
const output = join(work, 'server');

let fake: FakeModel;
beforeAll(async () => {
	fake = await startFakeModel();
	mkdirSync(join(project, dirname(agentPath)), { recursive: true });
	// An app as the README's install line makes it: Flue's build leaves its dependencies to Node
	// (external), which finds `flue-persist` in the app's node_modules, here this repository's source.
	linkSourcePackage(project, 'readme-snippet', { '@flue/sdk': '0.4.1', 'flue-persist': '*', 'better-sqlite3': '^12' });
	writeFileSync(join(project, agentPath), agent.code);
	// Not part of the README: points the snippet's model at the fake server instead of Anthropic.
	// A registered provider takes precedence over pi-ai's catalog in Flue's resolveModel.
	writeFileSync(
		join(project, '.flue/app.ts'),
		`import { flue, registerProvider } from '@flue/sdk/app';\nregisterProvider('anthropic', { api: 'openai-completions', baseUrl: process.env.FAKE_MODEL_BASE_URL!, apiKey: 'fake-key' });\nexport default flue();\n`,
	);
	await build({ root: project, output, target: 'node' });
}, 120_000);
afterAll(async () => {
	await fake?.close();
	rmSync(work, { recursive: true, force: true });
});

/** A new server process in the project directory, one request as the README's curl sends it, then stop. */
async function serveOnce(request: (typeof requests)[number]): Promise<{ status: number; body: unknown; log: string }> {
	// `flue-persist` resolves to the source through the examples' tsconfig, as it resolves to node_modules in an app.
	const env = { FAKE_MODEL_BASE_URL: fake.baseUrl, TSX_TSCONFIG_PATH: join(root, 'examples/tsconfig.json') };
	// curl sends a POST when given -d; the README's host and port are flue dev's, the test's are its own.
	return serveFlueOnce(output, project, env, (port) =>
		fetch(`http://127.0.0.1:${port}${request.url.pathname}`, {
			method: 'POST',
			headers: { [request.header[0]]: request.header[1], accept: 'application/json' },
			body: request.body,
		}),
	);
}

describe("the README's Flue agent, as printed", () => {
	it('says where the file goes, exports a webhook trigger and reads payload.thread', () => {
		expect(agentPath).toBe('.flue/agents/support.ts');
		expect(agent.code).toContain('export const triggers = { webhook: true };');
		expect(agent.code).toContain('payload.thread');
		expect(readme).not.toContain('payload.threadId');
		expect(shell.code).toMatch(/^npm install .*flue-persist better-sqlite3@12$/m);
		expect(shell.code).toMatch(/^flue dev --target node/m);
		expect(requests).toHaveLength(2);
		for (const r of requests) expect(r.url.pathname.startsWith(`/agents/${agentName}/`)).toBe(true);
	});

	it('type-checks against @flue/sdk 0.4.1 and the package types', async () => {
		writeFileSync(
			join(work, 'tsconfig.json'),
			JSON.stringify({ extends: join(root, 'examples/tsconfig.json'), compilerOptions: { noEmit: true }, include: [], files: [join(project, agentPath)] }),
		);
		const tsc = await promisify(execFile)(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(work, 'tsconfig.json')], {
			cwd: work,
		}).then(
			() => ({ code: 0, stdout: '' }),
			(error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
		);
		expect(tsc.stdout).toBe('');
		expect(tsc.code).toBe(0);
	}, 60_000);

	it('answers the first curl, and after a restart answers the second from the stored conversation', async () => {
		const [first, second] = requests as [(typeof requests)[number], (typeof requests)[number]];
		const firstBody = JSON.parse(first.body) as { thread: string; message: string };
		const secondBody = JSON.parse(second.body) as { thread: string; message: string };
		const before = fake.requests.length;

		const one = await serveOnce(first);
		expect(one.status, one.log).toBe(200);
		expect(one.body).toEqual({ result: { reply: `ACK: ${firstBody.message}` } });
		const two = await serveOnce(second);
		expect(two.status, two.log).toBe(200);
		expect(two.body).toEqual({ result: { reply: `ACK: ${secondBody.message}` } });

		// The second process, which started with nothing in memory, sent the first exchange to the model.
		expect(fake.requests.slice(before).map((r) => r.messages)).toEqual([
			[{ role: 'user', text: firstBody.message }],
			[
				{ role: 'user', text: firstBody.message },
				{ role: 'assistant', text: `ACK: ${firstBody.message}` },
				{ role: 'user', text: secondBody.message },
			],
		]);
		// Where the README says it is: ./data/sessions.db, under the agent id and the thread.
		const agentId = first.url.pathname.split('/').pop()!;
		const store = sqliteStore(join(project, 'data/sessions.db'));
		try {
			const stored = await store.load(sessionKey(agentId, firstBody.thread));
			expect(transcript(stored!)).toEqual([
				`user: ${firstBody.message}`,
				`assistant: ACK: ${firstBody.message}`,
				`user: ${secondBody.message}`,
				`assistant: ACK: ${secondBody.message}`,
			]);
			expect(readme).toContain(`\`${sessionKey(agentId, firstBody.thread)}\``);
		} finally {
			await store.close();
		}
	}, 120_000);
});
