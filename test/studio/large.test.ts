/**
 * The studio on sessions too large or too branchy to draw whole: the server's layout grows
 * linearly with the entries in every shape (100,000 entries) and sends a first page of rows; the page draws that
 * page at once, more on request, and opens branches nested too deep as drawings of their own;
 * rows asked for after the session changed are refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/memory-store.js';
import type { RowPage, SessionView } from '../../src/studio/api-types.js';
import { type Studio, startStudio } from '../../src/studio/server.js';
import { buildSessionView, ROW_PAGE } from '../../src/studio/session-view.js';
import { MAX_FORK_DEPTH } from '../../src/tools/session-tree.js';
import { chain, expectLinearGrowth, nestedForks, trunkId } from '../support/big-sessions.js';
import { launchChromium, requireChromium } from '../support/chromium.js';

const dir = mkdtempSync(join(tmpdir(), 'flue-persist-studio-large-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the session view of 100,000 entries', () => {
	it('is laid out in CPU time linear in the entries as a chain, as nested forks and as one fork of many branches, with one page of rows', () => {
		const views: SessionView[] = [];
		expectLinearGrowth((data, shape) => void views.push(buildSessionView(shape, data)));
		for (const view of views) {
			expect(view.tree.rows.length, view.id).toBeLessThanOrEqual(ROW_PAGE);
			expect(JSON.stringify(view).length, view.id).toBeLessThan(1_000_000);
		}
	});
});

describe('the studio page on large sessions', () => {
	let studio: Studio;
	let context: BrowserContext;
	let page: Page;
	const store = memoryStore();

	beforeAll(async () => {
		requireChromium();
		await store.save('chain', chain(100_000));
		await store.save('forks', nestedForks(20_000));
		studio = await startStudio({ source: { store, describe: 'memory' }, port: 0 });
		context = await launchChromium(dir);
		page = await context.newPage();
	}, 120_000);
	afterAll(async () => {
		await context?.close();
		await studio?.close();
	});

	async function open(id: string): Promise<number> {
		await page.goto('about:blank');
		const started = Date.now();
		await page.goto(`${studio.url}#id=${encodeURIComponent(id)}`);
		await page.waitForSelector('#detail[data-state="ready"] article.session', { timeout: 30_000 });
		return Date.now() - started;
	}

	it('opens a 100,000-entry chain with its first rows drawn, and draws more on request', async () => {
		const ms = await open('chain');
		console.log(`studio: 100,000-entry chain opened in ${ms} ms (memory store)`);
		expect(await page.locator('li.entry').count()).toBe(ROW_PAGE);
		expect(await page.textContent('.tree-more')).toContain(`Showing ${ROW_PAGE} of 100,000 rows.`);
		await page.click('[data-action="more-rows"]');
		await page.waitForSelector(`.tree-more[data-drawn="${2 * ROW_PAGE}"]`);
		expect(await page.locator('li.entry').count()).toBe(2 * ROW_PAGE);
		// The rows go on where the first page stopped.
		const ids = await page.$$eval('li.entry', (l) => l.map((x) => x.getAttribute('data-index')));
		expect(ids).toEqual(Array.from({ length: 2 * ROW_PAGE }, (_, i) => String(i)));

		// A largest entry whose row is not drawn yet: the line under the tree says so.
		const largest = page.locator('ol.largest button').first();
		const largestId = (await largest.textContent())!;
		expect(await page.locator(`li.entry[data-entry-id="${largestId}"]`).count()).toBe(0);
		await largest.click();
		expect(await page.textContent('.tree > .tree-more')).toMatch(/^Entry [\d,]+ is not drawn yet: show more rows, or open the branch it is in\./);
		expect(await page.isVisible('.tree > .tree-more')).toBe(true);

		// The leaf is 99,400 rows further: "go to the leaf" draws the last entries up to it on their own.
		expect(await page.locator('li.entry.leaf').count()).toBe(0);
		await page.click('[data-action="go-to-leaf"]');
		await page.waitForSelector('.leaf-tail li.entry.leaf');
		expect(await page.locator('.leaf-tail li.entry').count()).toBe(50);
		expect(await page.getAttribute('.leaf-tail li.entry.leaf', 'data-index')).toBe('99999');
	});

	it(`opens 20,000 nested forks: ${MAX_FORK_DEPTH} levels of branches, then collapsed rows that open on a click`, async () => {
		const ms = await open('forks');
		console.log(`studio: 20,000 nested forks opened in ${ms} ms (memory store)`);
		// Boxes around each row: the deepest drawn entry sits in one per fork, its collapsed branches one further.
		const boxes = (selector: string) =>
			page.$$eval(selector, (all) =>
				Math.max(
					...all.map((el) => {
						let n = 0;
						for (let p: typeof el | null = el; p; p = p.parentElement) if (p.tagName === 'DETAILS') n++;
						return n;
					}),
				),
			);
		expect(await boxes('li.entry:not(.collapsed)')).toBe(MAX_FORK_DEPTH);
		expect(await boxes('li.entry.collapsed')).toBe(MAX_FORK_DEPTH + 1);
		const collapsed = page.locator('li.entry.collapsed');
		expect(await collapsed.count()).toBe(2);
		const deeper = page.locator(`li.entry.collapsed[data-entry-id="${trunkId(MAX_FORK_DEPTH + 1)}"]`);
		expect(await deeper.getAttribute('data-on-path')).toBe('true');
		expect(await deeper.textContent()).toContain('39,967 entries nested too deep to draw here');
		await deeper.locator('[data-action="open-branch"]').click();
		await page.waitForSelector(`li.entry.collapsed.opened li.entry[data-entry-id="${trunkId(MAX_FORK_DEPTH + 1)}"]`);
		// The branch is drawn from its own first entry, its forks nested from there.
		expect(await deeper.locator(`li.entry[data-entry-id="${trunkId(MAX_FORK_DEPTH + 2)}"]`).count()).toBe(1);
	});

	it('refuses rows of a session that changed since the page showed it', async () => {
		const get = async (params: Record<string, string>) =>
			fetch(`${studio.origin}/api/rows?${new URLSearchParams(params)}`, { headers: { 'x-studio-token': studio.token } });
		const first = (await (await fetch(`${studio.origin}/api/session?id=chain`, { headers: { 'x-studio-token': studio.token } })).json()) as SessionView;
		const more = await get({ id: 'chain', rev: first.tree.rev, offset: String(ROW_PAGE) });
		expect(more.status).toBe(200);
		expect(((await more.json()) as RowPage).rows[0]).toMatchObject({ kind: 'entry', index: ROW_PAGE });
		expect((await get({ id: 'chain', rev: 'an older one', offset: '0' })).status).toBe(409);
		expect((await get({ id: 'chain', rev: first.tree.rev, from: '100000' })).status).toBe(400);
	});
});
