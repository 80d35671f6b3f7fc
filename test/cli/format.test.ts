/** The pure parts of the session tools: canonical checksums, the export reader, durations and the tree. */
import { describe, expect, it } from 'vitest';
import { conversation, emptySession, messageEntry } from '../../src/conformance/fixtures.js';
import { canonicalJson, ExportReader, encodeHeader, encodeSession, encodeTrailer, sessionChecksum } from '../../src/tools/export-format.js';
import { parseDuration, parseSince } from '../../src/tools/format.js';
import { renderSessionTree, sessionStats } from '../../src/tools/session-tree.js';
import type { SessionData, SessionEntry } from '../../src/types.js';

describe('canonical checksum', () => {
	it('ignores key order at every depth and nothing else', () => {
		expect(canonicalJson({ b: 1, a: { d: [1, { z: 0, y: null }], c: 'x' } })).toBe('{"a":{"c":"x","d":[1,{"y":null,"z":0}]},"b":1}');
		const data = conversation(2);
		const reordered = JSON.parse(JSON.stringify(data, Object.keys(data).reverse())) as SessionData;
		reordered.entries = data.entries.map((e) => Object.fromEntries(Object.entries(e).reverse()) as unknown as SessionEntry);
		expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(data));
		expect(sessionChecksum('s', reordered)).toBe(sessionChecksum('s', data));
		expect(sessionChecksum('t', data)).not.toBe(sessionChecksum('s', data));
		const changed = structuredClone(data);
		(changed.entries[0] as { timestamp: string }).timestamp += ' ';
		expect(sessionChecksum('s', changed)).not.toBe(sessionChecksum('s', data));
		expect(sessionChecksum('s', data)).toMatch(/^sha256:[0-9a-f]{64}$/);
	});

	it('handles nesting deeper than a recursive walk would', () => {
		let deep: unknown = 'leaf';
		for (let i = 0; i < 20_000; i++) deep = { k: [deep] };
		expect(canonicalJson(deep).length).toBe(20_000 * '{"k":[]}'.length + '"leaf"'.length);
	});

	it('the reader accepts what the encoder writes and names the first damaged line', () => {
		const lines = [
			encodeHeader({ backend: 'sqlite', layout: 'log' }),
			encodeSession('a', conversation(1)),
			encodeSession('b', emptySession()),
			encodeTrailer(2),
		];
		const reader = new ExportReader('x.jsonl');
		expect(lines.map((l) => reader.next(l)?.kind)).toEqual(['header', 'session', 'session', 'trailer']);
		expect(reader.finish()).toBe(2);
		const twice = new ExportReader('x.jsonl');
		twice.next(lines[0]!);
		twice.next(lines[1]!);
		expect(() => twice.next(lines[1]!)).toThrow('x.jsonl, line 3: session "a" appears a second time');
		const miscounted = new ExportReader('x.jsonl');
		miscounted.next(lines[0]!);
		expect(() => miscounted.next(encodeTrailer(1))).toThrow('line 2: the end line counts 1 sessions but the file holds 0');
		expect(() => new ExportReader('empty.jsonl').finish()).toThrow('empty.jsonl is empty: there is no header line');
	});
});

describe('durations', () => {
	it('parses units and combinations, and dates for --since', () => {
		expect(parseDuration('30d')).toBe(30 * 86_400_000);
		expect(parseDuration('1d12h')).toBe(36 * 3_600_000);
		expect(parseDuration('90m')).toBe(5_400_000);
		expect(parseDuration('2w')).toBe(14 * 86_400_000);
		for (const bad of ['', '30', 'd', '1 day', '-1d', '0s']) expect(parseDuration(bad)).toBeNull();
		const now = Date.UTC(2026, 0, 10);
		expect(parseSince('2d', now)).toBe(Date.UTC(2026, 0, 8));
		expect(parseSince('2026-01-01', now)).toBe(Date.UTC(2026, 0, 1));
		expect(parseSince('2026-01-01T12:00:00Z', now)).toBe(Date.UTC(2026, 0, 1, 12));
		expect(parseSince('last week', now)).toBeNull();
	});
});

describe('session tree', () => {
	it('keeps the leaf visible when it is a tool result, and shows branch summaries and failed tools', () => {
		const data = conversation(1);
		const [user, call, result] = data.entries as [SessionEntry, SessionEntry, SessionEntry];
		(result as { message: { isError?: boolean } }).message.isError = true;
		data.entries = [
			user,
			call,
			result,
			{ type: 'branch_summary', id: 'bs000001', parentId: user.id, timestamp: user.timestamp, fromId: call.id, summary: 'Tried bash first.' } as SessionEntry,
		];
		data.leafId = result.id;
		const text = renderSessionTree('s', data, { width: 100 });
		expect(text).toContain('├─ ● 10000001  ⚙ bash(echo step 0) → no result');
		expect(text).toContain('│  ● 10000002  ⚙ result of bash: error, 5 lines  ◀ leaf');
		expect(text).toContain('└─ ○ bs000001  ↳ branch summary (from 10000001): Tried bash first.');
		expect(renderSessionTree('e', emptySession())).toBe(
			'session "e" · 0 entries · 0 branches\nno leaf · created 2026-01-01T00:00:00.000Z · updated 2026-01-01T00:00:00.000Z\n(no entries)\n',
		);
	});

	it('draws a 5,000-entry chain and counts what the header says', () => {
		const data = conversation(1250);
		data.entries.push(messageEntry('alt00001', data.entries[10]!.id, 'user', 'another question', 1));
		const stats = sessionStats(data);
		expect(stats).toMatchObject({ entries: 5001, branches: 2, toolCalls: 1250, compactions: 0, leafExists: true, missingParents: [] });
		const lines = renderSessionTree('long', data).trimEnd().split('\n');
		// Two header lines and a blank, then 1,250 questions, 1,250 folded calls, 1,250 replies and the branch.
		expect(lines).toHaveLength(3 + 3750 + 1);
		expect(lines.at(-1)).toBe('└─ ○ alt00001  user: another question');
	});
});
