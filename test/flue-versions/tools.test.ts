/**
 * What each Flue release writes, read back by the tooling: a real session with a task (a tool
 * call, its result and a child session) and an overflow recovery (a compaction and a retried
 * reply) is written through sqliteStore, then listed with `ls`, drawn with `show` and laid out
 * for the studio. Every entry must be drawn as what it is (never as the raw JSON kept for entry
 * types the tools do not know), and the user's own words must be visible.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../src/backends/sqlite/index.js';
import type { SessionData } from '../../src/index.js';
import { buildSessionView, type EntryRow } from '../../src/studio/session-view.js';
import { runSessionCli } from '../support/cli.js';
import { captureFlueLog, echo, OVERFLOW_ERROR, type Responder, startAgent, startFakeModel } from '../support/flue-harness.js';
import { type FlueRelease, loadRelease } from '../support/flue-releases.js';
import { RELEASES } from './releases.js';

const dir = mkdtempSync(join(tmpdir(), 'flue-persist-versions-tools-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TRIGGER = 'a question too large for the window';

/** Summaries, one task, one overflow, otherwise an echo. */
function responder(): Responder {
	let rejected = false;
	return (request, index) => {
		if (request.system.includes('context summarization assistant')) return { text: 'SUMMARY of the earlier turns' };
		if (request.last.role === 'tool') return { text: `Done: ${request.last.text}` };
		if (request.last.text === 'Look up alpha') return { text: 'Result for alpha' };
		if (request.last.text === 'Delegate a lookup')
			return { toolCalls: [{ name: 'task', arguments: { description: 'look up alpha', prompt: 'Look up alpha' } }] };
		if (request.last.text === TRIGGER && !rejected) {
			rejected = true;
			return { error: OVERFLOW_ERROR };
		}
		return echo(request, index);
	};
}

/** Writes the session with `release` and returns the file, the parent's key and its child's. */
async function writeSession(release: FlueRelease): Promise<{ file: string; key: string; childKey: string; data: SessionData }> {
	const file = join(dir, `tools-${release.version}.db`);
	const store = sqliteStore(file);
	const model = await startFakeModel(responder(), release);
	try {
		const agent = await startAgent(model, store, { agentId: 'agent-tools', compaction: { enabled: true, keepRecentTokens: 1 } });
		const session = await agent.session('thread-1');
		await session.prompt('remember X=42');
		await session.prompt('Delegate a lookup');
		await captureFlueLog(() => session.prompt(TRIGGER));
		const key = release.sessionKey('agent-tools', 'thread-1');
		const data = (await store.load(key))!;
		const childKey = (data.metadata.taskSessions as Array<{ storageKey: string }>)[0]!.storageKey;
		return { file, key, childKey, data };
	} finally {
		await store.close();
		await model.close();
	}
}

for (const spec of RELEASES) {
	const release = await loadRelease(spec);
	describe(`${release.label}: what it writes, read by the tools`, () => {
		let written: Awaited<ReturnType<typeof writeSession>>;
		const cli = (...args: string[]) => runSessionCli(args, dir);

		it('writes a session with a task and an overflow recovery', async () => {
			written = await writeSession(release);
			expect(written.data.version).toBe(release.sessionVersion);
			expect(written.data.entries.map((e) => e.type)).toContain('compaction');
		});

		it('ls lists the session and its child', async () => {
			const { code, out } = await cli('ls', `sqlite:${written.file}`, '--json');
			expect(code).toBe(0);
			const ids = (JSON.parse(out) as Array<{ id: string }>).map((s) => s.id).sort();
			expect(ids).toEqual([written.key, written.childKey].sort());
		});

		// Proves: `show` draws every entry of this release as a message, a tool call, a result or
		// a compaction (no raw-JSON fallback line), and `--json` prints exactly what was stored.
		it('show draws every entry as what it is', async () => {
			const { code, out } = await cli('show', `sqlite:${written.file}`, written.key, '--width', '200');
			expect(code).toBe(0);
			const lines = out.split('\n');
			expect(lines[0]).toMatch(/ · 1 compaction · 1 tool call$/);
			expect(lines.some((l) => /━━ compaction · .* ━━ SUMMARY of the earlier turns/.test(l))).toBe(true);
			expect(lines.some((l) => /⚙ task\(.*\) → 1 line/.test(l))).toBe(true);
			expect(lines.some((l) => l.includes(`assistant: ACK: ${TRIGGER}`))).toBe(true);
			expect(lines.filter((l) => /\b(message|entry|compaction|branch_summary) \{/.test(l))).toEqual([]);
			const json = await cli('show', `sqlite:${written.file}`, written.key, '--json');
			expect(JSON.parse(json.out)).toEqual(written.data);
			const child = await cli('show', `sqlite:${written.file}`, written.childKey, '--width', '200');
			expect(child.code).toBe(0);
			expect(child.out).toContain('assistant: Result for alpha');
		});

		// Proves: the user's words are on the user's line. @flue/sdk 0.3 stores every prompt behind
		// a paragraph of headless instructions, so a one-line rendering cut to the width shows only
		// that paragraph: a known gap of `show`, marked as failing until it is drawn without it.
		const userLine = release.prefixesPrompts ? it.fails : it;
		userLine("show puts the user's own words on the user line", async () => {
			const { out } = await cli('show', `sqlite:${written.file}`, written.key, '--width', '120');
			expect(out).toMatch(/user: remember X=42/);
		});

		// Proves: the studio lays out every entry as a message or a compaction, with no problem
		// reported and the release's SessionData version in the header.
		it('the studio lays out every entry as what it is', () => {
			const view = buildSessionView(written.key, written.data);
			expect(view.header.version).toBe(release.sessionVersion);
			expect(view.problems).toEqual([]);
			const rows = view.tree.rows.filter((r): r is EntryRow => r.kind === 'entry');
			expect(rows.filter((r) => r.json !== null)).toEqual([]);
			expect(rows.map((r) => r.role ?? r.type)).toEqual(expect.arrayContaining(['user', 'assistant', 'compaction']));
			expect(rows.flatMap((r) => r.toolCalls.map((c) => [c.name, c.result?.text.text]))).toEqual([['task', 'Result for alpha']]);
		});
	});
}
