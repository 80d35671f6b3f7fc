/**
 * `show` prints stored text for a person: control characters, line separators and bidi overrides
 * in ids, texts, metadata and tool calls come out as visible escapes (`--json` stays exact), and
 * the shapes a tree should not have (a cycle of parent links, an entry that is its own parent)
 * are said up front.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../src/backends/sqlite/index.js';
import { conversation, emptySession, messageEntry } from '../../src/conformance/fixtures.js';
import type { SessionData, SessionEntry } from '../../src/types.js';
import { runSessionCli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'flue-persist-show-safety-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const show = (...args: string[]) => runSessionCli(['show', 'sqlite:safety.db', ...args], dir);
/** Anything a terminal would act on rather than print. */
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const EVIL_ID = 'ok\u001b]0;pwned\u0007\u202eevil\nforged';
function hostile(): SessionData {
	const data = conversation(1);
	const [user, call, result] = data.entries as [
		SessionEntry & { message: { content: Array<{ text?: string; arguments?: unknown }> } },
		SessionEntry & { message: { content: Array<{ arguments?: unknown; name?: string }> } },
		SessionEntry,
	];
	user.message.content[0]!.text = 'hello \u001b[31mred\u001b[0m \u202edesrever\u202c \u0085next';
	call.message.content[0]!.arguments = { command: 'rm -rf /\u001b[2K' };
	call.message.content[0]!.name = 'ba\u009bsh';
	(result as { id: string }).id = 'res\u0007ult';
	(data.entries[3] as { parentId: string }).parentId = 'res\u0007ult';
	data.metadata = { note: 'meta\u001b[1mdata' };
	data.leafId = data.entries[3]!.id;
	return data;
}

beforeAll(async () => {
	const store = sqliteStore(join(dir, 'safety.db'));
	await store.save(EVIL_ID, hostile());
	await store.save('cycle', {
		...emptySession(),
		entries: [messageEntry('root', null, 'user', 'start'), messageEntry('a', 'b', 'user', 'A'), messageEntry('b', 'a', 'assistant', 'B')],
		leafId: 'root',
	});
	await store.save('only-cycle', { ...emptySession(), entries: [messageEntry('a', 'b', 'user', 'A'), messageEntry('b', 'a', 'assistant', 'B')], leafId: 'b' });
	await store.save('self', { ...emptySession(), entries: [messageEntry('s', 's', 'user', 'me'), messageEntry('t', 's', 'assistant', 'you')], leafId: 't' });
	await store.close();
});

describe('show escapes what it prints', () => {
	it('prints no control character, line separator or bidi override, and shows each as an escape', async () => {
		const out = await show(EVIL_ID);
		expect(out.code).toBe(0);
		expect(out.out).not.toMatch(RAW_CONTROL);
		const lines = out.out.split('\n');
		expect(lines[0]).toBe('session "ok\\x1b]0;pwned\\x07\\u202eevil\\nforged" · 4 entries · 1 branch · 1 tool call');
		expect(out.out).toContain('metadata {"note":"meta\\u001b[1mdata"}');
		expect(out.out).toContain('user: hello \\x1b[31mred\\x1b[0m \\u202edesrever\\u202c \\x85next');
		expect(out.out).toContain('⚙ ba\\x9bsh(rm -rf /\\x1b[2K) → 5 lines');
		// The entry whose id rings the bell is drawn, and named, escaped.
		expect(out.out).toContain('assistant: step 0 printed its output.');
	});

	it('escapes the id in "not found" and --from errors', async () => {
		const missing = await show('no\u001b[2Jpe');
		expect(missing.code).toBe(1);
		expect(missing.err).not.toMatch(RAW_CONTROL);
		expect(missing.err).toContain('session "no\\x1b[2Jpe" is not in');
		const from = await show(EVIL_ID, '--from', 'x\u001by');
		expect(from.code).toBe(2);
		expect(from.err).not.toMatch(RAW_CONTROL);
		expect(from.err).toContain('entry "x\\x1by" is not in session "ok\\x1b]0;pwned\\x07\\u202eevil\\nforged"');
	});

	it('--json prints the session exactly as stored, control characters and all', async () => {
		const out = await show(EVIL_ID, '--json');
		expect(out.code).toBe(0);
		expect(JSON.parse(out.out)).toEqual(hostile());
		expect(out.out).toBe(`${JSON.stringify(hostile(), null, 2)}\n`);
	});
});

describe('show says what is wrong with the shape of the tree', () => {
	it('names the entries caught in a cycle of parent links under the header, then draws them after the tree', async () => {
		const out = await show('cycle');
		expect(out.code).toBe(0);
		const lines = out.out.trimEnd().split('\n');
		expect(lines).toContain('⚠ 2 entries are in a cycle of parent links and reach no root (a, b); drawn after the tree');
		expect(lines.slice(-3)).toEqual(['⚠ 2 entries in a cycle of parent links:', '○ a  user: A', '○ b  assistant: B']);
	});

	it('draws a session that is nothing but a cycle, and says so', async () => {
		const out = await show('only-cycle');
		expect(out.code).toBe(0);
		expect(out.out).toContain('⚠ 2 entries are in a cycle of parent links and reach no root (a, b); drawn after the tree');
		expect(out.out).toContain('● b  assistant: B  ◀ leaf');
	});

	it('reports an entry that names itself as its parent as such, not as a missing parent', async () => {
		const out = await show('self');
		expect(out.code).toBe(0);
		expect(out.out).toContain('⚠ entry s names itself as its parent; drawn as a root');
		expect(out.out).not.toContain('is missing');
		expect(out.out).toContain('● s  user: me');
		expect(out.out).toContain('● t  assistant: you  ◀ leaf');
	});
});
