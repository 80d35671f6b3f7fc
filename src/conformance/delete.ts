/** Delete: a deleted session is gone, and deleting what is not there is not an error. */
import { conversation, emptySession } from './fixtures.js';
import type { SpecGroup } from './spec.js';

export const deletion: SpecGroup = {
	name: 'delete',
	register(s) {
		s.test('delete removes a stored session', async (store) => {
			const id = s.key('to-delete');
			await store.save(id, conversation(2));
			s.equal((await store.load(id))?.entries.length, 8, 'load after save must return the 8 entries saved');
			await store.delete(id);
			s.isNull(await store.load(id), 'load after delete must return null');
		});
		s.test('delete of an id that was never saved resolves and leaves other sessions alone', async (store) => {
			const keep = s.key('keep');
			await store.save(keep, conversation(1));
			await store.delete(s.key('absent'));
			s.equal(
				await store.load(keep),
				conversation(1),
				'delete of an unknown id (Flue deletes keys that never existed) must resolve and change no other session',
			);
		});
		s.test('a deleted id can be saved again from scratch', async (store) => {
			const id = s.key('again');
			await store.save(id, conversation(3));
			await store.delete(id);
			await s.roundTrip(
				store,
				id,
				conversation(1, { base: emptySession({ metadata: { fresh: true } }) }),
				'the new session saved under a deleted id, with nothing of the deleted one',
			);
		});
	},
};
