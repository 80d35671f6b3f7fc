/** saveDelta (optional): a delta stores exactly what a full save of the new snapshot stores. */
import { computeDelta } from '../core/delta.js';
import type { FluePersistStore, SessionData } from '../types.js';
import { conversation, copy, emptySession } from './fixtures.js';
import type { Spec, SpecGroup, TestStore } from './spec.js';

type WithDelta<S> = S & Pick<FluePersistStore, 'saveDelta'>;

export const saveDelta: SpecGroup = {
	name: 'saveDelta',
	register<S extends TestStore>(s: Spec<S>) {
		const deltaTest = (name: string, fn: (store: WithDelta<S>) => Promise<void>) => s.test(name, (store) => fn(store as WithDelta<S>), { needs: 'saveDelta' });

		deltaTest('saveDelta(id, computeDelta(previous, next)) stores exactly what save(id, next) stores', async (store) => {
			const viaSave = s.key('via-save');
			const viaDelta = s.key('via-delta');
			const steps: Array<[string, SessionData]> = [];
			let cur = emptySession();
			steps.push(['an empty session', copy(cur)]);
			cur = conversation(2, { base: cur });
			steps.push(['two turns appended', copy(cur)]);
			cur.metadata.taskSessions = [{ storageKey: 'k' }];
			steps.push(['a metadata-only change', copy(cur)]);
			const leaf = cur.entries.pop()!;
			cur.leafId = leaf.parentId;
			steps.push(['the leaf removed', copy(cur)]);
			cur.entries.push({ ...leaf, message: { role: 'assistant', content: [{ type: 'text', text: 'reused id' }] } } as never);
			cur.leafId = leaf.id;
			steps.push(['the removed id reused for a new entry', copy(cur)]);
			(cur.entries[0] as { message: unknown }).message = { role: 'user', content: [{ type: 'text', text: 'edited' }] };
			steps.push(['the first entry edited in place', copy(cur)]);
			cur.entries.reverse();
			steps.push(['the entries reversed', copy(cur)]);
			let prev: SessionData | null = null;
			for (const [what, step] of steps) {
				await store.save(viaSave, step);
				await store.saveDelta(viaDelta, computeDelta(prev, step));
				const saved = await store.load(viaSave);
				s.equal(saved, step, `after ${what}, load must return what save stored`);
				s.equal(await store.load(viaDelta), saved, `after ${what}, the session written by saveDelta must load deep-equal to the one written by save`);
				prev = step;
			}
		});
		deltaTest('entries a delta removes by name are gone, while a full save that drops them is a CONFLICT', async (store) => {
			const id = s.key('delta-remove');
			const data = conversation(3);
			await store.save(id, data);
			const trimmed = copy(data);
			trimmed.entries.splice(0, 4);
			trimmed.entries[0]!.parentId = null;
			await s.rejects(store.save(id, trimmed), 'CONFLICT', 'a full save that drops stored entries other than the leaf (it looks like a stale snapshot)');
			s.equal(await store.load(id), data, 'after the refused save, the session must load unchanged');
			await store.saveDelta(id, computeDelta(data, trimmed));
			s.equal(await store.load(id), trimmed, 'saveDelta with the dropped entries named in remove must store the trimmed session');
		});
		deltaTest('saveDelta creates a session that does not exist', async (store) => {
			const data = conversation(2);
			await store.saveDelta(s.key('delta-new'), computeDelta(null, data));
			s.equal(await store.load(s.key('delta-new')), data, 'saveDelta(id, computeDelta(null, data)) for a new id must store data');
		});
		deltaTest('a delta that removes an entry that is not stored fails with CONFLICT and changes nothing', async (store) => {
			const id = s.key('delta-stale');
			const data = conversation(2);
			await store.save(id, data);
			const { entries: _entries, ...header } = data;
			await s.rejects(
				store.saveDelta(id, { upsert: [], remove: ['deadbeef'], header }),
				'CONFLICT',
				'saveDelta naming an entry to remove that is not stored (the delta was computed from another snapshot)',
			);
			s.equal(await store.load(id), data, 'after the refused delta, the session must load unchanged');
		});
		deltaTest('a malformed delta is rejected with INVALID_INPUT and changes nothing', async (store) => {
			const id = s.key('delta-bad');
			const data = conversation(1);
			await store.save(id, data);
			const { entries: _entries, ...header } = data;
			const cases: Array<[unknown, string]> = [
				[null, 'null'],
				[{ upsert: [] }, 'a delta without remove and header'],
				[{ upsert: 'x', remove: [], header }, 'upsert that is not an array'],
				[{ upsert: [], remove: [1], header }, 'remove holding a number'],
				[{ upsert: [], remove: [], header: { ...header, entries: [] } }, 'a header with entries'],
				[{ upsert: [{ id: 5 }], remove: [], header }, 'an upserted entry with a number as id'],
			];
			for (const [bad, what] of cases) await s.rejects(store.saveDelta(id, bad as never), 'INVALID_INPUT', `saveDelta with ${what}`);
			s.equal(await store.load(id), data, 'after the refused deltas, the session must load unchanged');
		});
	},
};
