/** Basics: what `save`, `load` and `delete` return for the plainest sessions. */
import { conversation, copy, emptySession } from './fixtures.js';
import { messageOf, type SpecGroup } from './spec.js';

export const basics: SpecGroup = {
	name: 'basics',
	register(s) {
		s.test('load(id) returns null for an unknown id', async (store) => {
			s.isNull(await store.load(s.key('never-saved')), 'load of an id that was never saved must return null');
		});
		s.test('save then load returns a deep-equal copy of a Flue session', async (store) => {
			await s.roundTrip(store, s.key('t1'), conversation(3), 'a three-turn Flue conversation');
		});
		s.test('an empty session (no entries, leafId null) round-trips', async (store) => {
			await s.roundTrip(store, s.key('empty'), emptySession(), 'the empty session Flue saves when agent.session(id) misses');
		});
		s.test('a second save replaces the header and the changed entries of the first', async (store) => {
			const id = s.key('replace');
			await store.save(id, conversation(2));
			const next = conversation(2, { base: emptySession({ metadata: { second: true }, version: 3 }) });
			messageOf(next.entries[1]).content = [{ type: 'text', text: 'changed' }];
			await s.roundTrip(store, id, next, 'the second snapshot (new metadata and version, one entry changed), not the first');
		});
		s.test('the store keeps copies: changing the saved or the loaded object changes nothing stored', async (store) => {
			const id = s.key('copies');
			const data = conversation(1);
			const expected = copy(data);
			await store.save(id, data);
			data.entries.pop();
			data.metadata.mutated = true;
			messageOf(data.entries[0]).content.push({ type: 'text', text: 'late' });
			const loaded = (await store.load(id))!;
			s.equal(
				loaded,
				expected,
				'the store must keep its own copy of what save received: changing that object after save resolves must not change what load returns',
			);
			loaded.entries.length = 0;
			loaded.metadata.x = 1;
			s.equal(await store.load(id), expected, 'load must return a new copy each time: changing a loaded object must not change what the next load returns');
		});
	},
};
