/** Reopen: a second store instance over the same database, as another process would open it. */
import { conversation, emptySession } from './fixtures.js';
import type { SpecGroup } from './spec.js';

export const reopen: SpecGroup = {
	name: 'reopen',
	needs: 'reopen',
	register(s) {
		s.testWith('a new instance sees every session the first one saved, and none it deleted', async (open, reopenStore) => {
			const a = await open();
			const sessions = [s.key('r1'), s.key('r2'), s.key('task:r1:x')].map((id, i) => [id, conversation(i + 1)] as const);
			for (const [id, data] of sessions) await a.save(id, data);
			await a.save(s.key('gone'), emptySession());
			await a.delete(s.key('gone'));
			const b = await reopenStore(a);
			for (const [id, data] of sessions)
				s.equal(await b.load(id), data, `a second instance over the same database must load ${JSON.stringify(id)} as the first one saved it`);
			s.isNull(await b.load(s.key('gone')), 'a second instance must not load a session the first one deleted');
		});
		s.testWith('a writer on a second instance with a stale snapshot fails with CONFLICT and changes nothing', async (open, reopenStore) => {
			const a = await open();
			const b = await reopenStore(a);
			const id = s.key('two-writers');
			await a.save(id, conversation(1));
			const seenByB = (await b.load(id))!;
			const aNext = conversation(1, { base: (await a.load(id))!, startAt: 100 });
			await a.save(id, aNext);
			// B appends to its stale copy: drops A's entries.
			await s.rejects(
				b.save(id, conversation(1, { base: seenByB, startAt: 200 })),
				'CONFLICT',
				"a save on a second instance from a snapshot loaded before the first instance's last save (it drops that save's entries)",
			);
			// B changes only metadata: drops nothing, but is still based on an old revision.
			seenByB.metadata.fromB = true;
			await s.rejects(
				b.save(id, seenByB),
				'CONFLICT',
				'a metadata-only save on a second instance from a stale snapshot (it drops no entry, but is based on an old revision)',
			);
			s.equal(await a.load(id), aNext, 'after the refused saves, the first instance must load its own last save');
			s.equal(await b.load(id), aNext, "after the refused saves, the second instance must load the first instance's last save");
		});
		s.testWith('two instances creating the same new session: one wins, the other gets CONFLICT', async (open, reopenStore) => {
			const a = await open();
			const b = await reopenStore(a);
			const id = s.key('both-create');
			s.isNull(await a.load(id), 'load of a new id must return null');
			s.isNull(await b.load(id), 'load of a new id on the second instance must return null');
			await a.save(id, conversation(1));
			await s.rejects(
				b.save(id, conversation(2, { startAt: 50 })),
				'CONFLICT',
				'a save creating a session that the second instance saw absent, after the first instance created it',
			);
			s.equal(await b.load(id), conversation(1), 'after the refused save, the session must be the one the first instance created');
		});
		s.testWith("with concurrency: 'last-writer-wins' the second instance's later save wins", async (open, reopenStore) => {
			const a = await open({ concurrency: 'last-writer-wins' });
			const b = await reopenStore(a, { concurrency: 'last-writer-wins' });
			const id = s.key('lww-two');
			await a.save(id, conversation(1));
			const stale = (await b.load(id))!;
			await a.save(id, conversation(3));
			const last = conversation(1, { base: stale, startAt: 900 });
			await b.save(id, last);
			s.equal(await a.load(id), last, "with concurrency: 'last-writer-wins', the last save must win even from a stale snapshot on another instance");
		});
		s.testWith('a delete on one instance is seen by the other', async (open, reopenStore) => {
			const a = await open();
			const b = await reopenStore(a);
			const id = s.key('del-two');
			await a.save(id, conversation(1));
			s.equal(await b.load(id), conversation(1), 'a second instance must load what the first saved');
			await a.delete(id);
			s.isNull(await b.load(id), 'after a delete on the first instance, load on the second must return null');
		});
	},
};
