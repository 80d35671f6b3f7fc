/**
 * The studio on a database written by the real Flue 2 runtime (sqlite() adapter), started through
 * the `studio` command and read in a real browser: the instance list, each instance as its
 * conversations (turns, the child task inside the tool call that ran it) with what the fake model
 * received and answered, the share of per-token delta records, doctor's findings on planted
 * damage, escaped text, and nothing written: no delete, no -wal or -shm file, the file unchanged.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Flue2Conversation, Flue2Message } from '../../src/flue2/fold.js';
import type { Flue2InstanceAnswer, Flue2InstancePage, Flue2ItemView, Flue2PartView } from '../../src/studio/api-types.js';
import { flue2ConversationViews } from '../../src/studio/flue2.js';
import { TOKEN_HEADER } from '../../src/studio/server.js';
import { damagedCopy, type Flue2Fixture, type Maybe, messageText, mysqlFixture, sqliteFixture, storedBatchRows } from '../flue2/support.js';
import { launchChromium } from '../support/chromium.js';
import { runSessionCli, startStudioCli } from '../support/cli.js';
import { fileDigest } from '../support/files.js';

let fixture: Maybe<Flue2Fixture>;
let browser: BrowserContext | null = null;
beforeAll(async () => {
	fixture = await sqliteFixture();
}, 180_000);
afterAll(async () => {
	await browser?.close();
});

function need(ctx: { skip(note?: string): never }): Flue2Fixture {
	if (!fixture.ok) ctx.skip(fixture.reason);
	return (fixture as { value: Flue2Fixture }).value;
}

async function page(fx: Flue2Fixture): Promise<Page> {
	browser ??= await launchChromium(fx.dir);
	return browser.newPage();
}

/** The `studio` command on `url`, as a person starts it, until `stop()` (Ctrl-C). */
async function startCli(fx: Flue2Fixture, args: string[]) {
	const cli = startStudioCli(args, fx.dir);
	return {
		exit: cli.exit,
		out: cli.out,
		err: cli.err,
		async ready(): Promise<string> {
			await vi.waitFor(() => expect(cli.listening()).toBe(true), { timeout: 15_000 });
			return cli.out().trim();
		},
		async stop(): Promise<number> {
			cli.pressCtrlC();
			return cli.exit;
		},
	};
}

/** Delta records of a stream and the bytes of its rows, counted straight from the rows (parts joined), read from a copy. */
function deltaRecordsInRows(fx: Flue2Fixture, path: string): { deltas: number; records: number; bytes: number } {
	let deltas = 0;
	let records = 0;
	let bytes = 0;
	for (const row of storedBatchRows(join(fx.dir, 'flue.db'), path)) {
		bytes += Buffer.byteLength(row.data) + row.parts.reduce((n, p) => n + Buffer.byteLength(p), 0);
		const list = JSON.parse(row.parts.length > 0 ? row.parts.join('') : row.data) as Array<{ type: string }>;
		records += list.length;
		deltas += list.filter((r) => r.type === 'assistant_text_delta' || r.type === 'assistant_reasoning_delta').length;
	}
	return { deltas, records, bytes };
}

const shownIds = (p: Page) => p.$$eval('#session-rows tr', (rows) => rows.map((r) => r.getAttribute('data-session-id')));

async function openInstance(p: Page, url: string, id: string): Promise<void> {
	await p.goto('about:blank');
	await p.goto(`${url}#id=${encodeURIComponent(id)}`);
	await p.waitForSelector('#detail[data-state="ready"] article.instance', { timeout: 15_000 });
	expect(await p.getAttribute('article.instance', 'data-session-id')).toBe(id);
}

/** The texts of the messages of one role drawn directly in a conversation (its child tasks not included). */
const texts = (p: Page, conversation: string, role: string) =>
	p.$$eval(`${conversation} > ol.turns > li.turn > .message.role-${role} > .part > .text`, (els) => els.map((e) => e.textContent ?? ''));

describe('studio on a Flue 2 SQLite database written by @flue/runtime', () => {
	it('lists the instances, draws each conversation as turns with the child task nested, and shows the delta share', async (ctx) => {
		const fx = need(ctx);
		const file = join(fx.dir, 'flue.db');
		const before = fileDigest(file);
		const cli = await startCli(fx, ['--store', 'sqlite:flue.db', '--port', '0', '--no-open']);
		const url = await cli.ready();
		expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{32}$/);
		expect(cli.err()).toContain('(Flue 2, format_version 1)');
		expect(cli.err()).toContain('Read-only: the studio never changes a Flue 2 database.');
		try {
			const p = await page(fx);
			await p.goto(url);
			await expect.poll(() => p.getAttribute('#list-status', 'data-state'), { timeout: 15_000 }).toBe('ready');
			expect((await shownIds(p)).sort()).toEqual([
				`compacting-agent/${fx.instances.gamma.id}`,
				`fixture-agent/${fx.instances.alpha.id}`,
				`fixture-agent/${fx.instances.beta.id}`,
			]);
			expect(await p.textContent('#mode')).toBe('Flue 2 · read-only');
			expect(await p.$$eval('[data-action="delete"]', (els) => els.length)).toBe(0);

			// alpha: every turn the fake model saw, and every answer it gave, in order; the large result cut.
			const alpha = `fixture-agent/${fx.instances.alpha.id}`;
			await openInstance(p, url, alpha);
			const users = fx.log
				.filter((e) => e.phase === 2)
				.at(-1)!
				.request.messages.filter((m) => m.role === 'user')
				.map(messageText);
			expect(users).toEqual(['Hello, this is the first turn.', 'Please look up order 42.', 'Are you still there?']);
			const root = 'section.conversation.root';
			expect(await texts(p, root, 'user')).toEqual(users);
			const answers = fx.log.filter((e) => users.includes(messageText([...e.request.messages].reverse().find((m) => m.role === 'user')!)));
			expect(await texts(p, root, 'assistant')).toEqual(answers.filter((e) => e.reply.text !== undefined).map((e) => e.reply.text));
			const tools = answers.filter((e) => e.reply.tool).map((e) => e.reply.tool!.name);
			expect(tools.length).toBeGreaterThan(0);
			expect(await p.$$eval(`${root} details.tool-call`, (els) => els.map((e) => e.getAttribute('data-tool')))).toEqual(tools);
			expect(await p.getAttribute(`${root} details.tool-call .result`, 'data-truncated')).toBe('true');
			expect(await p.$$eval(`${root} > ol.turns > li.turn`, (els) => els.length)).toBe(users.length);

			// The delta share, against the delta records counted in the rows themselves.
			const rows = deltaRecordsInRows(fx, `agents/${alpha}`);
			expect(rows.deltas).toBeGreaterThan(0);
			const card = 'section.card.sizes';
			expect(Number(await p.getAttribute(card, 'data-delta-records'))).toBe(rows.deltas);
			expect(Number(await p.getAttribute(card, 'data-records'))).toBe(rows.records);
			expect(Number(await p.getAttribute(card, 'data-stream-bytes'))).toBe(rows.bytes);
			expect(await p.textContent(`${card} .delta-share`)).toContain(
				`${rows.deltas.toLocaleString('en-US')} of ${rows.records.toLocaleString('en-US')} records (${((100 * rows.deltas) / rows.records).toFixed(1)}%) are per-token delta records`,
			);

			// beta: the child task inside the task call that ran it, with what the model saw and said there.
			const beta = `fixture-agent/${fx.instances.beta.id}`;
			await openInstance(p, url, beta);
			const child = `${root} .tool-wrap:has(> details.tool-call[data-tool="task"]) > section.conversation.child-task`;
			expect(await p.$$eval(child, (els) => els.length)).toBe(1);
			expect(await p.getAttribute(child, 'data-kind')).toBe('task');
			const delegated = fx.log.find((e) => e.reply.tool?.name === 'task')!.reply.tool!.arguments.prompt as string;
			expect(await texts(p, child, 'user')).toEqual([delegated]);
			const childAnswer = fx.log.find((e) => messageText([...e.request.messages].reverse().find((m) => m.role === 'user')!) === delegated)!.reply.text!;
			expect(await texts(p, child, 'assistant')).toEqual([childAnswer]);
			expect(await texts(p, root, 'user')).not.toContain(delegated);
			expect(await texts(p, root, 'user')).toContain('Delegate a small job to the helper.');

			// A delete is refused, whatever asks for it.
			const token = new URL(url).searchParams.get('token')!;
			const refused = await fetch(new URL(`/api/session?id=${encodeURIComponent(beta)}&confirm=${encodeURIComponent(beta)}`, url), {
				method: 'DELETE',
				headers: { [TOKEN_HEADER]: token },
			});
			expect(refused.status).toBe(403);
			expect(((await refused.json()) as { error: string }).error).toContain('only reads it');
			await p.close();
		} finally {
			expect(await cli.stop()).toBe(0);
		}
		// Nothing was written: the file is the same, and no -wal or -shm appeared beside it.
		expect(fileDigest(file)).toBe(before);
		expect(existsSync(`${file}-wal`)).toBe(false);
		expect(existsSync(`${file}-shm`)).toBe(false);
	}, 120_000);

	it('shows doctor findings on planted damage, and stored text as escaped text', async (ctx) => {
		const fx = need(ctx);
		const alpha = `fixture-agent/${fx.instances.alpha.id}`;
		const beta = `fixture-agent/${fx.instances.beta.id}`;
		const file = damagedCopy(fx, 'studio-damaged', (db) => {
			// alpha loses a part of its split batch; beta gets markup and a control character in a user text.
			db.prepare(`DELETE FROM flue_conversation_stream_batch_chunks WHERE path = 'agents/${alpha}' AND chunk_index = 2`).run();
			const row = db.prepare(`SELECT data FROM flue_conversation_stream_batches WHERE path = 'agents/${beta}' AND seq = 1`).get() as { data: string };
			const records = JSON.parse(row.data) as Array<Record<string, unknown>>;
			records[0]!.content = [{ type: 'text', text: '<img src=x onerror="window.__pwned = 1"> red \u001b[31m alert' }];
			db.prepare(`UPDATE flue_conversation_stream_batches SET data = ? WHERE path = 'agents/${beta}' AND seq = 1`).run(JSON.stringify(records));
		});
		const before = fileDigest(file);
		const refused = await startCli(fx, ['--store', `sqlite:${file}`, '--port', '0', '--no-open', '--allow-delete']);
		expect(await refused.exit).toBe(2);
		expect(refused.err()).toContain('is a Flue 2 database: the studio only reads it, and --allow-delete does not apply');

		const cli = await startCli(fx, ['--store', `sqlite:${file}`, '--port', '0', '--no-open']);
		const url = await cli.ready();
		try {
			const p = await page(fx);
			await p.goto(url);
			await expect.poll(() => p.getAttribute('#list-status', 'data-state'), { timeout: 15_000 }).toBe('ready');
			await p.click('#doctor-run');
			await expect.poll(() => p.getAttribute('#doctor-status', 'data-state'), { timeout: 30_000 }).toBe('done');
			expect(await p.textContent('#doctor-status')).toMatch(/^Doctor found 1 problem in 1 instance/);
			await expect
				.poll(() => p.$$eval(`#session-rows tr[data-session-id="${alpha}"] .badge.warn`, (els) => els.map((e) => e.textContent)), { timeout: 10_000 })
				.toEqual(['⚠ 1']);

			await openInstance(p, url, alpha);
			expect(await p.$$eval('section.checks li.problem', (els) => els.map((e) => e.getAttribute('data-kind')))).toEqual(['batch-parts-missing']);
			expect(await p.textContent('section.checks li.problem')).toMatch(/is stored in \d+ parts but part 2 is missing/);
			expect(await p.textContent('section.checks .error')).toContain('cannot be read whole');

			await openInstance(p, url, beta);
			const shown = await p.$$eval('section.conversation.root .message.role-user .text', (els) => els.map((e) => e.textContent ?? ''));
			expect(shown).toContain('<img src=x onerror="window.__pwned = 1"> red \\x1b[31m alert');
			expect(await p.$$eval('section.conversation img', (els) => els.length)).toBe(0);
			expect(await p.evaluate('typeof window.__pwned')).toBe('undefined');
			expect(await p.$$eval('section.checks li.problem', (els) => els.length)).toBe(0);
			expect(await p.textContent('section.checks')).toContain('The last doctor run found no damage in this instance.');
			await p.close();
		} finally {
			expect(await cli.stop()).toBe(0);
		}
		expect(fileDigest(file)).toBe(before);
		expect(existsSync(`${file}-wal`)).toBe(false);
		expect(existsSync(`${file}-shm`)).toBe(false);
	}, 120_000);
});

describe('studio on a Flue 2 MySQL database written by @flue/mysql', () => {
	type Fixture = Flue2Fixture & { database: { drop(): Promise<void> } };
	let mysql: Maybe<Fixture>;
	beforeAll(async () => {
		mysql = await mysqlFixture(`flue2_studio_${randomBytes(4).toString('hex')}`);
	}, 180_000);
	afterAll(async () => {
		if (mysql?.ok) await mysql.value.database.drop();
	});

	it('answers the instance list and an instance with its child task as ls and show read them, and finds no damage', async (ctx) => {
		if (!mysql.ok) ctx.skip(mysql.reason);
		const fx = (mysql as { value: Fixture }).value;
		const cli = await startCli(fx, ['--store', fx.url, '--port', '0', '--no-open']);
		const url = await cli.ready();
		try {
			const token = new URL(url).searchParams.get('token')!;
			const get = async <T>(path: string, method = 'GET'): Promise<T> => {
				const response = await fetch(new URL(path, url), { method, headers: { [TOKEN_HEADER]: token } });
				expect(response.status, path).toBeLessThan(300);
				return (await response.json()) as T;
			};
			const ls = JSON.parse((await runSessionCli(['ls', fx.url, '--json', '--sort', 'id'], fx.dir)).out) as Array<Record<string, unknown>>;
			const list = await get<Flue2InstancePage>('/api/instances?sort=id');
			expect(list.instances.map((i) => [i.id, i.records, i.deltaRecords, i.deltaBytes, i.streamBytes, i.bytes])).toEqual(
				ls.map((r) => [`${r.agent}/${r.instanceId}`, r.records, r.deltaRecords, r.deltaBytes, r.streamBytes, r.bytes]),
			);
			expect(list.instances.every((i) => i.deltaRecords > 0)).toBe(true);

			const beta = await get<Flue2InstanceAnswer>(`/api/instance?id=${encodeURIComponent(`fixture-agent/${fx.instances.beta.id}`)}`);
			expect(beta.loadError).toBeNull();
			const calls = beta.conversations[0]!.turns.flatMap((t) => t.items.flatMap((item) => (item.kind === 'message' ? item.parts : []))).filter(
				(p): p is Extract<Flue2PartView, { type: 'tool' }> => p.type === 'tool',
			);
			const task = calls.find((c) => c.name === 'task')!;
			expect(task.child?.kind).toBe('task');
			const delegated = fx.log.find((e) => e.reply.tool?.name === 'task')!.reply.tool!.arguments.prompt as string;
			const childTexts = task.child!.turns.flatMap((t) =>
				t.items.flatMap((item) => (item.kind === 'message' ? item.parts.flatMap((p) => (p.type === 'text' ? [`${item.role}: ${p.text.text}`] : [])) : [])),
			);
			expect(childTexts).toEqual([`user: ${delegated}`, 'assistant: There are 7 letters.']);
			expect(beta.conversations).toHaveLength(1);

			await get('/api/doctor', 'POST');
			await expect.poll(async () => (await get<{ state: string; problems: number }>('/api/doctor')).state, { timeout: 30_000 }).toBe('done');
			expect((await get<{ problems: number }>('/api/doctor')).problems).toBe(0);
		} finally {
			expect(await cli.stop()).toBe(0);
		}
	}, 120_000);
});

describe('an instance as trees of turns', () => {
	const conversation = (id: string, kind: string, timeline: Flue2Conversation['timeline']): Flue2Conversation => ({
		conversationId: id,
		kind,
		harness: null,
		session: null,
		parentConversationId: null,
		taskId: kind === 'task' ? `task-${id}` : null,
		agent: null,
		createdAt: null,
		messages: timeline.flatMap((t) => (t.kind === 'message' ? [t.message] : [])),
		timeline,
		records: timeline.length,
	});
	const message = (
		id: string,
		role: Flue2Message['role'],
		purpose: Flue2Message['purpose'],
		display: Flue2Message['display'],
		parts: Flue2Message['parts'],
	) => ({ kind: 'message' as const, message: { id, role, purpose, display, parts } });
	const text = (t: string) => ({ type: 'text' as const, text: t, state: 'done' as const });

	it('opens a turn at each user or dispatched message, nests a task in its call, and keeps unlinked and missing conversations', () => {
		const root = conversation('root', 'root', [
			message('u1', 'user', 'user', 'visible', [text('first')]),
			message('a1', 'assistant', 'assistant', 'visible', [
				{ type: 'dynamic-tool', toolName: 'task', toolCallId: 'call-1', state: 'output-available', input: { prompt: 'go' }, output: 'done' },
			]),
			{ kind: 'child', conversationId: 'child-1', type: 'task', taskId: 'task-child-1', toolCallId: 'call-1' },
			message('s1', 'system', 'advisory', 'hidden', [text('stream interrupted')]),
			message('s2', 'system', 'dispatch', 'diagnostic', [text('ticket closed')]),
			{ kind: 'child', conversationId: 'child-2', type: 'task', taskId: 'task-child-2', toolCallId: null },
			{ kind: 'child', conversationId: 'gone', type: 'task', taskId: 'task-gone', toolCallId: 'call-9' },
			{ kind: 'unknown', recordId: 'r9', type: 'hologram_projected', v: 2 },
		]);
		const views = flue2ConversationViews([
			root,
			conversation('child-1', 'task', [message('cu', 'user', 'user', 'visible', [text('go')])]),
			conversation('child-2', 'task', []),
			conversation('stray', 'task', []),
		]);
		expect(views.map((v) => v.conversationId)).toEqual(['root', 'stray']);
		const [first, second] = views[0]!.turns;
		expect(views[0]!.turns).toHaveLength(2);
		expect(first!.items.map((i) => (i.kind === 'message' ? i.id : i.kind))).toEqual(['u1', 'a1', 's1']);
		const call = (first!.items[1] as Extract<Flue2ItemView, { kind: 'message' }>).parts[0] as Extract<Flue2PartView, { type: 'tool' }>;
		expect(call.child?.conversationId).toBe('child-1');
		expect(call.output?.text).toBe('done');
		expect(
			second!.items.map((i) =>
				i.kind === 'message'
					? i.id
					: i.kind === 'child'
						? `child ${i.conversationId} ${i.conversation ? 'drawn' : 'missing'}`
						: i.kind === 'unknown'
							? `unknown ${i.type} v${i.v}`
							: i.kind,
			),
		).toEqual(['s2', 'child child-2 drawn', 'child gone missing', 'unknown hologram_projected v2']);
	});
});
