/**
 * The studio: in a real browser (Debian's chromium, driven by playwright-core) the list loads,
 * search and filters narrow it, a branched session with a compaction is drawn as a tree with the
 * leaf path marked and tool calls folded, untrusted content stays text, doctor's findings show,
 * deletes need --allow-delete and a confirmation; over plain HTTP, requests without the token
 * (or for another host) are refused; the tree rows of unusual sessions (several roots, cycles,
 * a leaf with children); the list pages through 100,000 sessions in bounded steps; and the
 * `studio` command serves until Ctrl-C.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sqliteStore } from '../../src/backends/sqlite/index.js';
import { conversation, emptySession, entryId, messageEntry } from '../../src/conformance/fixtures.js';
import { browserCommand, openInBrowser } from '../../src/studio/open-browser.js';
import { type Studio, startStudio, studioSource } from '../../src/studio/server.js';
import { buildSessionView, DEFAULT_PREVIEW, type EntryRow } from '../../src/studio/session-view.js';
import { type OpenedStore, openStore } from '../../src/tools/open-store.js';
import type { SessionData, SessionEntry } from '../../src/types.js';
import { launchChromium, requireChromium } from '../support/chromium.js';
import { startStudioCli } from '../support/cli.js';
import { root } from '../support/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'flue-persist-studio-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const e = entryId;
const XSS_ID = '<img src=x onerror="window.__pwned = 1">';
const XSS_TEXT = '<b>bold?</b><script>window.__pwned = 2</script><img src=x onerror="window.__pwned = 3">';

/**
 * A session that branches after turn 1 (the leaf path goes on, another branch is left), with a
 * compaction on the leaf path that keeps turn 2 onward, and a tool result larger than a preview.
 */
function branchedSession(): SessionData {
	const data = conversation(2);
	data.entries.push(
		messageEntry('b0', e(3), 'user', 'Try it the other way instead?', 20),
		messageEntry('b1', 'b0', 'assistant', 'The other way works too.', 21),
	);
	const compaction = {
		type: 'compaction',
		id: 'c0',
		parentId: e(7),
		timestamp: '2026-01-01T00:00:07.500Z',
		summary: 'The user asked what steps 0 and 1 print; both printed their output.',
		firstKeptEntryId: e(4),
		tokensBefore: 12345,
	};
	data.entries.push(compaction as SessionEntry);
	data.leafId = 'c0';
	return conversation(1, { base: data, startAt: 8, toolBytes: 5000 });
}
/** The path from the root to the leaf of `branchedSession()`, and what is off it. */
const LEAF_PATH = [e(0), e(1), e(2), e(3), e(4), e(5), e(6), e(7), 'c0', e(8), e(9), e(10), e(11)];
const TOOL_RESULTS = [e(2), e(6), e(10)];
const OFF_PATH = ['b0', 'b1'];

const SEEDED: Array<[string, SessionData]> = [
	...Array.from({ length: 12 }, (_, i): [string, SessionData] => [`support-${String(i + 1).padStart(4, '0')}`, conversation(1 + (i % 4))]),
	['billing-0042', conversation(1)],
	['billing-0043', conversation(3)],
	['empty-one', emptySession()],
	[XSS_ID, { ...emptySession(), entries: [messageEntry('x1', null, 'user', XSS_TEXT)], leafId: 'x1' }],
	['damaged-leaf', { ...conversation(1), leafId: 'gone' }],
	['branched-demo', branchedSession()],
];
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const ALL_IDS = SEEDED.map(([id]) => id);

/** Saves the sessions one minute apart on a fixed clock, so that the page (and its screenshot) is the same on every run. */
async function seed(file: string, sessions: Array<[string, SessionData]>): Promise<void> {
	const store = sqliteStore(file);
	vi.useFakeTimers({ toFake: ['Date'] });
	try {
		for (const [i, [id, data]] of sessions.entries()) {
			vi.setSystemTime(T0 + i * 60_000);
			await store.save(id, data);
		}
	} finally {
		vi.useRealTimers();
		await store.close();
	}
}

const launch = () => launchChromium(dir);

/** The session ids the list shows, top to bottom. */
const shownIds = (page: Page) => page.$$eval('#session-rows tr', (rows) => rows.map((r) => r.getAttribute('data-session-id')));

async function waitForList(page: Page, expected: string[]): Promise<void> {
	await expect
		.poll(async () => ({ state: await page.getAttribute('#list-status', 'data-state'), ids: await shownIds(page) }), { timeout: 10_000 })
		.toEqual({ state: 'ready', ids: expected });
}

/** What the page's own scripts could have set, had any markup of the sessions run. */
const pwned = (page: Page) => page.evaluate('typeof window.__pwned');

/** Loads the page afresh (a bare change of the fragment would keep the filters and the scroll). */
async function fresh(page: Page, url: string): Promise<void> {
	await page.goto('about:blank');
	await page.goto(url);
}

async function openSession(page: Page, studio: Studio, id: string): Promise<void> {
	await fresh(page, `${studio.url}#id=${encodeURIComponent(id)}`);
	await page.waitForSelector('#detail[data-state="ready"] article.session', { timeout: 10_000 });
	expect(await page.getAttribute('article.session', 'data-session-id')).toBe(id);
}

/** GET with any headers, including a Host that fetch would not let a test choose. */
function rawGet(url: string, headers: Record<string, string> = {}): Promise<number> {
	return new Promise((resolveStatus, reject) => {
		const req = request(url, { headers }, (res) => {
			res.resume();
			resolveStatus(res.statusCode ?? 0);
		});
		req.on('error', reject);
		req.end();
	});
}

describe('studio in a browser', () => {
	const file = join(dir, 'sessions.db');
	let opened: OpenedStore;
	let studio: Studio;
	let context: BrowserContext;
	let page: Page;
	const errors: string[] = [];

	beforeAll(async () => {
		requireChromium();
		await seed(file, SEEDED);
		// A relative URL, so that the page (and the screenshot) shows the same store name on every machine.
		opened = await openStore('sqlite:sessions.db', { cwd: dir, intent: 'read' });
		studio = await startStudio({ source: studioSource(opened), port: 0 });
		context = await launch();
		page = await context.newPage();
		page.on('pageerror', (error) => errors.push(error.message));
		page.on('console', (message) => {
			if (message.type() === 'error') errors.push(message.text());
		});
	});
	afterAll(async () => {
		await context?.close();
		await studio?.close();
		await opened?.close();
	});

	it('lists the sessions of the store, newest first, ids as plain text', async () => {
		await fresh(page, studio.url);
		await waitForList(page, [...ALL_IDS].reverse());
		expect(await page.textContent('#store')).toBe('sqlite:sessions.db (table flue_sessions, log layout)');
		expect(await page.textContent('#mode')).toBe('read-only');
		expect(await page.textContent('#list-status')).toBe(`${ALL_IDS.length} sessions, newest first`);
		// The id made of markup is a link whose text is the id itself; nothing of it became an element.
		const link = page.locator('#session-rows tr a', { hasText: 'onerror' });
		expect(await link.textContent()).toBe(XSS_ID);
		expect(await page.locator('#session-rows img').count()).toBe(0);
		expect(await pwned(page)).toBe('undefined');
		expect(errors).toEqual([]);
	});

	it('narrows the list by search, prefix and date, and sorts by size', async () => {
		await fresh(page, studio.url);
		await waitForList(page, [...ALL_IDS].reverse());
		await page.fill('#q', 'BILLING');
		await waitForList(page, ['billing-0043', 'billing-0042']);
		await page.fill('#q', '');
		await page.fill('#prefix', 'support-000');
		await waitForList(page, [
			'support-0009',
			'support-0008',
			'support-0007',
			'support-0006',
			'support-0005',
			'support-0004',
			'support-0003',
			'support-0002',
			'support-0001',
		]);
		await page.fill('#prefix', '');
		// Written at T0 + 15 min or later: the last three sessions saved.
		await page.fill('#since', new Date(T0 + 15 * 60_000).toISOString());
		await waitForList(page, ALL_IDS.slice(15).reverse());
		await page.fill('#since', '');
		await page.fill('#q', 'ing-00');
		await page.selectOption('#sort', 'size');
		const sizes = (await opened.store.list({ prefix: 'billing-', limit: 10 })).sessions;
		await waitForList(
			page,
			[...sizes].sort((a, b) => b.bytes - a.bytes).map((s) => s.id),
		);
		await page.selectOption('#sort', 'id');
		await waitForList(page, ['billing-0042', 'billing-0043']);
		await page.fill('#q', 'no-such-session');
		await waitForList(page, []);
		expect(await page.textContent('#list-status')).toBe('0 sessions match');
		expect(errors).toEqual([]);
	});

	it('draws a branched session as a tree: the leaf path marked, the compaction as a boundary, tool calls folded', async () => {
		await openSession(page, studio, 'branched-demo');
		const entries = await page.$$eval('li.entry', (items) =>
			items.map((li) => ({
				id: li.getAttribute('data-entry-id'),
				onPath: li.getAttribute('data-on-path'),
				leaf: li.getAttribute('data-leaf'),
				classes: li.className.split(' '),
			})),
		);
		// Tool results are drawn inside their calls, so they have no row of their own.
		const rows = entries.map((r) => r.id);
		expect(rows).toEqual([...LEAF_PATH.filter((id) => !TOOL_RESULTS.includes(id)), ...OFF_PATH]);
		expect(entries.filter((r) => r.onPath === 'true').map((r) => r.id)).toEqual(LEAF_PATH.filter((id) => !TOOL_RESULTS.includes(id)));
		expect(entries.filter((r) => r.classes.includes('on-path')).map((r) => r.id)).toEqual(LEAF_PATH.filter((id) => !TOOL_RESULTS.includes(id)));
		expect(entries.filter((r) => r.onPath === 'false').map((r) => r.id)).toEqual(OFF_PATH);
		expect(entries.filter((r) => r.leaf === 'true').map((r) => r.id)).toEqual([e(11)]);
		expect(await page.locator('li.entry.leaf .leaf-tag').textContent()).toBe('leaf');

		// The fork after turn 1: two branches, the one on the leaf path holding turn 2 onward.
		const fork = page.locator(`li.fork[data-fork-of="${e(3)}"]`);
		expect(await fork.locator(':scope > details.branch').count()).toBe(2);
		expect(
			await fork.locator(':scope > details.branch[data-on-path="true"] > ol > li.entry').evaluateAll((l) => l.map((x) => x.getAttribute('data-entry-id'))),
		).toEqual([e(4), e(5), e(7), 'c0', e(8), e(9), e(11)]);
		expect(
			await fork.locator(':scope > details.branch[data-on-path="false"] > ol > li.entry').evaluateAll((l) => l.map((x) => x.getAttribute('data-entry-id'))),
		).toEqual(OFF_PATH);
		expect(await fork.locator(':scope > details.branch[data-on-path="false"]').getAttribute('class')).toContain('off-path');

		// The compaction is a boundary; what it summarized is marked as such, what it kept is not.
		const compaction = page.locator('li.entry.compaction.boundary[data-entry-id="c0"]');
		expect(await compaction.locator('.boundary-line').textContent()).toBe(`compaction · 12,345 tokens before · keeps ${e(4)} onward`);
		expect(await compaction.locator('.text').textContent()).toBe('The user asked what steps 0 and 1 print; both printed their output.');
		const summarized = await page.$$eval('li.entry.summarized', (l) => l.map((x) => x.getAttribute('data-entry-id')));
		expect(summarized).toEqual([e(0), e(1), e(3)]);

		// Tool calls are folded: closed, each holding the result entry that answered it.
		const calls = page.locator('details.tool-call');
		expect(await calls.evaluateAll((l) => l.map((d) => [d.getAttribute('data-result-entry-id'), d.hasAttribute('open')]))).toEqual(
			TOOL_RESULTS.map((id) => [id, false]),
		);
		expect(await page.locator(`li.entry[data-entry-id="${e(1)}"]`).getAttribute('data-folded')).toBe(e(2));
		const stored = (await opened.store.load('branched-demo'))!.entries as Array<SessionEntry & { message: { content: Array<{ text: string }> } }>;
		const byEntryId = (id: string) => stored.find((x) => x.id === id)!;
		const lines = byEntryId(e(2)).message.content[0]!.text.replace(/\n$/, '').split('\n').length;
		expect(await calls.first().locator('summary').textContent()).toBe(`⚙ bash(echo step 0) → ${lines} lines`);
		expect(await calls.first().locator('.result').isVisible()).toBe(false);
		await calls.first().locator('summary').click();
		expect(await calls.first().locator('.result').isVisible()).toBe(true);

		// The 5,000-character result is cut to a preview and expands in full on request.
		const big = page.locator(`details.tool-call[data-result-entry-id="${e(10)}"]`);
		await big.locator('summary').click();
		expect(await big.locator('.result').getAttribute('data-truncated')).toBe('true');
		const full = byEntryId(e(10));
		expect(full.message.content[0]!.text).toHaveLength(5000);
		await big.locator('button.expand').click();
		await page.waitForSelector(`details.tool-call[data-result-entry-id="${e(10)}"] .result[data-expanded="true"]`);
		expect(await big.locator('.result').textContent()).toBe(full.message.content[0]!.text);

		// "Only the leaf path" hides the branch that was left.
		await page.check('#path-only');
		expect(await page.locator('li.entry[data-entry-id="b0"]').isVisible()).toBe(false);
		expect(await page.locator(`li.entry[data-entry-id="${e(11)}"]`).isVisible()).toBe(true);
		expect(errors).toEqual([]);
	});

	it('shows the size entry by entry and the checks of the session; takes the screenshot for the docs', async () => {
		await openSession(page, studio, 'branched-demo');
		const data = (await opened.store.load('branched-demo'))!;
		// One point per entry, after the header; the last one is the whole session.
		const points = (await page.getAttribute('svg.growth-chart polyline', 'points'))!.trim().split(' ');
		expect(points).toHaveLength(data.entries.length + 1);
		expect(await page.locator('svg.growth-chart line.compaction-mark').count()).toBe(1);
		const total =
			Buffer.byteLength(JSON.stringify({ ...data, entries: undefined })) + data.entries.reduce((n, x) => n + Buffer.byteLength(JSON.stringify(x)), 0);
		expect(await page.getAttribute('svg.growth-chart', 'aria-label')).toBe(
			`Size after each entry: ${(total / 1024).toFixed(1)} KiB after ${data.entries.length} entries`,
		);
		expect(await page.getAttribute('section.checks', 'data-problems')).toBe('0');

		const shot = await page.screenshot({ type: 'png' });
		expect(shot.subarray(1, 4).toString('latin1')).toBe('PNG');
		expect(shot.readUInt32BE(16)).toBe(1280);
		expect(shot.length).toBeLessThan(500_000);
		const target = join(root, 'docs', 'images', 'studio.png');
		// Written only when it changed, so that a run on an unchanged page leaves the work tree clean.
		if (!existsSync(target) || !readFileSync(target).equals(shot)) {
			mkdirSync(join(root, 'docs', 'images'), { recursive: true });
			writeFileSync(target, shot);
		}

		await openSession(page, studio, 'damaged-leaf');
		expect(await page.locator('section.checks li.problem').evaluateAll((l) => l.map((x) => x.getAttribute('data-kind')))).toEqual(['leaf-missing']);
		expect(await page.textContent('section.checks li.problem')).toContain('the leaf "gone" is not an entry of the session');
	});

	it('keeps session content as text', async () => {
		await openSession(page, studio, XSS_ID);
		expect(await page.textContent('article.session h2')).toBe(XSS_ID);
		expect(await page.textContent('li.entry[data-entry-id="x1"] .text')).toBe(XSS_TEXT);
		expect(await page.locator('article.session h2 *, li.entry[data-entry-id="x1"] .text *, #detail script, #detail img').count()).toBe(0);
		expect(await pwned(page)).toBe('undefined');
	});

	it('runs doctor from the page and marks what it found in the list and the session', async () => {
		await openSession(page, studio, 'damaged-leaf');
		expect(await page.textContent('#doctor-status')).toBe('Doctor has not checked this database yet.');
		await page.click('#doctor-run');
		await page.waitForSelector('#doctor-status[data-state="done"]');
		expect(await page.textContent('#doctor-status')).toMatch(/^Doctor found 1 problem in 1 session \(/);
		await page.waitForSelector('#session-rows tr[data-session-id="damaged-leaf"] .badge.warn');
		expect(await page.locator('#session-rows .badge.warn').count()).toBe(1);
		await page.waitForSelector('#detail[data-state="ready"] section.checks p.muted:has-text("Includes the last doctor run")');
		// The same finding from the loaded data and from doctor is shown once.
		expect(await page.locator('section.checks li.problem').count()).toBe(1);
	});

	it('is read-only without --allow-delete: no delete button, and the API refuses a delete', async () => {
		await openSession(page, studio, 'branched-demo');
		expect(await page.locator('[data-action="delete"]').count()).toBe(0);
		const url = `${studio.origin}/api/session?id=branched-demo&confirm=branched-demo`;
		const response = await fetch(url, { method: 'DELETE', headers: { 'x-studio-token': studio.token } });
		expect(response.status).toBe(403);
		expect(((await response.json()) as { error: string }).error).toContain('--allow-delete');
		expect(await opened.store.load('branched-demo')).not.toBeNull();
	});

	it('refuses every request without the token, with a wrong one, or for another host', async () => {
		const { origin, token } = studio;
		expect((await fetch(`${origin}/`)).status).toBe(403);
		expect((await fetch(`${origin}/?token=wrong`)).status).toBe(403);
		expect((await fetch(`${origin}/api/sessions`)).status).toBe(403);
		expect((await fetch(`${origin}/api/session?id=branched-demo`, { headers: { 'x-studio-token': `${token}x` } })).status).toBe(403);
		expect((await fetch(`${origin}/api/doctor`, { method: 'POST' })).status).toBe(403);
		// The token in the page URL opens the page; the API takes it in a header.
		const pageResponse = await fetch(`${origin}/?token=${encodeURIComponent(token)}`);
		expect(pageResponse.status).toBe(200);
		expect(pageResponse.headers.get('content-security-policy')).toContain("script-src 'nonce-");
		expect((await fetch(`${origin}/api/sessions`, { headers: { 'x-studio-token': token } })).status).toBe(200);
		// A page elsewhere that points its own name at 127.0.0.1 sends its own Host.
		expect(await rawGet(`${origin}/api/sessions`, { 'x-studio-token': token })).toBe(200);
		expect(await rawGet(`${origin}/api/sessions`, { 'x-studio-token': token, host: `attacker.example:${studio.port}` })).toBe(403);
		// An unknown path is 404, a known path with another method 405, both saying so.
		const unknown = await fetch(`${origin}/api/nothing-here`, { headers: { 'x-studio-token': token } });
		expect([unknown.status, ((await unknown.json()) as { error: string }).error]).toEqual([404, 'no such endpoint: /api/nothing-here']);
		const wrongMethod = await fetch(`${origin}/api/sessions`, { method: 'PUT', headers: { 'x-studio-token': token } });
		expect([wrongMethod.status, ((await wrongMethod.json()) as { error: string }).error]).toEqual([405, 'PUT is not allowed on /api/sessions']);
		// In a browser without the studio's cookie, the page is refused too.
		await context.clearCookies();
		const response = await page.goto(`${origin}/`);
		expect(response?.status()).toBe(403);
	});
});

describe('studio: a tool call with long arguments', () => {
	it('shows a preview of the command, and "show all" shows the whole command as the preview printed it', async () => {
		const file = join(dir, 'long-args.db');
		const command = `grep -rn ${Array.from({ length: 60 }, (_, i) => `pattern-${i}`).join(' -e ')} src/`;
		const data = conversation(1);
		(data.entries[1] as unknown as { message: { content: Array<{ arguments: unknown }> } }).message.content[0]!.arguments = { command };
		await seed(file, [['long-command', data]]);
		const opened = await openStore(`sqlite:${file}`, { cwd: dir, intent: 'read' });
		const studio = await startStudio({ source: studioSource(opened), port: 0 });
		const context = await launch();
		try {
			const page = await context.newPage();
			await openSession(page, studio, 'long-command');
			const call = page.locator('details.tool-call');
			await call.locator('summary').click();
			const args = call.locator('.args');
			expect(await args.getAttribute('data-truncated')).toBe('true');
			expect(command.length).toBeGreaterThan(DEFAULT_PREVIEW.args);
			expect(await call.locator('button.expand').textContent()).toBe(`show all ${command.length.toLocaleString('en-US')} characters`);
			await call.locator('button.expand').click();
			await page.waitForSelector('details.tool-call .args[data-expanded="true"]');
			expect(await args.textContent()).toBe(command);
		} finally {
			await context.close();
			await studio.close();
			await opened.close();
		}
	});
});

describe('studio with --allow-delete', () => {
	it('deletes a session only after the confirmation, one the store cannot load included', async () => {
		const file = join(dir, 'deletable.db');
		await seed(file, [
			['keep-me', conversation(1)],
			['delete-me', conversation(2)],
			['broken', conversation(1)],
		]);
		// Damage the store refuses to load: the page shows why, and deleting is the way out.
		const db = new Database(file);
		db.prepare("UPDATE flue_sessions_entries SET data = '{broken' WHERE session_id = 'broken' AND entry_id = ?").run(e(1));
		db.close();
		const opened = await openStore(`sqlite:${file}`, { cwd: dir, intent: 'modify' });
		const studio = await startStudio({ source: studioSource(opened), port: 0, allowDelete: true });
		const context = await launch();
		try {
			const page = await context.newPage();
			await openSession(page, studio, 'delete-me');
			expect(await page.textContent('#mode')).toBe('deletes allowed');
			await page.click('[data-action="delete"]');
			expect(await page.getAttribute('#confirm-delete', 'open')).toBe('');
			expect(await page.textContent('#confirm-id')).toBe('delete-me');
			await page.click('#confirm-cancel');
			expect(await page.getAttribute('#confirm-delete', 'open')).toBeNull();
			expect(await opened.store.load('delete-me')).not.toBeNull();

			// The API wants the id repeated: a bare delete is refused.
			const bare = await fetch(`${studio.origin}/api/session?id=delete-me`, { method: 'DELETE', headers: { 'x-studio-token': studio.token } });
			expect(bare.status).toBe(400);

			await page.click('[data-action="delete"]');
			await page.click('#confirm-ok');
			await page.waitForSelector('#detail[data-state="deleted"]');
			expect(await page.textContent('#detail')).toBe('Deleted delete-me.');
			expect(await shownIds(page)).toEqual(['broken', 'keep-me']);
			expect(await opened.store.load('delete-me')).toBeNull();
			expect(await opened.store.load('keep-me')).not.toBeNull();

			await openSession(page, studio, 'broken');
			expect(await page.textContent('section.checks .error')).toContain(
				`(CORRUPT): [flue-persist] [sqlite] session "broken": the stored data cannot be read back (entry "${e(1)}" is not valid JSON)`,
			);
			expect(await page.locator('section.conversation').count()).toBe(0);
			await page.click('[data-action="delete"]');
			await page.click('#confirm-ok');
			await page.waitForSelector('#detail[data-state="deleted"]');
			expect(await shownIds(page)).toEqual(['keep-me']);
		} finally {
			await context.close();
			await studio.close();
			await opened.close();
		}
	});
});

describe('the session view', () => {
	const rowsOf = (data: SessionData) => buildSessionView('s', data).tree.rows;
	const entryRows = (data: SessionData) => rowsOf(data).filter((r): r is EntryRow => r.kind === 'entry');

	it('draws several roots as a fork without a parent, and a cycle of parent links after the tree', () => {
		const data: SessionData = {
			...emptySession(),
			entries: [
				messageEntry('r1', null, 'user', 'one'),
				messageEntry('r2', null, 'user', 'two'),
				messageEntry('y1', 'y2', 'user', 'loop'),
				messageEntry('y2', 'y1', 'assistant', 'loop'),
			],
			leafId: 'r2',
		};
		const rows = rowsOf(data);
		expect(rows[0]).toMatchObject({ kind: 'fork', from: null, branches: 2, depth: 0 });
		expect(rows.slice(1).map((r) => (r.kind === 'entry' ? [r.id, r.depth, r.branch?.number ?? null, r.onPath, r.unreachable] : r.kind))).toEqual([
			['r1', 1, 1, false, false],
			['r2', 1, 2, true, false],
			['y1', 0, null, false, true],
			['y2', 0, null, false, true],
		]);
	});

	it('keeps a tool result that is the leaf as a row, marks entries past the leaf as off the path, and shows unknown entries as JSON', () => {
		const data = conversation(1);
		data.leafId = e(2);
		data.entries.push({ type: 'label', id: 'l1', parentId: e(3), timestamp: '2026-01-01T00:00:09.000Z', label: 'x'.repeat(50) } as unknown as SessionEntry);
		const rows = entryRows(data);
		expect(rows.map((r) => [r.id, r.onPath, r.leaf])).toEqual([
			[e(0), true, false],
			[e(1), true, false],
			[e(2), true, true],
			[e(3), false, false],
			['l1', false, false],
		]);
		expect(rows[1]!.toolCalls[0]!.result).toBeNull();
		expect(buildSessionView('s', data, { preview: { text: 20, args: 10 } }).tree.rows.at(-1)).toMatchObject({
			type: 'label',
			json: { text: '{"type":"label","id"', truncated: true },
		});
	});

	it('counts the size of every entry once, header included, and never cuts a character in half', () => {
		const data = conversation(3);
		const view = buildSessionView('s', data);
		const { entries, ...header } = data;
		expect(view.growth.headerBytes).toBe(Buffer.byteLength(JSON.stringify(header)));
		expect(view.growth.totalBytes).toBe(view.growth.headerBytes + entries.reduce((n, x) => n + Buffer.byteLength(JSON.stringify(x)), 0));
		expect(view.growth.points.at(-1)).toEqual([entries.length, view.growth.totalBytes]);
		expect(view.growth.points).toHaveLength(13);
		const cut = buildSessionView(
			's',
			{ ...emptySession(), entries: [messageEntry('u', null, 'user', 'ab😀cd')], leafId: 'u' },
			{ preview: { text: 3, args: 3 } },
		);
		expect((cut.tree.rows[0] as EntryRow).text).toEqual({ text: 'ab', truncated: true, length: 6 });
	});
});

describe('studio list over 100,000 sessions', () => {
	const file = join(dir, 'many.db');
	const N = 100_000;
	let opened: OpenedStore;

	beforeAll(async () => {
		// Flue's own table, filled the way Flue's store writes it: one JSON row per session.
		const store = sqliteStore(file, { layout: 'blob' });
		await store.save('seed', emptySession());
		await store.close();
		const db = new Database(file);
		const insert = db.prepare('INSERT INTO flue_sessions (id, data, updated_at) VALUES (?, ?, ?)');
		const row = JSON.stringify(emptySession());
		db.transaction(() => {
			for (let i = 0; i < N; i++) insert.run(`user-${String(i).padStart(6, '0')}`, row + ' '.repeat(i % 7), T0 + i * 1000);
		})();
		db.close();
		opened = await openStore(`sqlite:${file}`, { cwd: dir, intent: 'read' });
	});
	afterAll(async () => opened?.close());

	type ListBody = { sessions: Array<{ id: string; bytes: number }>; cursor: string | null; scanned: number; matches?: number; complete?: boolean };
	const get = async (studio: Studio, params: Record<string, string>): Promise<ListBody> => {
		const response = await fetch(`${studio.origin}/api/sessions?${new URLSearchParams(params)}`, { headers: { 'x-studio-token': studio.token } });
		expect(response.status).toBe(200);
		return (await response.json()) as ListBody;
	};

	it('pages by cursor, searches in bounded steps, and sorts what a bounded scan read', async () => {
		const studio = await startStudio({ source: studioSource(opened), port: 0 });
		try {
			const first = await get(studio, { prefix: 'user-', sort: 'id' });
			expect(first.sessions.map((s) => s.id)).toEqual(Array.from({ length: 100 }, (_, i) => `user-${String(i).padStart(6, '0')}`));
			expect(first.scanned).toBe(100);
			const second = await get(studio, { prefix: 'user-', sort: 'id', cursor: first.cursor! });
			expect(second.sessions[0]!.id).toBe('user-000100');

			// A search reads at most 20,000 ids a request and hands back a cursor to go on from.
			const found: string[] = [];
			let cursor: string | null = null;
			let requests = 0;
			do {
				const page: ListBody = await get(studio, { q: 'ER-09999', sort: 'id', ...(cursor ? { cursor } : {}) });
				expect(page.scanned).toBeLessThanOrEqual(20_000);
				found.push(...page.sessions.map((s) => s.id));
				cursor = page.cursor;
				requests++;
			} while (cursor !== null);
			expect(found).toEqual(Array.from({ length: 10 }, (_, i) => `user-09999${i}`));
			expect(requests).toBeGreaterThanOrEqual(5);

			// A search that matches from the middle of a store page resumes right after the last match.
			const a = await get(studio, { q: '5', sort: 'id', prefix: 'user-0000', limit: '3' });
			const b = await get(studio, { q: '5', sort: 'id', prefix: 'user-0000', limit: '3', cursor: a.cursor! });
			expect([...a.sessions, ...b.sessions].map((s) => s.id)).toEqual([
				'user-000005',
				'user-000015',
				'user-000025',
				'user-000035',
				'user-000045',
				'user-000050',
			]);

			const newest = await get(studio, { prefix: 'user-', sort: 'time' });
			expect(newest).toMatchObject({ matches: N, complete: true });
			expect(newest.sessions[0]!.id).toBe('user-099999');
			const next = await get(studio, { prefix: 'user-', sort: 'time', cursor: newest.cursor! });
			expect(next.scanned).toBe(0);
			expect(next.sessions[0]!.id).toBe('user-099899');
		} finally {
			await studio.close();
		}
		const bounded = await startStudio({ source: studioSource(opened), port: 0, limits: { sortScan: 30_000 } });
		try {
			const largest = await get(bounded, { prefix: 'user-', sort: 'size' });
			expect(largest).toMatchObject({ matches: 30_000, complete: false, scanned: 30_000 });
			expect(largest.sessions[0]!.id).toBe('user-000006');
		} finally {
			await bounded.close();
		}
	});
});

describe('the studio command', () => {
	it('prints a URL with a token, serves the page until Ctrl-C, and says how to start it again', async () => {
		const file = join(dir, 'cli.db');
		await seed(file, [['one', conversation(1)]]);
		const cli = startStudioCli(['--store', 'sqlite:cli.db', '--port', '0', '--no-open'], dir);
		const exit = cli.exit;
		await vi.waitFor(() => expect(cli.listening()).toBe(true), { timeout: 10_000 });
		const url = cli.out().trim();
		expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{32}$/);
		expect((await fetch(url)).status).toBe(200);
		expect((await fetch(url.replace(/\?token=.*/, ''))).status).toBe(403);
		expect(cli.err()).toContain('Read-only');
		expect(cli.err()).toContain('flue-persist studio --store sqlite:cli.db');
		cli.pressCtrlC();
		expect(await exit).toBe(0);
		expect(cli.err()).toContain('Stopped.');
		await expect(fetch(url)).rejects.toThrow();
	});

	it('refuses a bad port, a busy port and a missing store with a message', async () => {
		const bad = startStudioCli(['--store', 'sqlite:cli.db', '--port', 'eighty'], dir);
		expect(await bad.exit).toBe(2);
		expect(bad.err()).toContain('--port must be a whole number');

		const held = await openStore('sqlite:cli.db', { cwd: dir, intent: 'read' });
		const blocker = await startStudio({ source: studioSource(held), port: 0 });
		try {
			const busy = startStudioCli(['--store', 'sqlite:cli.db', '--port', String(blocker.port), '--no-open'], dir);
			expect(await busy.exit).toBe(1);
			expect(busy.err()).toContain(`Port ${blocker.port} on 127.0.0.1 is in use`);
		} finally {
			await blocker.close();
			await held.close();
		}

		const missing = startStudioCli(['--store', 'sqlite:nothing-here.db', '--port', '0', '--no-open'], dir);
		expect(await missing.exit).toBe(1);
		expect(missing.err()).toContain('there is no file nothing-here.db');
	});

	it('opens a browser with the platform command and never fails when it cannot', () => {
		expect(browserCommand('http://127.0.0.1:1/?token=a&b', 'linux')).toEqual({ command: 'xdg-open', args: ['http://127.0.0.1:1/?token=a&b'] });
		expect(browserCommand('http://x/', 'darwin')).toEqual({ command: 'open', args: ['http://x/'] });
		expect(browserCommand('http://x/?a&b', 'win32')).toEqual({ command: 'cmd', args: ['/c', 'start', '""', 'http://x/?a^&b'] });
		const throwing = () => {
			throw new Error('spawn ENOENT');
		};
		expect(openInBrowser('http://x/', { spawn: throwing })).toBe(false);
		let onError: ((error: Error) => void) | undefined;
		const failingLater = () => ({ on: (_event: 'error', listener: (error: Error) => void) => void (onError = listener), unref: () => undefined });
		expect(openInBrowser('http://x/', { spawn: failingLater })).toBe(true);
		expect(() => onError?.(new Error('xdg-open: not found'))).not.toThrow();
	});
});
