/**
 * The fenced code blocks of the user guides, read from the Markdown so that the tests run what a
 * reader copies. One reader for every test that runs or checks a guide's code.
 *
 * A block that cannot run here carries `<!-- not run: <reason> -->` on the line before its fence;
 * test/package/guides-run.test.ts requires every other block to be claimed by a test that runs it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root as repoRoot } from './paths.js';

export { repoRoot };

export interface GuideBlock {
	/** The guide's file name under docs/. */
	guide: string;
	/** The Markdown file, from the repository root (`docs/cli.md`, `README.md`). */
	file: string;
	/** The info string of the fence (`ts`, `sh`, `sql`, `` for none). */
	lang: string;
	/** The block's text with the fence's indentation removed, ending in a newline. */
	code: string;
	/** 1-based line of the opening fence. */
	line: number;
	/** The reason of a `<!-- not run: … -->` marker right before the fence, or null. */
	notRun: string | null;
	/** For a TypeScript module block, the path its first line names (`// agents/assistant.ts`). */
	path: string | null;
}

/** Every fenced block of docs/<guide>, in order (CommonMark fences: a closing fence holds only backticks). */
export function guideBlocks(guide: string): GuideBlock[] {
	return markdownBlocks(join('docs', guide), guide);
}

/** Every fenced block of a Markdown file (a path from the repository root), `guide` naming it in the blocks. */
export function markdownBlocks(file: string, guide: string = file): GuideBlock[] {
	const lines = readFileSync(join(repoRoot, file), 'utf8').split('\n');
	const blocks: GuideBlock[] = [];
	for (let i = 0; i < lines.length; i++) {
		const open = lines[i]!.match(/^( *)(`{3,})([^`\s]*)\s*$/);
		if (!open) continue;
		const [, indent, fence, lang] = open as unknown as [string, string, string, string];
		const body: string[] = [];
		let j = i + 1;
		for (; j < lines.length; j++) {
			if (new RegExp(`^ *${fence}\\s*$`).test(lines[j]!)) break;
			body.push(lines[j]!.startsWith(indent) ? lines[j]!.slice(indent.length) : lines[j]!.trimStart());
		}
		if (j === lines.length) throw new Error(`${file}:${i + 1}: the code block is never closed (a closing fence holds only backticks)`);
		// The marker may be separated from the fence by blank lines only.
		let k = i - 1;
		while (k >= 0 && lines[k]!.trim() === '') k--;
		const marker = k >= 0 ? lines[k]!.trim().match(/^<!-- not run: (.*?) -->$/) : null;
		const code = body.length ? `${body.join('\n')}\n` : '';
		const path = lang === 'ts' ? (code.match(/^\/\/ ([\w./-]+\.ts)\n/)?.[1] ?? null) : null;
		blocks.push({ guide, file, lang, code, line: i + 1, notRun: marker ? marker[1]!.trim() : null, path });
		i = j;
	}
	return blocks;
}

export type Files = Map<string, string>;

/**
 * The guide's TypeScript module blocks (first line `// <path>.ts`), grouped into projects in which
 * every path is written once: a block that names a path again starts a project of its own, with
 * the other files before it.
 */
export function projectsOf(guide: string): Files[] {
	const projects: Files[] = [new Map()];
	for (const block of guideBlocks(guide)) {
		if (!block.path) continue;
		let current = projects.at(-1)!;
		if (current.has(block.path)) projects.push((current = new Map([...current].filter(([path]) => path !== block.path))));
		current.set(block.path, block.code);
	}
	return projects.filter((p) => p.size > 0);
}
