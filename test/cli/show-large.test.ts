/**
 * `show` on sessions too large or too branchy to draw whole: drawing time linear in the entries
 * (up to 100,000) in every shape, lines that stay within `--width` however deep the forks nest (deeper branches
 * collapsed, `--from` draws one), `--limit` / `--skip` pages, and `--json` written in pieces but
 * exactly as stored.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../src/backends/sqlite/index.js';
import { MAX_FORK_DEPTH, renderSessionTree } from '../../src/tools/session-tree.js';
import { chain, expectLinearGrowth, nestedForks, sideId, trunkId } from '../support/big-sessions.js';
import { runSessionCli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'flue-persist-show-large-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const show = (...args: string[]) => runSessionCli(['show', 'sqlite:big.db', ...args], dir);
const width = (line: string) => [...line].length;

describe('show on large sessions', () => {
	beforeAll(async () => {
		const store = sqliteStore(join(dir, 'big.db'));
		await store.save('forks', nestedForks(20_000));
		await store.save('small-forks', nestedForks(3));
		await store.save('chain', chain(3_000));
		await store.close();
	}, 120_000);

	it('draws in CPU time linear in the entries, up to 100,000, as a chain, as nested forks and as one fork of many branches', () => {
		const drawn: Array<[string, number, string]> = [];
		expectLinearGrowth((data, shape) => void drawn.push([shape, data.entries.length, renderSessionTree(shape, data, { width: 120 })]));
		expect(Math.max(...drawn.map(([, n]) => n))).toBeGreaterThanOrEqual(99_999);
		for (const [shape, , text] of drawn) {
			expect(
				text.split('\n').every((line) => width(line) <= 120),
				shape,
			).toBe(true);
		}
	});

	it('draws 20,000 nested forks: the first 16 levels, then one collapsed line per branch with the --from that draws it', async () => {
		const out = await show('forks');
		expect(out.err).toBe('');
		expect(out.code).toBe(0);
		const lines = out.out.trimEnd().split('\n');
		expect(lines[0]).toBe('session "forks" · 40,001 entries · 20,001 branches');
		expect(lines.every((line) => width(line) <= 120)).toBe(true);
		const deepest = MAX_FORK_DEPTH;
		// The trunk entry at fork 16 is the last one drawn with its text; its two branches are collapsed.
		expect(lines).toContain(`${'   '.repeat(deepest - 1)}└─ ● ${trunkId(deepest)}  user: turn ${deepest}`);
		expect(lines).toContain(`${'   '.repeat(deepest)}├─ ○ ${sideId(deepest)}  ⋯ 1 entry deeper than ${deepest} forks: --from ${sideId(deepest)}`);
		expect(lines).toContain(
			`${'   '.repeat(deepest)}└─ ● ${trunkId(deepest + 1)}  ⋯ 39,967 entries deeper than ${deepest} forks: --from ${trunkId(deepest + 1)}`,
		);
		expect(lines.at(-1)).toBe(`⚠ 2 branches deeper than ${deepest} forks are not drawn; --from <entry id> draws one`);
		expect(lines.length).toBeLessThan(60);
	});

	it('--from draws the branch of one entry, with the header of the whole session', async () => {
		const out = await show('forks', '--from', trunkId(17));
		expect(out.code).toBe(0);
		const lines = out.out.trimEnd().split('\n');
		expect(lines[0]).toBe('session "forks" · 40,001 entries · 20,001 branches');
		expect(lines).toContain(`from ${trunkId(17)}: a branch of 39,967 entries`);
		expect(lines).toContain(`● ${trunkId(17)}  assistant: turn 17`);
		expect(lines).toContain(`├─ ○ ${sideId(17)}  assistant: side 17`);
		expect(lines).toContain(`└─ ● ${trunkId(18)}  user: turn 18`);
		const unknown = await show('forks', '--from', 'nope');
		expect(unknown.code).toBe(2);
		expect(unknown.err).toContain('entry "nope" is not in session "forks"');
	});

	it('--limit and --skip page through the drawing, and say how to go on', async () => {
		const all = (await show('chain')).out.trimEnd().split('\n');
		const body = all.slice(all.indexOf('') + 1);
		expect(body).toHaveLength(3000);
		const first = await show('chain', '--limit', '1000');
		expect(first.code).toBe(0);
		const firstBody = first.out
			.trimEnd()
			.split('\n')
			.slice(all.indexOf('') + 1);
		expect(firstBody).toEqual(body.slice(0, 1000));
		expect(first.err).toBe('Drew entries 1 to 1,000 of 3,000. The next ones: flue-persist show sqlite:big.db chain --skip 1000 --limit 1000\n');
		const second = await show('chain', '--skip', '1000', '--limit', '1000');
		expect(
			second.out
				.trimEnd()
				.split('\n')
				.slice(all.indexOf('') + 1),
		).toEqual(body.slice(1000, 2000));
		const last = await show('chain', '--skip', '2500', '--limit', '1000');
		expect(
			last.out
				.trimEnd()
				.split('\n')
				.slice(all.indexOf('') + 1),
		).toEqual(body.slice(2500));
		expect(last.err).toBe('');
		expect((await show('chain', '--limit', '0')).code).toBe(2);
		expect((await show('chain', '--skip', '-1')).code).toBe(2);
	});

	it('pages keep the branch lines of the forks they start inside', async () => {
		const all = (await show('small-forks')).out.trimEnd().split('\n');
		const body = all.slice(all.indexOf('') + 1);
		const page = (await show('small-forks', '--skip', '3', '--limit', '2')).out.trimEnd().split('\n');
		expect(page.slice(page.indexOf('') + 1)).toEqual(body.slice(3, 5));
		expect(body[3]).toBe(`   ├─ ○ ${sideId(1)}  assistant: side 1`);
	});

	it('--json prints the session exactly as stored, however large', async () => {
		const out = await show('forks', '--json');
		expect(out.code).toBe(0);
		expect(out.out).toBe(`${JSON.stringify(nestedForks(20_000), null, 2)}\n`);
	});
});
