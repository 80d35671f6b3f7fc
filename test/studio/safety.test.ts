/**
 * The studio's secret and the text it shows. The browser is started on a private file with a
 * one-time code, never with the token on its command line (where `ps` shows it to every user);
 * the code works once and turns into an HttpOnly cookie that the page's script cannot read, and
 * neither stays in the address bar. Stored text with control characters and bidirectional
 * overrides is shown as visible escapes, in the list and in the session.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sqliteStore } from '../../src/backends/sqlite/index.js';
import { conversation, emptySession, messageEntry } from '../../src/conformance/fixtures.js';
import { memoryStore } from '../../src/memory-store.js';
import { CODE_LIFETIME_MS } from '../../src/studio/auth.js';
import { launchInBrowser } from '../../src/studio/open-browser.js';
import { type Studio, startStudio } from '../../src/studio/server.js';
import { launchChromium, requireChromium } from '../support/chromium.js';
import { startStudioCli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'flue-persist-studio-safety-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const EVIL_ID = 'inv\u202eoice\u001b[2Jfdp.exe';
const EVIL_TEXT = 'line one\nab\u202edcba\u2066 \u001b]0;title\u0007 \u0085 done';
/** What a page should never hand the reader raw: it would reorder or hide the text around it. */
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

let now = Date.UTC(2026, 0, 5);
let studio: Studio;
let context: BrowserContext;
let page: Page;
const spawned: Array<{ command: string; args: string[] }> = [];

beforeAll(async () => {
	requireChromium();
	const store = memoryStore();
	await store.save(EVIL_ID, { ...emptySession(), entries: [messageEntry('e\u202e1', null, 'user', EVIL_TEXT)], leafId: 'e\u202e1' });
	studio = await startStudio({ source: { store, describe: 'memory' }, port: 0, now: () => now });
	context = await launchChromium(dir);
	page = await context.newPage();
});
afterAll(async () => {
	await context?.close();
	await studio?.close();
});

const fakeSpawn = (command: string, args: string[]) => {
	spawned.push({ command, args });
	return { on: () => undefined, unref: () => undefined };
};

describe('opening the studio in a browser', () => {
	it('starts the browser on a private file, with no secret on its command line', () => {
		const { opened, page: launchPage } = launchInBrowser(studio.oneTimeUrl(), { platform: 'linux', spawn: fakeSpawn, dir });
		expect(opened).toBe(true);
		const { command, args } = spawned.at(-1)!;
		expect(command).toBe('xdg-open');
		expect(args).toHaveLength(1);
		expect(args[0]).toMatch(/^file:\/\//);
		expect(args.join(' ')).not.toContain(studio.token);
		expect(args.join(' ')).not.toContain('code=');
		const file = fileURLToPath(args[0]!);
		expect(file).toBe(launchPage.path);
		// Only this user can read the file, or enter the directory it is in.
		expect(statSync(file).mode & 0o777).toBe(0o600);
		expect(statSync(dirname(file)).mode & 0o777).toBe(0o700);
		expect(readFileSync(file, 'utf8')).toMatch(new RegExp(`url=${studio.origin.replace(/[.]/g, '\\.')}/\\?code=[\\w-]{32}"`));
		expect(readFileSync(file, 'utf8')).not.toContain(studio.token);
		launchPage.remove();
		expect(() => statSync(file)).toThrow();
	});

	it('opens the page from that file once: the code becomes an HttpOnly cookie, and leaves the address bar', async () => {
		const { page: launchPage } = launchInBrowser(studio.oneTimeUrl(), { platform: 'linux', spawn: fakeSpawn, dir });
		try {
			await context.clearCookies();
			await page.goto(spawned.at(-1)!.args[0]!);
			await page.waitForSelector('#list-status[data-state="ready"]', { timeout: 15_000 });
			expect(page.url()).toBe(`${studio.origin}/`);
			const cookies = await context.cookies(studio.origin);
			expect(cookies).toHaveLength(1);
			expect(cookies[0]).toMatchObject({ value: studio.token, httpOnly: true, sameSite: 'Strict', path: '/' });
			expect(await page.evaluate('document.cookie')).toBe('');
			// A reload carries on with the cookie.
			await page.reload();
			await page.waitForSelector('#list-status[data-state="ready"]');

			// The code is used up: the same file in a browser without the cookie is refused.
			await context.clearCookies();
			const again = await page.goto(
				new URL(
					readFileSync(launchPage.path, 'utf8')
						.match(/url=([^"]+)"/)![1]!
						.replace(/&amp;/g, '&'),
				).href,
			);
			expect(again?.status()).toBe(403);
		} finally {
			launchPage.remove();
		}
	});

	it('refuses a one-time code after its few minutes', async () => {
		const url = studio.oneTimeUrl();
		now += CODE_LIFETIME_MS + 1;
		expect((await fetch(url)).status).toBe(403);
		const fresh = studio.oneTimeUrl();
		expect((await fetch(fresh)).status).toBe(200);
		expect((await fetch(fresh)).status).toBe(403);
	});
});

describe('stored text in the page', () => {
	it('shows control characters and bidi overrides as visible escapes, in the list and in the session', async () => {
		await context.clearCookies();
		await page.goto(`${studio.url}#id=${encodeURIComponent(EVIL_ID)}`);
		await page.waitForSelector('#detail[data-state="ready"] article.session', { timeout: 15_000 });
		expect(await page.textContent('#session-rows td.id a')).toBe('inv\\u202eoice\\x1b[2Jfdp.exe');
		expect(await page.textContent('article.session h2')).toBe('inv\\u202eoice\\x1b[2Jfdp.exe');
		expect(await page.textContent('li.entry .eid')).toBe('e\\u202e1');
		// A block keeps its line breaks; everything else is escaped.
		expect(await page.textContent('li.entry .text')).toBe('line one\nab\\u202edcba\\u2066 \\x1b]0;title\\x07 \\x85 done');
		expect(await page.evaluate('document.body.innerText')).not.toMatch(RAW_CONTROL);
		// The ids still work as ids: the link and the data attributes carry them exactly.
		expect(await page.getAttribute('#session-rows tr', 'data-session-id')).toBe(EVIL_ID);
		expect(await page.getAttribute('li.entry', 'data-entry-id')).toBe('e\u202e1');
	});
});

describe('the studio command', () => {
	it('prints the store it serves with control characters escaped', async () => {
		const name = 'we\u001b]0;x\u0007ird.db';
		const store = sqliteStore(join(dir, name));
		await store.save('one', conversation(1));
		await store.close();
		const cli = startStudioCli(['--store', `sqlite:${name}`, '--port', '0', '--no-open'], dir);
		await vi.waitFor(() => expect(cli.listening()).toBe(true), { timeout: 10_000 });
		cli.pressCtrlC();
		expect(await cli.exit).toBe(0);
		expect(cli.out()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=/);
		expect(cli.err()).not.toMatch(RAW_CONTROL);
		expect(cli.err()).toContain('flue-persist studio: sqlite:we\\x1b]0;x\\x07ird.db');
	});
});
