/**
 * Stale writers on one store: two callers load the same session, one saves, and the other saves
 * from its older copy. Whatever the stale copy changes (only the metadata, new entries on top of
 * an old history, a delta), it must fail with CONFLICT and leave the newer save in place, while
 * Flue's own history edits (dropping the leaf after a context overflow) keep working on the
 * objects Flue holds.
 *
 * The copies here are the objects `load` returned, used as they are: a caller that clones them
 * (or builds fresh objects) gives the store nothing to tell old from new but the entries it drops.
 * So the cases apply to stores that declare `capabilities.lineage: true`.
 */
import { computeDelta } from '../core/delta.js';
import type { FluePersistStore, SessionData, SessionEntry } from '../types.js';
import { copy, emptySession, messageEntry } from './fixtures.js';
import type { Spec, SpecGroup, TestStore } from './spec.js';

/** Holds a session the way Flue 0.4 does: one entries array and one metadata object, saved as `{ ...header, entries: [...entries] }`. */
class FlueShapedSession {
	entries: SessionEntry[];
	leafId: string | null;
	metadata: Record<string, unknown>;
	constructor(
		private readonly store: TestStore,
		private readonly id: string,
		private readonly data: SessionData,
	) {
		this.entries = [...data.entries];
		this.leafId = data.leafId;
		this.metadata = data.metadata;
	}
	append(entry: SessionEntry): void {
		this.entries.push(entry);
		this.leafId = entry.id;
	}
	/** Flue's overflow recovery: the failed reply at the leaf goes, the leaf moves back to its parent. */
	dropLeaf(): void {
		const leaf = this.entries.find((e) => e.id === this.leafId)!;
		this.entries = this.entries.filter((e) => e !== leaf);
		this.leafId = leaf.parentId;
	}
	snapshot(): SessionData {
		return {
			version: this.data.version,
			entries: [...this.entries],
			leafId: this.leafId,
			metadata: this.metadata,
			createdAt: this.data.createdAt,
			updatedAt: new Date().toISOString(),
		};
	}
	save(): Promise<void> {
		return this.store.save(this.id, this.snapshot());
	}
}

/** Session x = [a, b], leaf b, saved; then loaded twice, as two callers would. */
async function twoCallers(store: TestStore, id: string): Promise<{ id: string; one: SessionData; two: SessionData }> {
	const a = messageEntry('0000000a', null, 'user', 'question a');
	const b = messageEntry('0000000b', a.id, 'assistant', 'answer b');
	await store.save(id, { ...emptySession({ metadata: { turn: 1 } }), entries: [a, b], leafId: b.id });
	const one = (await store.load(id))!;
	const two = (await store.load(id))!;
	return { id, one, two };
}

function append(data: SessionData, entry: SessionEntry): SessionData {
	return { ...data, entries: [...data.entries, entry], leafId: entry.id };
}

const STALE = 'a save from a stale copy (loaded before another caller saved)';
const lineage = { requires: 'lineage' } as const;

function register<S extends TestStore>(s: Spec<S>): void {
	const key = (name: string) => s.key(name, 'stale-agent');
	s.test(
		'a stale copy that changes only metadata gets CONFLICT and does not erase the newest entry',
		async (store) => {
			const { id, one, two } = await twoCallers(store, key('meta-only'));
			const saved = append(one, messageEntry('0000000c', one.leafId, 'user', 'question c'));
			await store.save(id, saved);
			two.metadata.note = 'changed by the stale copy';
			const err = await s.rejects(store.save(id, { ...two, entries: [...two.entries] }), 'CONFLICT', `${STALE} that changes only metadata`);
			s.ok(err.message.includes(JSON.stringify(id)), 'the CONFLICT message must name the session', () => `it said: ${err.message}`);
			s.equal(await store.load(id), copy(saved), 'the newer save, with its newest entry, must still be what load returns');
		},
		lineage,
	);

	s.test(
		'a stale copy that appends an entry gets CONFLICT and does not revert metadata',
		async (store) => {
			const { id, one, two } = await twoCallers(store, key('append-reverts'));
			one.metadata.taskSessions = [{ storageKey: key('task:x') }];
			await store.save(id, { ...one, entries: [...one.entries] });
			await s.rejects(store.save(id, append(two, messageEntry('0000000d', two.leafId, 'user', 'question d'))), 'CONFLICT', `${STALE} that appends an entry`);
			s.equal(await store.load(id), copy(one), 'the metadata of the newer save must still be what load returns');
		},
		lineage,
	);

	s.test(
		'a stale copy that changes version gets CONFLICT and does not revert the newer version',
		async (store) => {
			const { id, one, two } = await twoCallers(store, key('version'));
			await store.save(id, { ...one, version: 3 });
			await s.rejects(store.save(id, { ...two, updatedAt: new Date().toISOString() }), 'CONFLICT', `${STALE} with an older version`);
			s.equal((await store.load(id))!.version, 3, 'the version of the newer save must still be what load returns');
		},
		lineage,
	);

	s.test(
		'a stale saveDelta gets CONFLICT and does not overwrite version or metadata',
		async (store) => {
			const saveDelta = (id: string, delta: Parameters<FluePersistStore['saveDelta']>[1]) =>
				(store as S & Pick<FluePersistStore, 'saveDelta'>).saveDelta(id, delta);
			const { id, one, two } = await twoCallers(store, key('delta'));
			const saved = { ...append(one, messageEntry('0000000c', one.leafId, 'user', 'question c')), version: 3 };
			saved.metadata.turn = 2;
			await store.save(id, saved);
			const before = copy(two);
			two.metadata.fromDelta = true;
			const next = append(two, messageEntry('0000000e', two.leafId, 'user', 'question e'));
			await s.rejects(saveDelta(id, computeDelta(before, next)), 'CONFLICT', 'a saveDelta computed from a stale copy');
			const { entries: _entries, ...header } = two;
			await s.rejects(saveDelta(id, { upsert: [], remove: [], header }), 'CONFLICT', "a saveDelta that carries only a stale copy's header");
			s.equal(await store.load(id), copy(saved), 'the newer save must still be what load returns');
		},
		{ ...lineage, needs: 'saveDelta' },
	);

	s.test(
		'the caller that saved last keeps saving after the stale copy was refused',
		async (store) => {
			const { id, one, two } = await twoCallers(store, key('winner-continues'));
			let current = append(one, messageEntry('0000000c', one.leafId, 'user', 'question c'));
			await store.save(id, current);
			await s.rejects(store.save(id, { ...two, metadata: Object.assign(two.metadata, { x: 1 }) }), 'CONFLICT', STALE);
			current = append(current, messageEntry('0000000f', current.leafId, 'assistant', 'answer f'));
			await store.save(id, current);
			current.metadata.turn = 3;
			await store.save(id, { ...current, entries: [...current.entries] });
			s.equal(await store.load(id), copy(current), "the winner's later saves must land");
		},
		lineage,
	);

	s.test(
		'after a CONFLICT, the copy loaded again saves',
		async (store) => {
			const { id, one, two } = await twoCallers(store, key('reload'));
			await store.save(id, append(one, messageEntry('0000000c', one.leafId, 'user', 'question c')));
			two.metadata.note = 'stale';
			await s.rejects(store.save(id, two), 'CONFLICT', STALE);
			const fresh = (await store.load(id))!;
			fresh.metadata.note = 'fresh';
			const next = append(fresh, messageEntry('00000010', fresh.leafId, 'assistant', 'answer'));
			await store.save(id, next);
			s.equal(await store.load(id), copy(next), 'a save from a copy loaded after the CONFLICT must land');
		},
		lineage,
	);

	s.test(
		"Flue's overflow recovery (drop the leaf, move the leaf to its parent, save again) passes on the objects it holds",
		async (store) => {
			const id = key('overflow');
			await store.save(id, emptySession());
			const session = new FlueShapedSession(store, id, (await store.load(id))!);
			session.append(messageEntry('00000001', null, 'user', 'question'));
			session.append(messageEntry('00000002', '00000001', 'assistant', 'answer'));
			await session.save();
			session.append(messageEntry('00000003', '00000002', 'user', 'a long question'));
			session.append(messageEntry('00000004', '00000003', 'assistant', 'context overflow'));
			await session.save();
			session.dropLeaf();
			await session.save();
			session.metadata.compacted = true;
			session.append({
				type: 'compaction',
				id: '00000005',
				parentId: '00000003',
				timestamp: '2026-01-01T01:00:00.000Z',
				summary: 'earlier turns',
				firstKeptEntryId: '00000003',
				tokensBefore: 9000,
			} as SessionEntry);
			session.append({ ...messageEntry('00000004', '00000005', 'assistant', 'retried answer under a reused id'), source: 'retry' } as SessionEntry);
			await session.save();
			const loaded = (await store.load(id))!;
			s.equal(
				loaded.entries.map((e) => e.id),
				['00000001', '00000002', '00000003', '00000005', '00000004'],
				'the entries after the recovery must be the ones Flue holds, in order',
			);
			s.equal(loaded.entries, copy(session.entries), 'the entries after the recovery must load deep-equal');
			s.equal(loaded.leafId, '00000004', 'the leaf must be the retried reply');
			s.equal(loaded.metadata, { compacted: true }, 'the metadata of the last save must load');
		},
		lineage,
	);

	s.test(
		'a Flue-shaped session resumed from load (a restart) saves, recovers from an overflow and refuses the stale copy of another caller',
		async (store) => {
			const id = key('resumed');
			await store.save(id, {
				...emptySession(),
				entries: [messageEntry('00000001', null, 'user', 'q'), messageEntry('00000002', '00000001', 'assistant', 'a')],
				leafId: '00000002',
			});
			const stale = (await store.load(id))!;
			const session = new FlueShapedSession(store, id, (await store.load(id))!);
			session.append(messageEntry('00000003', '00000002', 'user', 'q2'));
			await session.save();
			session.dropLeaf();
			await session.save();
			session.append(messageEntry('00000003', '00000002', 'user', 'q2 again'));
			await session.save();
			stale.metadata.stale = true;
			await s.rejects(store.save(id, stale), 'CONFLICT', STALE);
			const loaded = (await store.load(id))!;
			s.equal(loaded.entries, copy(session.entries), "the resumed session's entries must load");
			s.equal(loaded.metadata, {}, "the stale copy's metadata must not land");
		},
		lineage,
	);

	s.test(
		'entry objects shared with another session make neither stale',
		async (store) => {
			const x = key('shared-x');
			const y = key('shared-y');
			await store.save(x, { ...emptySession(), entries: [messageEntry('00000001', null, 'user', 'q')], leafId: '00000001' });
			const loaded = (await store.load(x))!;
			const fork = { ...emptySession(), entries: [...loaded.entries], leafId: loaded.leafId };
			await store.save(y, fork);
			await store.save(x, append(loaded, messageEntry('00000002', '00000001', 'assistant', 'a in x')));
			await store.save(y, append(fork, messageEntry('00000002', '00000001', 'assistant', 'a in y')));
			s.equal((await store.load(x))!.entries[1], messageEntry('00000002', '00000001', 'assistant', 'a in x'), 'the first session must keep its own reply');
			s.equal((await store.load(y))!.entries[1], messageEntry('00000002', '00000001', 'assistant', 'a in y'), 'the second session must keep its own reply');
		},
		lineage,
	);

	s.test(
		'a copy read before a delete gets CONFLICT instead of bringing the session back',
		async (store) => {
			const { id, one } = await twoCallers(store, key('deleted'));
			await store.delete(id);
			one.metadata.note = 'after the delete';
			await s.rejects(store.save(id, one), 'CONFLICT', 'a save from a copy loaded before the session was deleted');
			s.isNull(await store.load(id), 'the deleted session must stay deleted');
		},
		lineage,
	);

	s.testWith(
		"with concurrency: 'last-writer-wins' the stale copy's save wins",
		async (open) => {
			const store = await open({ concurrency: 'last-writer-wins' });
			const { id, one, two } = await twoCallers(store, key('lww'));
			await store.save(id, append(one, messageEntry('0000000c', one.leafId, 'user', 'question c')));
			two.metadata.note = 'last';
			await store.save(id, two);
			s.equal(await store.load(id), copy(two), "with last-writer-wins the stale copy's save must land whole");
		},
		lineage,
	);
}

export const staleWriters: SpecGroup = { name: 'stale writers', register };
