/**
 * The session commands as a person or a script runs them: ls and show output, export and import
 * (and a damaged file refused with its line number), copy interrupted and resumed, rm and prune
 * with and without confirmation, store URLs (local D1 and Durable Object state included), the
 * progress display, and the real CLI spawned as a process.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../src/backends/sqlite/index.js';
import { createProgram, runProgram } from '../../src/cli/program.js';
import { sessionCommands } from '../../src/cli/session-commands.js';
import type { SessionCliIo, Terminal } from '../../src/cli/session-io.js';
import { conversation, emptySession, messageEntry } from '../../src/conformance/fixtures.js';
import { sessionChecksum } from '../../src/tools/export-format.js';
import { objectIdFromName } from '../../src/tools/local-state.js';
import { openStore, parseStoreUrl, redactUrl } from '../../src/tools/open-store.js';
import { listIds } from '../../src/tools/transfer.js';
import type { FluePersistStore, SessionData } from '../../src/types.js';
import { writeCliScript } from '../support/cli.js';
import { bundleWorker, RemoteStore, startMiniflare, workerOptions } from '../support/cloudflare.js';
import { root } from '../support/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'flue-persist-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A terminal the test controls: who is at stdin, what they answer, when they press Ctrl-C. */
function fakeTerminal(options: { stdinIsTTY?: boolean; stderrIsTTY?: boolean; answers?: string[]; stdin?: string; now?: number } = {}) {
	const asked: string[] = [];
	const drawn: string[] = [];
	let interrupt: (() => void) | null = null;
	const stderr = new Writable({
		write(chunk, _encoding, done) {
			drawn.push(String(chunk));
			done();
		},
	}) as Writable & { isTTY?: boolean; columns?: number };
	stderr.isTTY = options.stderrIsTTY ?? false;
	stderr.columns = 100;
	const terminal: Terminal = {
		stdinIsTTY: options.stdinIsTTY ?? false,
		stderrIsTTY: options.stderrIsTTY ?? false,
		stderr,
		ask: async (question) => {
			asked.push(question);
			return options.answers?.shift() ?? '';
		},
		onInterrupt: (handler) => {
			interrupt = handler;
			return () => void (interrupt = null);
		},
		readStdin: async () => options.stdin ?? '',
		now: () => options.now ?? Date.now(),
	};
	return { terminal, asked, drawn: () => drawn.join(''), pressCtrlC: () => interrupt?.() };
}

async function cli(argv: string[], options: { terminal?: Terminal; onErr?: (text: string) => void } = {}): Promise<{ code: number; out: string; err: string }> {
	const out: string[] = [];
	const err: string[] = [];
	const io: SessionCliIo = {
		out: (t) => void out.push(t),
		err: (t) => {
			err.push(t);
			options.onErr?.(t);
		},
		env: {},
		cwd: dir,
		terminal: options.terminal ?? fakeTerminal().terminal,
	};
	const program = createProgram();
	for (const command of sessionCommands(io)) program.addCommand(command);
	const code = await runProgram(program, argv, io);
	return { code, out: out.join(''), err: err.join('') };
}

/** Saves sessions into a SQLite file and sets their write times (ms) so listings are stable. */
async function seed(file: string, sessions: Record<string, SessionData>, times: Record<string, number> = {}, layout: 'log' | 'blob' = 'log'): Promise<void> {
	const store = sqliteStore(join(dir, file), { layout, synchronous: 'NORMAL' });
	for (const [id, data] of Object.entries(sessions)) await store.save(id, data);
	await store.close();
	const db = new Database(join(dir, file));
	for (const [id, time] of Object.entries(times))
		db.prepare(`UPDATE ${layout === 'log' ? 'flue_sessions_log' : 'flue_sessions'} SET updated_at = ? WHERE id = ?`).run(time, id);
	db.close();
}

async function checksums(url: string): Promise<Map<string, string>> {
	const opened = await openStore(url, { cwd: dir, intent: 'read' });
	try {
		const out = new Map<string, string>();
		for (const id of await listIds(opened.store)) out.set(id, sessionChecksum(id, await opened.store.load(id)));
		return out;
	} finally {
		await opened.close();
	}
}

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);

/** A session with a branch (a second answer to question 4), a compaction and three tool calls. */
function branched(): SessionData {
	const data = conversation(3, { toolBytes: 120 });
	data.entries.push(messageEntry('b0000001', data.entries[4]!.id, 'assistant', 'an alternative answer', 50));
	data.entries.push({
		type: 'compaction',
		id: 'c0000001',
		parentId: data.leafId,
		timestamp: data.updatedAt,
		summary: 'The user asked about three steps.',
		firstKeptEntryId: data.entries[8]!.id,
		tokensBefore: 12345,
	} as SessionData['entries'][number]);
	data.leafId = 'c0000001';
	data.metadata = { agent: 'support' };
	return data;
}

describe('ls and show', () => {
	it('ls lists ids, write times and sizes; filters by prefix and time; sorts by time or size; prints JSON', async () => {
		await seed(
			'ls.db',
			{ 'support-1': branched(), 'support-2': conversation(10), 'billing-1': conversation(1) },
			{ 'support-1': NOW - 2 * DAY, 'support-2': NOW - 40 * DAY, 'billing-1': NOW - 3600_000 },
		);
		const terminal = fakeTerminal({ now: NOW }).terminal;
		const all = await cli(['ls', 'sqlite:ls.db'], { terminal });
		expect(all.code).toBe(0);
		expect(all.out).toBe(
			'ID         UPDATED                   SIZE\n' +
				'billing-1  2026-06-01 11:00:00Z   1.8 KiB\n' +
				'support-1  2026-05-30 12:00:00Z   5.5 KiB\n' +
				'support-2  2026-04-22 12:00:00Z  16.7 KiB\n' +
				'3 sessions, 24.0 KiB\n',
		);
		const bySize = await cli(['ls', 'sqlite:ls.db', '--sort', 'size', '--limit', '2'], { terminal });
		expect(
			bySize.out
				.split('\n')
				.slice(1, 3)
				.map((l) => l.split(' ')[0]),
		).toEqual(['support-2', 'support-1']);
		expect(bySize.out).toContain('2 sessions (of 3), 22.2 KiB\n');
		const recent = await cli(['ls', 'sqlite:ls.db', '--prefix', 'support-', '--since', '7d', '--json'], { terminal });
		expect(JSON.parse(recent.out)).toEqual([{ id: 'support-1', updatedAt: new Date(NOW - 2 * DAY).toISOString(), bytes: expect.any(Number) }]);
		const byTime = await cli(['ls', 'sqlite:ls.db', '--sort', 'time', '--json'], { terminal });
		expect((JSON.parse(byTime.out) as Array<{ id: string }>).map((s) => s.id)).toEqual(['billing-1', 'support-1', 'support-2']);
		const since = await cli(['ls', 'sqlite:ls.db', '--since', '2026-05-01', '--json'], { terminal });
		expect((JSON.parse(since.out) as Array<{ id: string }>).map((s) => s.id)).toEqual(['billing-1', 'support-1']);
		const bad = await cli(['ls', 'sqlite:ls.db', '--since', 'yesterday'], { terminal });
		expect(bad.code).toBe(2);
		expect(bad.err).toContain('--since "yesterday" is neither a date');
	});

	it('show draws the tree: branches, the leaf path, the compaction boundary, tool calls folded; --json prints it as stored', async () => {
		const shown = await cli(['show', 'sqlite:ls.db', 'support-1', '--width', '100']);
		expect(shown.code).toBe(0);
		expect(shown.out).toBe(
			[
				'session "support-1" · 14 entries · 2 branches · 1 compaction · 3 tool calls',
				'leaf c0000001 · created 2026-01-01T00:00:00.000Z · updated 2026-01-01T00:00:12.000Z',
				'metadata {"agent":"support"}',
				'',
				'● 10000000  user: question 0: what does step 0 print?',
				'● 10000001  ⚙ bash(echo step 0) → 3 lines',
				'● 10000003  assistant: step 0 printed its output.',
				'● 10000004  user: question 4: what does step 1 print?',
				'├─ ● 10000005  ⚙ bash(echo step 1) → 4 lines',
				'│  ● 10000007  assistant: step 1 printed its output.',
				'│  ● 10000008  user: question 8: what does step 2 print?',
				'│  ● 10000009  ⚙ bash(echo step 2) → 3 lines',
				'│  ● 1000000b  assistant: step 2 printed its output.',
				'│  ● c0000001  ━━ compaction · 12,345 tokens before · keeps 10000008 onward ━━ The user ask…  ◀ leaf',
				'└─ ○ b0000001  assistant: an alternative answer',
				'',
			].join('\n'),
		);
		const json = await cli(['show', 'sqlite:ls.db', 'support-1', '--json']);
		expect(JSON.parse(json.out)).toEqual(branched());
		const missing = await cli(['show', 'sqlite:ls.db', 'support-9']);
		expect(missing.code).toBe(1);
		expect(missing.err).toContain('session "support-9" is not in sqlite:ls.db (table flue_sessions, log layout)');
	});

	it('show marks a missing leaf and an entry whose parent is gone', async () => {
		const data = conversation(1);
		data.entries[2]!.parentId = 'gone';
		data.leafId = 'nowhere';
		await seed('damaged-tree.db', { s: data });
		const { out } = await cli(['show', 'sqlite:damaged-tree.db', 's']);
		expect(out).toContain('leaf nowhere (missing)');
		expect(out).toContain('⚠ entry 10000002: its parent gone is missing; drawn as a root');
		// No path to follow from a leaf that is not there; the orphaned result is drawn as a second root.
		expect(out).toContain('├─ ○ 10000000  user: question 0');
		expect(out).toContain('│  ○ 10000001  ⚙ bash(echo step 0) → no result');
		expect(out).toContain('└─ ○ 10000002  ⚙ result of bash: 5 lines');
	});
});

describe('a session store whose -wal has no -shm beside it', () => {
	it('is read as a session store (a copy taken while a writer had it open)', async () => {
		const source = join(dir, 'wal-source.db');
		const store = sqliteStore(source);
		await store.save('wal-1', conversation(1));
		// The store still has the file open, so the save is only in the -wal file.
		copyFileSync(source, join(dir, 'wal-copy.db'));
		copyFileSync(`${source}-wal`, join(dir, 'wal-copy.db-wal'));
		await store.close();
		expect(existsSync(join(dir, 'wal-copy.db-shm'))).toBe(false);
		const listed = await cli(['ls', 'sqlite:wal-copy.db', '--json']);
		expect(listed.err).toBe('');
		expect(listed.code).toBe(0);
		expect((JSON.parse(listed.out) as Array<{ id: string }>).map((s) => s.id)).toEqual(['wal-1']);
	});
});

describe('export and import', () => {
	const sessions: Record<string, SessionData> = {};
	for (let i = 0; i < 12; i++) sessions[`s-${String(i).padStart(2, '0')}`] = i === 0 ? emptySession() : conversation(1 + (i % 4));

	it('export writes a header, one checksummed line per session and an end line; import restores them identically', async () => {
		await seed('export-source.db', sessions);
		const exported = await cli(['export', 'sqlite:export-source.db', '-o', 'sessions.jsonl']);
		expect(exported.code).toBe(0);
		expect(exported.err).toContain('Exported 12 sessions from sqlite:export-source.db (table flue_sessions, log layout) to sessions.jsonl.');
		const lines = readFileSync(join(dir, 'sessions.jsonl'), 'utf8').split('\n');
		expect(lines.pop()).toBe('');
		expect(JSON.parse(lines[0]!)).toMatchObject({
			format: 'flue-persist-export',
			version: 1,
			source: { backend: 'sqlite', layout: 'log', table: 'flue_sessions' },
		});
		expect(lines.slice(1, -1).map((l) => JSON.parse(l) as { id: string; checksum: string })).toEqual(
			Object.entries(sessions).map(([id, data]) => ({ id, checksum: sessionChecksum(id, data), data })),
		);
		expect(JSON.parse(lines[lines.length - 1]!)).toEqual({ end: true, sessions: 12 });
		expect(existsSync(join(dir, 'sessions.jsonl.partial'))).toBe(false);

		const imported = await cli(['import', 'sqlite:imported.db?layout=blob', 'sessions.jsonl']);
		expect(imported.code).toBe(0);
		expect(imported.err).toContain(
			'Imported sessions.jsonl into sqlite:imported.db?layout=blob (table flue_sessions, blob layout): 12 sessions written, 0 already there.',
		);
		expect(await checksums('sqlite:imported.db')).toEqual(await checksums('sqlite:export-source.db'));
		const again = await cli(['import', 'sqlite:imported.db', 'sessions.jsonl']);
		expect(again.err).toContain('0 sessions written, 12 already there');

		const refused = await cli(['export', 'sqlite:export-source.db', '-o', 'sessions.jsonl']);
		expect(refused.code).toBe(1);
		expect(refused.err).toContain('sessions.jsonl exists and was left as it is. Pass --force');
	});

	it('export to stdout and import from stdin', async () => {
		const exported = await cli(['export', 'sqlite:export-source.db', '--prefix', 's-0']);
		expect(exported.out.trimEnd().split('\n')).toHaveLength(1 + 10 + 1);
		const imported = await cli(['import', 'sqlite:from-stdin.db', '-'], { terminal: fakeTerminal({ stdin: exported.out }).terminal });
		expect(imported.code).toBe(0);
		expect([...(await checksums('sqlite:from-stdin.db')).keys()]).toEqual(Object.keys(sessions).filter((id) => id.startsWith('s-0')));
	});

	it('import refuses a damaged file with the line number and writes nothing', async () => {
		const good = readFileSync(join(dir, 'sessions.jsonl'), 'utf8').split('\n');
		const variants: Array<[string, string[], string]> = [
			[
				'edited',
				good.map((l, i) => (i === 3 ? l.replace('what does step', 'what did step') : l)),
				'edited.jsonl, line 4 (session "s-02"): the checksum does not match the data',
			],
			['not-json', good.map((l, i) => (i === 5 ? l.slice(0, 40) : l)), 'not-json.jsonl, line 6 is not valid JSON'],
			['cut', good.slice(0, 8), 'cut.jsonl ends at line 8 without its end line: the export was cut short'],
			[
				'renamed',
				good.map((l, i) => (i === 2 ? l.replace('"id":"s-01"', '"id":"s-99"') : l)),
				'renamed.jsonl, line 3 (session "s-99"): the checksum does not match',
			],
			[
				'newer',
				[good[0]!.replace('"version":1', '"version":2'), ...good.slice(1)],
				'newer.jsonl, line 1: the export is format version 2; this release reads version 1. Upgrade flue-persist',
			],
			['not-export', ['{"hello":"world"}', ''], 'not-export.jsonl, line 1: this is not a flue-persist export'],
		];
		for (const [name, lines, message] of variants) {
			writeFileSync(join(dir, `${name}.jsonl`), lines.join('\n'));
			const result = await cli(['import', `sqlite:${name}.db`, `${name}.jsonl`]);
			expect(result.code, name).toBe(1);
			expect(result.err, name).toContain(`Refused: ${message}`);
			expect(existsSync(join(dir, `${name}.db`)), name).toBe(false);
		}
	});

	it('an interrupted import holds whole sessions only, and running it again finishes it', async () => {
		const { terminal, pressCtrlC } = fakeTerminal();
		const first = await cli(['import', 'sqlite:resumed.db', 'sessions.jsonl', '--parallel', '1'], {
			terminal,
			onErr: (t) => t.startsWith('import: 6/12') && pressCtrlC(),
		});
		expect(first.code).toBe(1);
		expect(first.err).toContain('Interrupted after 6 of 12 sessions (6 sessions written, 0 already there). Every session written is whole.');
		const partial = await checksums('sqlite:resumed.db');
		expect(partial.size).toBe(6);
		for (const [id, sum] of partial) expect(sum).toBe(sessionChecksum(id, sessions[id]));
		const second = await cli(['import', 'sqlite:resumed.db', 'sessions.jsonl']);
		expect(second.err).toContain('6 sessions written, 6 already there.');
		expect(await checksums('sqlite:resumed.db')).toEqual(await checksums('sqlite:export-source.db'));
	});

	it('an interrupted export leaves no file behind', async () => {
		const { terminal, pressCtrlC } = fakeTerminal();
		const result = await cli(['export', 'sqlite:export-source.db', '-o', 'cut-short.jsonl'], {
			terminal,
			onErr: (t) => t.startsWith('export: 3/12') && pressCtrlC(),
		});
		expect(result.code).toBe(1);
		expect(result.err).toContain('Interrupted after 3 sessions of 12. No file was written');
		expect(existsSync(join(dir, 'cut-short.jsonl'))).toBe(false);
		expect(existsSync(join(dir, 'cut-short.jsonl.partial'))).toBe(false);
	});
});

describe('copy', () => {
	const source: Record<string, SessionData> = {};
	for (let i = 0; i < 100; i++) source[`c-${String(i).padStart(3, '0')}`] = conversation(1 + (i % 5));

	it('stopped after 30 sessions leaves 30 whole sessions; run again it resumes; a third run copies nothing', async () => {
		await seed('copy-source.db', source);
		const { terminal, pressCtrlC } = fakeTerminal();
		const first = await cli(['copy', '--from', 'sqlite:copy-source.db', '--to', 'sqlite:copy-dest.db', '--parallel', '1'], {
			terminal,
			onErr: (t) => t.startsWith('copy: 30/100') && pressCtrlC(),
		});
		expect(first.code).toBe(1);
		expect(first.err).toContain('Interrupted after 30 of 100 sessions (30 sessions copied, 0 already there). Every session at the destination is whole.');
		expect(first.err).toContain(
			'Run the same command again to resume; sessions already copied are skipped:\n\n  flue-persist copy sqlite:copy-source.db sqlite:copy-dest.db',
		);
		const partial = await checksums('sqlite:copy-dest.db');
		expect(partial.size).toBe(30);
		const expected = new Map(Object.entries(source).map(([id, data]) => [id, sessionChecksum(id, data)]));
		for (const [id, sum] of partial) expect(sum).toBe(expected.get(id));
		expect((await cli(['doctor', 'sqlite:copy-dest.db'])).code).toBe(0);

		const second = await cli(['copy', '--from', 'sqlite:copy-source.db', '--to', 'sqlite:copy-dest.db']);
		expect(second.code).toBe(0);
		expect(second.err).toContain('70 sessions copied, 30 already there.');
		expect(await checksums('sqlite:copy-dest.db')).toEqual(expected);
		const third = await cli(['copy', '--from', 'sqlite:copy-source.db', '--to', 'sqlite:copy-dest.db']);
		expect(third.err).toContain('0 sessions copied, 100 already there.');
	});

	it('with --overwrite replaces a destination copy that differs, keeps sessions only the destination has, and copies a prefix', async () => {
		const store = sqliteStore(join(dir, 'copy-dest.db'), { concurrency: 'last-writer-wins' });
		await store.save('c-005', conversation(9));
		await store.save('only-here', conversation(1));
		await store.close();
		const result = await cli(['copy', '--from', 'sqlite:copy-source.db', '--to', 'sqlite:copy-dest.db', '--prefix', 'c-00', '--overwrite']);
		expect(result.err).toContain('1 session copied, 9 already there.');
		const sums = await checksums('sqlite:copy-dest.db');
		expect(sums.get('c-005')).toBe(sessionChecksum('c-005', source['c-005']));
		expect(sums.has('only-here')).toBe(true);
	});

	it('draws a progress bar when stderr is a terminal, plain lines otherwise', async () => {
		const tty = fakeTerminal({ stderrIsTTY: true });
		const withBar = await cli(['copy', '--from', 'sqlite:copy-source.db', '--to', 'sqlite:copy-bar.db'], { terminal: tty.terminal });
		expect(withBar.code).toBe(0);
		expect(tty.drawn()).toMatch(/copy \[[█░]+\] 100% \| 100\/100 sessions/);
		expect(withBar.err).not.toContain('copy: 10/100');
		const plain = await cli(['copy', '--from', 'sqlite:copy-source.db', '--to', 'sqlite:copy-plain.db']);
		expect(plain.err.split('\n').filter((l) => l.startsWith('copy: '))).toEqual(
			Array.from({ length: 10 }, (_, i) => `copy: ${(i + 1) * 10}/100 sessions (${(i + 1) * 10}%)`),
		);
	});
});

describe('rm and prune', () => {
	it('rm asks, refuses without a terminal unless --yes, and deletes nothing when an id is unknown', async () => {
		await seed('rm.db', { a: conversation(1), b: conversation(1), c: conversation(1) });
		const ids = async () => [...(await checksums('sqlite:rm.db')).keys()];
		const noTerminal = await cli(['rm', 'sqlite:rm.db', 'a']);
		expect(noTerminal.code).toBe(1);
		expect(noTerminal.err).toContain(
			'Nothing was deleted: stdin is not a terminal, so there is no one to confirm. Run again with --yes to delete without asking:\n\n  flue-persist rm sqlite:rm.db a --yes',
		);
		const declined = fakeTerminal({ stdinIsTTY: true, answers: ['n'] });
		expect((await cli(['rm', 'sqlite:rm.db', 'a'], { terminal: declined.terminal })).code).toBe(1);
		expect(declined.asked).toEqual(['Delete this session? [y/N] ']);
		expect(await ids()).toEqual(['a', 'b', 'c']);
		const unknown = await cli(['rm', 'sqlite:rm.db', 'a', 'zz', '--yes']);
		expect(unknown.err).toContain('Nothing was deleted: "zz" is not in sqlite:rm.db');
		expect(await ids()).toEqual(['a', 'b', 'c']);
		const accepted = fakeTerminal({ stdinIsTTY: true, answers: ['y'] });
		expect((await cli(['rm', 'sqlite:rm.db', 'a'], { terminal: accepted.terminal })).code).toBe(0);
		const yes = await cli(['rm', 'sqlite:rm.db', 'b', '--yes']);
		expect(yes.err).toContain('Deleted 1 session.');
		expect(await ids()).toEqual(['c']);
	});

	it('prune deletes sessions older than the duration: lists them, asks, refuses without a terminal, --dry-run and --yes', async () => {
		const times = { old1: NOW - 40 * DAY, old2: NOW - 31 * DAY, fresh: NOW - 29 * DAY, today: NOW - 60_000 };
		await seed('prune.db', { old1: conversation(1), old2: conversation(2), fresh: conversation(1), today: conversation(1) }, times);
		const ids = async () => [...(await checksums('sqlite:prune.db')).keys()];
		const at = (extra: Parameters<typeof fakeTerminal>[0] = {}) => fakeTerminal({ now: NOW, ...extra }).terminal;

		const refused = await cli(['prune', 'sqlite:prune.db', '--older-than', '30d'], { terminal: at() });
		expect(refused.code).toBe(1);
		expect(refused.err).toContain('2 sessions in sqlite:prune.db (table flue_sessions, log layout) last written before 2026-05-02 12:00:00Z');
		expect(refused.err).toContain('  old1  (updated 2026-04-22 12:00:00Z');
		expect(refused.err).toContain('Nothing was deleted: stdin is not a terminal');
		expect(refused.err).toContain('flue-persist prune sqlite:prune.db --older-than 30d --yes');
		expect(await ids()).toEqual(['fresh', 'old1', 'old2', 'today']);

		const dry = await cli(['prune', 'sqlite:prune.db', '--older-than', '30d', '--dry-run'], { terminal: at() });
		expect(dry.code).toBe(0);
		expect(dry.err).toContain('Dry run: nothing was deleted.');
		const declined = await cli(['prune', 'sqlite:prune.db', '--older-than', '30d'], { terminal: at({ stdinIsTTY: true, answers: [''] }) });
		expect(declined.code).toBe(1);
		expect(await ids()).toEqual(['fresh', 'old1', 'old2', 'today']);

		const yes = await cli(['prune', 'sqlite:prune.db', '--older-than', '30d', '--yes'], { terminal: at() });
		expect(yes.code).toBe(0);
		expect(yes.err).toContain('Deleted 2 sessions.');
		expect(await ids()).toEqual(['fresh', 'today']);

		const asked = fakeTerminal({ now: NOW, stdinIsTTY: true, answers: ['yes'] });
		const interactive = await cli(['prune', 'sqlite:prune.db', '--older-than', '1d'], { terminal: asked.terminal });
		expect(asked.asked).toEqual(['Delete this session? [y/N] ']);
		expect(interactive.err).toContain('Deleted 1 session.');
		expect(await ids()).toEqual(['today']);
		const none = await cli(['prune', 'sqlite:prune.db', '--older-than', '1d'], { terminal: at() });
		expect(none.err).toContain('No session in sqlite:prune.db (table flue_sessions, log layout) was last written before 2026-05-31 12:00:00Z (1d ago).');
		const badDuration = await cli(['prune', 'sqlite:prune.db', '--older-than', 'a month']);
		expect(badDuration.code).toBe(2);
	});
});

describe('store URLs', () => {
	it('parses each kind, strips the parameters the tools consume and hides passwords', () => {
		expect(parseStoreUrl('sqlite:data/x.db?layout=blob&table=t', '/app')).toMatchObject({
			kind: 'sqlite',
			path: '/app/data/x.db',
			layout: 'blob',
			table: 't',
		});
		expect(parseStoreUrl('sqlite:///abs/x.db', '/app')).toMatchObject({ kind: 'sqlite', path: '/abs/x.db' });
		const pg = parseStoreUrl('postgres://app:s3cret@db.example:5432/app?schema=agents&table=sessions&sslmode=require', '/app');
		expect(pg).toMatchObject({
			kind: 'postgres',
			schema: 'agents',
			table: 'sessions',
			display: 'postgres://app:***@db.example:5432/app?schema=agents&table=sessions&sslmode=require',
		});
		expect(pg.connectionString).toBe('postgres://app:s3cret@db.example:5432/app?sslmode=require');
		expect(parseStoreUrl('do:.wrangler/state/v3/do?class=Agent&name=support', '/w')).toMatchObject({
			kind: 'do',
			path: '/w/.wrangler/state/v3/do',
			objectClass: 'Agent',
			objectName: 'support',
		});
		expect(redactUrl('postgresql://u:p@h/db')).toBe('postgresql://u:***@h/db');
		expect(() => parseStoreUrl('mysql://x', '/')).toThrow('is not a store URL. Use one of: sqlite:<file>, postgres://');
		expect(() => parseStoreUrl('sqlite:x.db?layuot=log', '/')).toThrow('unknown parameter "layuot". A sqlite: URL takes ?layout=, ?table=');
		expect(() => parseStoreUrl('sqlite:x.db?table=bad-name', '/')).toThrow('option table must be a SQL identifier');
	});

	it("reads Flue's own blob table, asks for --layout when a table has both layouts, and never creates a file it was asked to read", async () => {
		const db = new Database(join(dir, 'flue-own.db'));
		db.exec('CREATE TABLE flue_sessions (id TEXT PRIMARY KEY, data TEXT NOT NULL, updated_at INTEGER NOT NULL)');
		db.prepare('INSERT INTO flue_sessions VALUES (?, ?, ?)').run('agent-1', JSON.stringify(conversation(1)), NOW);
		db.close();
		const listed = await cli(['ls', 'sqlite:flue-own.db', '--json']);
		expect(JSON.parse(listed.out)).toEqual([{ id: 'agent-1', updatedAt: new Date(NOW).toISOString(), bytes: expect.any(Number) }]);
		expect(JSON.parse((await cli(['show', 'sqlite:flue-own.db', 'agent-1', '--json'])).out)).toEqual(conversation(1));

		await seed('flue-own.db', { 'agent-2': conversation(2) }, {}, 'log');
		const ambiguous = await cli(['ls', 'sqlite:flue-own.db']);
		expect(ambiguous.code).toBe(1);
		expect(ambiguous.err).toContain('holds table flue_sessions in both layouts (blob and log)');
		expect(ambiguous.err).toContain('Pick one with --layout log or --layout blob');
		expect(JSON.parse((await cli(['ls', 'sqlite:flue-own.db', '--layout', 'log', '--json'])).out)).toHaveLength(1);

		const missing = await cli(['ls', 'sqlite:nothing-here.db']);
		expect(missing.code).toBe(1);
		expect(missing.err).toContain('there is no file');
		expect(existsSync(join(dir, 'nothing-here.db'))).toBe(false);
		const empty = new Database(join(dir, 'unrelated.db'));
		empty.exec('CREATE TABLE notes (id INTEGER)');
		empty.close();
		const unrelated = await cli(['ls', 'sqlite:unrelated.db']);
		expect(unrelated.err).toContain('holds no flue-persist sessions');
	});

	it("never takes an application's table of the same shape for a session table", async () => {
		const app = new Database(join(dir, 'app.db'));
		app.exec('CREATE TABLE events (id TEXT PRIMARY KEY, data TEXT NOT NULL, updated_at INTEGER NOT NULL)');
		app.prepare('INSERT INTO events VALUES (?, ?, ?)').run('e1', '{"kind":"signup"}', NOW);
		app.close();
		await seed('app-source.db', { s1: conversation(1) });
		const copied = await cli(['copy', '--from', 'sqlite:app-source.db', '--to', 'sqlite:app.db']);
		expect(copied.err).toContain('to sqlite:app.db (table flue_sessions, log layout): 1 session copied');
		const check = new Database(join(dir, 'app.db'), { readonly: true });
		expect(check.prepare('SELECT id, data FROM events').all()).toEqual([{ id: 'e1', data: '{"kind":"signup"}' }]);
		check.close();
		// Now that flue-persist has been there, the shape of events no longer makes it a candidate.
		const listed = await cli(['ls', 'sqlite:app.db', '--json']);
		expect((JSON.parse(listed.out) as Array<{ id: string }>).map((s) => s.id)).toEqual(['s1']);
		expect((await cli(['doctor', 'sqlite:app.db'])).out).toContain('table flue_sessions (log layout): 1 session.');
	});

	it('d1: and do: find the SQLite files miniflare persists, for reading and for writing', { timeout: 60_000 }, async () => {
		const state = join(dir, 'mf-state');
		const script = await bundleWorker(dir);
		let mf = await startMiniflare(workerOptions(script, state));
		try {
			for (const [object, count] of [
				['agent-7', 2],
				['agent-8', 1],
			] as const) {
				const store = await RemoteStore.open(mf, object, { layout: 'blob' });
				for (let i = 0; i < count; i++) await store.save(`${object}/s${i}`, conversation(1 + i));
			}
			const d1 = await RemoteStore.open(mf, 'd1-writer', { backend: 'd1', layout: 'log' });
			await d1.save('from-d1', conversation(2));
		} finally {
			await mf.dispose();
		}
		const doRoot = join(state, 'do');
		for (const url of [`do:${doRoot}`, `do:${doRoot}?class=StoreObject`, `do:${state}`]) {
			const several = await cli(['ls', url]);
			expect(several.code).toBe(1);
			expect(several.err).toContain('-StoreObject holds 3 Durable Objects; pick one with ?name=<the name given to idFromName> or ?id=<object id>');
			expect(several.err).toContain(`${objectIdFromName('-StoreObject', 'agent-7')}  tables: flue_persist_meta, flue_sessions, flue_sessions_chunks`);
		}
		const one = await cli(['ls', `do:${doRoot}?class=StoreObject&name=agent-7`, '--json']);
		expect(one.code).toBe(0);
		expect((JSON.parse(one.out) as Array<{ id: string }>).map((s) => s.id)).toEqual(['agent-7/s0', 'agent-7/s1']);
		const byFile = await cli(['ls', `do:${join(doRoot, '-StoreObject', `${objectIdFromName('-StoreObject', 'agent-8')}.sqlite`)}`, '--json']);
		expect((JSON.parse(byFile.out) as Array<{ id: string }>).map((s) => s.id)).toEqual(['agent-8/s0']);
		const fromD1 = await cli(['show', `d1:${state}`, 'from-d1', '--json']);
		expect(JSON.parse(fromD1.out)).toEqual(conversation(2));

		// Written by the tools while miniflare is stopped, read by the stores inside workerd.
		await seed('to-cloudflare.db', { x: conversation(3), y: conversation(1) });
		expect((await cli(['copy', '--from', 'sqlite:to-cloudflare.db', '--to', `do:${doRoot}?class=StoreObject&name=agent-9`])).code).toBe(0);
		expect((await cli(['copy', '--from', 'sqlite:to-cloudflare.db', '--to', `d1:${state}?database=flue-persist-db`])).code).toBe(0);
		mf = await startMiniflare(workerOptions(script, state));
		try {
			const object = await RemoteStore.open(mf, 'agent-9', { layout: 'log' });
			const d1 = await RemoteStore.open(mf, 'd1-reader', { backend: 'd1', layout: 'log' });
			for (const store of [object, d1] as unknown as FluePersistStore[]) {
				expect(await store.load('x')).toEqual(conversation(3));
				expect(await store.load('y')).toEqual(conversation(1));
			}
		} finally {
			await mf.dispose();
		}
	});
});

describe('the CLI as a process', () => {
	it('runs the commands from a script that registers them, with exit codes, and never waits for an answer without a terminal', async () => {
		const script = join(dir, 'cli.mts');
		writeCliScript(script, [
			'for (const command of sessionCommands(io)) program.addCommand(command);',
			'process.exitCode = await runProgram(program, process.argv.slice(2), io);',
		]);
		await seed('spawned.db', { one: conversation(1), two: conversation(2) }, { one: NOW, two: NOW });
		const run = (...args: string[]) =>
			spawnSync(join(root, 'node_modules', '.bin', 'tsx'), [script, ...args], { cwd: dir, encoding: 'utf8', input: '', timeout: 30_000 });
		const ls = run('ls', 'sqlite:spawned.db');
		expect(ls.status).toBe(0);
		expect(ls.stdout).toBe('ID   UPDATED                  SIZE\none  2026-06-01 12:00:00Z  1.8 KiB\ntwo  2026-06-01 12:00:00Z  3.5 KiB\n2 sessions, 5.2 KiB\n');
		const doctor = run('doctor', 'sqlite:spawned.db');
		expect(doctor.status).toBe(0);
		expect(doctor.stdout).toContain('No damage found.');
		const prune = run('prune', 'sqlite:spawned.db', '--older-than', '1s');
		expect(prune.status).toBe(1);
		expect(prune.stderr).toContain('Nothing was deleted: stdin is not a terminal');
		const usage = run('copy', '--from', 'sqlite:spawned.db');
		expect(usage.status).toBe(2);
		expect(usage.stderr).toContain('copy needs two stores: flue-persist copy <from> <to> (or --from <url> --to <url>).');
	});
});
