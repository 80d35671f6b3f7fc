/** History: Flue's history is a tree that can lose its leaf, reuse ids, branch and be edited. */
import type { SessionEntry } from '../types.js';
import { conversation, messageEntry } from './fixtures.js';
import { messageOf, type SpecGroup } from './spec.js';

export const history: SpecGroup = {
	name: 'history',
	register(s) {
		s.test("removing the leaf (Flue's context-overflow recovery) persists and is not a conflict", async (store) => {
			const id = s.key('overflow');
			const data = conversation(2);
			await store.save(id, data);
			const failed = messageEntry('aaaa0001', data.leafId, 'user', 'too long', 100);
			const failedReply = messageEntry('aaaa0002', 'aaaa0001', 'assistant', 'context overflow', 101);
			data.entries.push(failed, failedReply);
			data.leafId = 'aaaa0002';
			await store.save(id, data);
			data.entries.pop();
			data.leafId = 'aaaa0001';
			await s.roundTrip(
				store,
				id,
				data,
				'the snapshot without its failed leaf (a save that removes only the leaf, moving leafId to its parent, must be accepted)',
			);
			data.entries.push({
				type: 'compaction',
				id: 'aaaa0003',
				parentId: 'aaaa0001',
				timestamp: '2026-01-01T01:00:00.000Z',
				summary: 'earlier turns',
				firstKeptEntryId: 'aaaa0001',
				tokensBefore: 9000,
			});
			data.entries.push({ ...messageEntry('aaaa0004', 'aaaa0003', 'assistant', 'retried answer', 102), source: 'retry' } as SessionEntry);
			data.leafId = 'aaaa0004';
			await s.roundTrip(store, id, data, 'the snapshot with the compaction and the retried reply appended');
		});
		s.test('metadata-only saves persist', async (store) => {
			const id = s.key('meta');
			const data = conversation(2);
			await store.save(id, data);
			for (let i = 0; i < 3; i++) {
				data.metadata.taskSessions = [...(data.metadata.taskSessions ?? []), { storageKey: s.key(`task:meta:${i}`) }];
				data.updatedAt = new Date(Date.UTC(2026, 1, 1, 0, 0, i)).toISOString();
				await s.roundTrip(store, id, data, `the snapshot after metadata-only save ${i + 1} (same entries, new metadata and updatedAt)`);
			}
		});
		s.test('a removed entry id reused with new content loads the new content', async (store) => {
			const id = s.key('reuse');
			const data = conversation(1);
			const leaf = data.leafId!;
			const parent = data.entries.at(-1)!.parentId;
			await store.save(id, data);
			data.entries.pop();
			data.leafId = parent;
			await store.save(id, data);
			data.entries.push(messageEntry(leaf, parent, 'assistant', 'a different reply under the same id', 50));
			data.leafId = leaf;
			await s.roundTrip(store, id, data, 'the snapshot in which a removed entry id is used again for a new entry (the new content, not the old)');
		});
		s.test('an entry changed in place loads the new content', async (store) => {
			const id = s.key('edit');
			const data = conversation(2);
			await store.save(id, data);
			messageOf(data.entries[2]).content = [{ type: 'text', text: 'edited tool output' }];
			await s.roundTrip(store, id, data, 'the snapshot in which an entry already saved was changed in place');
		});
		s.test('branches off the leaf path are kept when the leaf moves', async (store) => {
			const id = s.key('branches');
			const data = conversation(2);
			await store.save(id, data);
			const fork = data.entries[3]!.id;
			data.entries.push(messageEntry('bbbb0001', fork, 'user', 'another direction', 200), messageEntry('bbbb0002', 'bbbb0001', 'assistant', 'ok', 201));
			data.entries.push({
				type: 'branch_summary',
				id: 'bbbb0003',
				parentId: 'bbbb0002',
				timestamp: '2026-01-02T00:00:00.000Z',
				fromId: data.leafId!,
				summary: 'left the first branch',
			});
			data.leafId = 'bbbb0003';
			await s.roundTrip(store, id, data, 'the snapshot with a second branch and a branch summary (entries off the leaf path must be kept)');
		});
		s.test('entries load in the order of the last save, also when it reorders them', async (store) => {
			const id = s.key('reorder');
			const data = conversation(2);
			await store.save(id, data);
			data.entries.reverse();
			await s.roundTrip(store, id, data, 'the snapshot with its entries in reverse order');
			data.entries.splice(2, 0, messageEntry('cccc0001', null, 'user', 'inserted in the middle', 300));
			await s.roundTrip(store, id, data, 'the snapshot with an entry inserted in the middle');
		});
	},
};
