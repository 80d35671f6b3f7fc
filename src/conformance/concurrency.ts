/** Concurrency: overlapping saves land in call order, and a stale snapshot never overwrites a newer one. */
import { conversation, copy, emptySession } from './fixtures.js';
import type { SpecGroup } from './spec.js';

export const concurrency: SpecGroup = {
	name: 'concurrency',
	register(s) {
		s.test('overlapping saves of one key land in call order: the last one called is what load returns', async (store) => {
			const id = s.key('overlap');
			const snapshots = Array.from({ length: 50 }, (_, i) => conversation(1 + Math.floor(i / 5), { base: emptySession({ metadata: { n: i } }) }));
			await Promise.all(snapshots.map((snapshot) => store.save(id, snapshot)));
			s.equal(
				await store.load(id),
				snapshots[49],
				'after 50 saves of one key called without awaiting each other, load must return the last one called (an older snapshot must never land after a newer one)',
			);
		});
		s.test('overlapping saves of different keys do not interfere', async (store) => {
			const keys = Array.from({ length: 20 }, (_, i) => s.key(`parallel-${i}`));
			const last = (i: number) => conversation(1 + (i % 3), { base: emptySession({ metadata: { i } }) });
			await Promise.all(keys.flatMap((id, i) => [store.save(id, conversation(1)), store.save(id, last(i))]));
			for (const [i, id] of keys.entries())
				s.equal(
					await store.load(id),
					last(i),
					`with saves of 20 keys overlapping, load(${JSON.stringify(id)}) must return the last snapshot saved under that key`,
				);
		});
		s.test("Flue's task flow (child saves, overlapping metadata-only parent saves) lands every save in order", async (store) => {
			const parentId = s.key('parent');
			const parent = conversation(1);
			await store.save(parentId, parent);
			const children = [0, 1].map((i) => s.key(`task:parent:child-${i}`));
			const pending: Promise<void>[] = [];
			for (const child of children) {
				pending.push(store.save(child, emptySession()));
				parent.metadata.taskSessions = [...(parent.metadata.taskSessions ?? []), { storageKey: child }];
				pending.push(store.save(parentId, copy(parent)));
			}
			pending.push(...children.map((c) => store.save(c, conversation(1))));
			await Promise.all(pending);
			s.equal(
				await store.load(parentId),
				parent,
				'two metadata-only saves of the parent in flight at once must both land, the later one last (it lists both task sessions)',
			);
			for (const c of children) s.equal(await store.load(c), conversation(1), `the task session ${JSON.stringify(c)} must hold its last save`);
		});
		s.test('a save from a stale snapshot (a second session object saved first) fails with CONFLICT and changes nothing', async (store) => {
			const id = s.key('stale');
			await store.save(id, conversation(1));
			const a = (await store.load(id))!;
			const b = (await store.load(id))!;
			const aNext = conversation(2, { base: a });
			await store.save(id, aNext);
			const bNext = conversation(1, { base: b, startAt: 500 });
			const err = await s.rejects(
				store.save(id, bNext),
				'CONFLICT',
				"a save from a stale snapshot (it drops entries another session object saved since this one's load)",
			);
			s.ok(
				err.message.includes(JSON.stringify(id)),
				'the CONFLICT message must name the session id (in JSON quotes)',
				() => `the message was ${JSON.stringify(err.message)}`,
			);
			s.equal(await store.load(id), aNext, 'after the refused stale save, load must return the newer snapshot, unchanged');
		});
		s.test('after a CONFLICT, loading again and saving succeeds', async (store) => {
			const id = s.key('recover');
			await store.save(id, conversation(1));
			const stale = (await store.load(id))!;
			await store.save(id, conversation(2));
			await s.rejects(store.save(id, conversation(1, { base: stale, startAt: 700 })), 'CONFLICT', 'a save from a stale snapshot');
			const fresh = (await store.load(id))!;
			await s.roundTrip(store, id, conversation(1, { base: fresh }), 'a snapshot built on a fresh load after the CONFLICT (the store must accept it)');
		});
		s.testWith("with concurrency: 'last-writer-wins' the last snapshot saved wins, stale or not", async (open) => {
			const store = await open({ concurrency: 'last-writer-wins' });
			const id = s.key('lww');
			await store.save(id, conversation(1));
			const b = (await store.load(id))!;
			await store.save(id, conversation(2));
			await s.roundTrip(
				store,
				id,
				conversation(1, { base: b, startAt: 500 }),
				"a stale snapshot saved with concurrency: 'last-writer-wins' (it must replace the newer one, not fail)",
			);
		});
	},
};
