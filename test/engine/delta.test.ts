import { describe, expect, it } from 'vitest';
import { conversation, copy, emptySession, messageEntry } from '../../src/conformance/fixtures.js';
import { type BaseState, planEntries, staleDrops } from '../../src/core/delta.js';
import { applyDelta, computeDelta, type SessionData } from '../../src/index.js';

function base(data: SessionData): BaseState {
	const entries = new Map(data.entries.map((e, pos) => [e.id, { json: JSON.stringify(e), parentId: e.parentId, pos }] as const));
	return { entries, leafId: data.leafId, nextPos: data.entries.length, bytes: 0, headerBytes: 0, textLength: 0 };
}
const records = (data: SessionData) => data.entries.map((e) => ({ id: e.id, parentId: e.parentId, json: JSON.stringify(e) }));

describe('computeDelta / applyDelta', () => {
	it('a new turn is four upserts, no removals, no order', () => {
		const prev = conversation(3);
		const next = conversation(1, { base: prev });
		const delta = computeDelta(prev, next);
		expect(delta.upsert.map((e) => e.id)).toEqual(next.entries.slice(12).map((e) => e.id));
		expect(delta.remove).toEqual([]);
		expect(delta.order).toBeUndefined();
		const { entries: _entries, ...header } = next;
		expect(delta.header).toEqual(header);
		expect(applyDelta(prev, delta)).toEqual(next);
	});

	it('a metadata-only change has an empty entry delta', () => {
		const prev = conversation(2);
		const next = copy(prev);
		next.metadata.taskSessions = [{ storageKey: 'x' }];
		const delta = computeDelta(prev, next);
		expect(delta.upsert).toEqual([]);
		expect(delta.remove).toEqual([]);
		expect(applyDelta(prev, delta)).toEqual(next);
	});

	it('removal of the leaf, reuse of its id, an in-place edit and a reorder all round-trip', () => {
		const s0 = conversation(2);
		const s1 = copy(s0);
		const leaf = s1.entries.pop()!;
		s1.leafId = leaf.parentId;
		const s2 = copy(s1);
		s2.entries.push(messageEntry(leaf.id, leaf.parentId, 'assistant', 'new content, same id'));
		s2.leafId = leaf.id;
		const s3 = copy(s2);
		(s3.entries[0] as { message: unknown }).message = { role: 'user', content: [] };
		const s4 = copy(s3);
		s4.entries.reverse();
		let prev: SessionData | null = null;
		for (const next of [s0, s1, s2, s3, s4]) {
			const delta = computeDelta(prev, next);
			expect(applyDelta(prev, delta)).toEqual(next);
			prev = next;
		}
		expect(computeDelta(s0, s1).remove).toEqual([leaf.id]);
		expect(computeDelta(s1, s2).upsert.map((e) => e.id)).toEqual([leaf.id]);
		expect(computeDelta(s2, s3).upsert.map((e) => e.id)).toEqual([s3.entries[0]!.id]);
		expect(computeDelta(s3, s4).order).toEqual(s4.entries.map((e) => e.id));
	});

	it('applyDelta does not change its input', () => {
		const prev = conversation(1);
		const frozen = copy(prev);
		applyDelta(prev, computeDelta(prev, conversation(2)));
		expect(prev).toEqual(frozen);
	});
});

describe('planEntries', () => {
	it('appends new entries after the last position and keeps the others in place', () => {
		const prev = conversation(2);
		const next = conversation(1, { base: prev });
		const plan = planEntries(base(prev), records(next));
		expect(plan.rewrite).toBe(false);
		expect(plan.added.map((e) => e.pos)).toEqual([8, 9, 10, 11]);
		expect(plan.changed).toEqual([]);
		expect(plan.removed).toEqual([]);
		expect(plan.nextPos).toBe(12);
	});

	it('a new entry placed before kept ones forces a rewrite with fresh positions', () => {
		const prev = conversation(1);
		const next = copy(prev);
		next.entries.unshift(messageEntry('feed0001', null, 'user', 'first'));
		const plan = planEntries(base(prev), records(next));
		expect(plan.rewrite).toBe(true);
		expect(plan.entries.map((e) => e.pos)).toEqual([0, 1, 2, 3, 4]);
	});
});

describe('staleDrops', () => {
	const prev = conversation(2);
	it("accepts Flue's leaf removal: the leaf goes and the new leaf is its parent", () => {
		const leaf = prev.entries.at(-1)!;
		const ids = new Set(prev.entries.slice(0, -1).map((e) => e.id));
		expect(staleDrops(base(prev), ids, leaf.parentId)).toEqual([]);
	});
	it('rejects the leaf removal when the new leaf is somewhere else', () => {
		const ids = new Set(prev.entries.slice(0, -1).map((e) => e.id));
		expect(staleDrops(base(prev), ids, prev.entries[0]!.id)).toEqual([prev.leafId]);
	});
	it('rejects a snapshot that lacks two entries (another writer added a turn)', () => {
		const ids = new Set(prev.entries.slice(0, -2).map((e) => e.id));
		expect(staleDrops(base(prev), ids, null)).toEqual(prev.entries.slice(-2).map((e) => e.id));
	});
	it('rejects a snapshot that lacks an entry other than the leaf', () => {
		const ids = new Set(prev.entries.slice(1).map((e) => e.id));
		expect(staleDrops(base(prev), ids, prev.leafId)).toEqual([prev.entries[0]!.id]);
	});
	it('an empty stored session can never be stale', () => {
		expect(staleDrops(base(emptySession()), new Set(), null)).toEqual([]);
	});
});
