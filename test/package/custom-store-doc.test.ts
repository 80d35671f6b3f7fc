/**
 * docs/custom-store.md, run as printed: every TypeScript block that starts with `// <file>.ts` is
 * written to a scratch directory, type-checked, and its `*.test.ts` files are run by vitest in a
 * process of their own, with `flue-persist` resolved to this repository's source. The blocks are
 * read from the Markdown, never copied here, so the guide and the test cannot drift.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guideBlocks } from '../support/guide-blocks.js';
import { root } from '../support/paths.js';

const run = promisify(execFile);
const guide = readFileSync(join(root, 'docs/custom-store.md'), 'utf8');

/** The guide's TypeScript files: each block whose first line is `// <name>.ts`. */
const files = guideBlocks('custom-store.md')
	.filter((b) => b.path !== null)
	.map((b) => ({ name: b.path!, code: b.code }));

// Inside the repository, so that vitest and the Node types resolve from its node_modules.
mkdirSync(join(root, '.tmp'), { recursive: true });
const work = mkdtempSync(join(root, '.tmp', 'custom-store-doc-'));

interface JsonReport {
	testResults: Array<{
		name: string;
		message: string;
		assertionResults: Array<{ fullName: string; ancestorTitles: string[]; status: 'passed' | 'failed' | 'skipped' | 'pending'; failureMessages: string[] }>;
	}>;
}
let report: JsonReport;

beforeAll(async () => {
	for (const f of files) writeFileSync(join(work, f.name), f.code);
	const src = (path: string) => join(root, 'src', path);
	writeFileSync(
		join(work, 'vitest.config.mjs'),
		`export default { resolve: { alias: [{ find: /^flue-persist\\/conformance$/, replacement: ${JSON.stringify(src('conformance/index.ts'))} }, { find: /^flue-persist$/, replacement: ${JSON.stringify(src('index.ts'))} }] }, test: { include: ['*.test.ts'], testTimeout: 120000 } };\n`,
	);
	const out = join(work, 'report.json');
	await run(
		process.execPath,
		[join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'vitest.config.mjs', '--reporter=json', `--outputFile=${out}`],
		{ cwd: work, maxBuffer: 64 * 1024 * 1024 },
	).catch(() => {
		// A failing case exits 1; the report says which.
	});
	report = JSON.parse(readFileSync(out, 'utf8')) as JsonReport;
}, 300_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

const outcomesOf = (file: string) => {
	const result = report.testResults.find((r) => r.name.endsWith(`/${file}`));
	expect(result, `${file} did not run`).toBeDefined();
	expect(result!.message, file).toBe('');
	return result!.assertionResults;
};
const failures = (outcomes: ReturnType<typeof outcomesOf>) =>
	outcomes.filter((o) => o.status === 'failed').map((o) => `${o.fullName}\n${o.failureMessages.join('\n')}`);

describe('docs/custom-store.md', () => {
	it('holds both ways to build a store, each with its conformance run', () => {
		expect(files.map((f) => f.name)).toEqual(['file-store.ts', 'file-store.test.ts', 'map-store.ts', 'map-store.test.ts']);
		expect(guide).toContain('createStore(new FileAdapter(dir)');
	});

	it('type-checks as printed against the package types', async () => {
		writeFileSync(
			join(work, 'tsconfig.json'),
			JSON.stringify({
				extends: join(root, 'tsconfig.json'),
				compilerOptions: {
					noEmit: true,
					paths: { 'flue-persist': [join(root, 'src/index.ts')], 'flue-persist/conformance': [join(root, 'src/conformance/index.ts')] },
				},
				include: [],
				files: files.map((f) => join(work, f.name)),
			}),
		);
		const tsc = await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(work, 'tsconfig.json')], { cwd: work }).then(
			() => ({ code: 0, stdout: '' }),
			(error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
		);
		expect(tsc.stdout).toBe('');
		expect(tsc.code).toBe(0);
	}, 120_000);

	it('the createStore(adapter) example passes every case of the suite', () => {
		const outcomes = outcomesOf('file-store.test.ts');
		expect(failures(outcomes)).toEqual([]);
		expect(outcomes.filter((o) => o.status !== 'passed')).toEqual([]);
		// 49 cases, and the 11 stale-writer cases a store built on createStore applies (it declares lineage).
		expect(outcomes.length).toBe(60);
	});

	it('the hand-written example passes every case, with saveDelta, list and the stale-writer cases reported as skipped', () => {
		const outcomes = outcomesOf('map-store.test.ts');
		expect(failures(outcomes)).toEqual([]);
		const skipped = outcomes.filter((o) => o.status === 'skipped' || o.status === 'pending');
		// It declares no capabilities.lineage, so the stale-writer cases do not apply to it.
		expect(skipped.map((o) => o.ancestorTitles.at(-1))).toEqual([...Array(11).fill('stale writers'), ...Array(5).fill('saveDelta'), ...Array(5).fill('list')]);
		expect(outcomes.filter((o) => o.status === 'passed')).toHaveLength(60 - 21);
	});
});
