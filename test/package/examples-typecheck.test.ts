/**
 * Everything the connectors tell a user to write type-checks against @flue/sdk 0.4.1 and this
 * package: the examples (Node and Cloudflare), each connector's store file with its "Wiring it
 * into an agent" snippet placed where the connector says, and the category root's outline with
 * its conformance test. One TypeScript program, so one compiler start.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { extractStoreFile, extractWiringSnippet } from '../../src/cli/connector-format.js';
import { CONNECTOR_INDEX } from '../../src/cli/connector-index.generated.js';
import { root } from '../support/paths.js';

mkdirSync(join(root, '.tmp'), { recursive: true });
// Inside the repository, so that @flue/sdk and vitest resolve from its node_modules.
const work = mkdtempSync(join(root, '.tmp', 'typecheck-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function write(path: string, text: string): string {
	mkdirSync(dirname(path), { recursive: true });
	writeFileSync(path, text);
	return path;
}

/** The TypeScript blocks of a Markdown text, in order. */
const tsBlocks = (markdown: string) => [...markdown.matchAll(/^```ts[^\n]*\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);

describe('type-checking what the examples and connectors contain', () => {
	it('the examples, every connector as installed in a project, and the category root outline compile with no error', async () => {
		const files: string[] = [];
		for (const c of CONNECTOR_INDEX.connectors) {
			const project = join(work, c.slug);
			files.push(write(join(project, extractStoreFile(c.body, c.slug).path), extractStoreFile(c.body, c.slug).content));
			files.push(write(join(project, '.flue/agents/assistant.ts'), extractWiringSnippet(c.body)));
		}
		const outline = CONNECTOR_INDEX.categoryRoots.find((r) => r.category === 'persist')!.body.replaceAll('<name>', 'example');
		const [storeOutline, agentSnippet, suiteSnippet] = tsBlocks(outline);
		const rootProject = join(work, 'from-root');
		files.push(write(join(rootProject, '.flue/persist/example.ts'), storeOutline!));
		files.push(write(join(rootProject, '.flue/agents/assistant.ts'), agentSnippet!));
		files.push(write(join(rootProject, 'test/persist.test.ts'), suiteSnippet!));

		const tsconfig = write(
			join(work, 'tsconfig.json'),
			JSON.stringify({
				extends: relative(work, join(root, 'examples/tsconfig.json')),
				include: [`${relative(work, join(root, 'examples'))}/*/.flue/**/*.ts`, ...files.map((f) => relative(work, f))],
			}),
		);
		const tsc = join(root, 'node_modules/typescript/bin/tsc');
		const result = await promisify(execFile)(process.execPath, [tsc, '-p', tsconfig, '--listFilesOnly'], { cwd: root });
		const listed = result.stdout.split('\n');
		for (const f of files) expect(listed).toContain(f);
		const examples = readdirSync(join(root, 'examples'), { recursive: true, encoding: 'utf8' })
			.filter((f) => f.includes('.flue/') && f.endsWith('.ts'))
			.map((f) => join(root, 'examples', f));
		expect(examples.length).toBeGreaterThanOrEqual(9);
		for (const f of examples) expect(listed).toContain(f);

		const checked = await promisify(execFile)(process.execPath, [tsc, '-p', tsconfig], { cwd: root }).then(
			() => '',
			(error: { stdout: string }) => error.stdout,
		);
		expect(checked).toBe('');
	});
});
