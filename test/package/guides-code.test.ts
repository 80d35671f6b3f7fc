/**
 * The backend guides' TypeScript, type-checked as printed: every block of docs/persist-postgres.md
 * and docs/persist-d1.md whose first line is `// <path>.ts` is written to that path in a scratch
 * project (a block that names a path again starts a project of its own, with the files before it)
 * and compiled with `flue-persist` resolved to this repository's source and `@flue/sdk` 0.4.1 as
 * installed. The blocks are read from the Markdown, so a guide and the API cannot drift apart.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { type Files, projectsOf } from '../support/guide-blocks.js';
import { root } from '../support/paths.js';

const run = promisify(execFile);
mkdirSync(join(root, '.tmp'), { recursive: true });
const work = mkdtempSync(join(root, '.tmp', 'guides-code-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function typecheck(name: string, files: Files): Promise<string> {
	const dir = join(work, name);
	for (const [path, code] of files) {
		mkdirSync(dirname(join(dir, path)), { recursive: true });
		writeFileSync(join(dir, path), code);
	}
	const src = (path: string) => [join(root, 'src', path)];
	writeFileSync(
		join(dir, 'tsconfig.json'),
		JSON.stringify({
			extends: join(root, 'tsconfig.json'),
			compilerOptions: {
				noEmit: true,
				rootDir: root,
				paths: {
					'flue-persist': src('index.ts'),
					'flue-persist/postgres': src('backends/postgres/index.ts'),
					'flue-persist/d1': src('backends/d1/index.ts'),
					'flue-persist/durable-object': src('backends/durable-object/index.ts'),
				},
			},
			include: [],
			files: [...files.keys()].map((path) => join(dir, path)),
		}),
	);
	return run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { cwd: dir }).then(
		() => '',
		(error: { stdout: string; stderr: string }) => `${error.stdout}${error.stderr}`,
	);
}

describe('the guides compile as printed', () => {
	for (const guide of ['persist-postgres.md', 'persist-d1.md']) {
		it(`docs/${guide}: every module block type-checks against the package and @flue/sdk 0.4.1`, async () => {
			const projects = projectsOf(guide);
			expect(projects.length, `${guide} has module blocks`).toBeGreaterThan(0);
			for (const [i, files] of projects.entries()) expect(await typecheck(`${guide}-${i}`, files), [...files.keys()].join(', ')).toBe('');
		}, 120_000);
	}
});
