/** list (optional): ids in order, paged, with when each was written and its size; listAll and has over it. */
import type { FluePersistStore, ListPage } from '../types.js';
import { conversation, emptySession } from './fixtures.js';
import type { Spec, SpecGroup, TestStore } from './spec.js';

type WithList<S> = S & Pick<FluePersistStore, 'list'> & Partial<Pick<FluePersistStore, 'listAll' | 'has'>>;

export const list: SpecGroup = {
	name: 'list',
	register<S extends TestStore>(s: Spec<S>) {
		const listTest = (name: string, fn: (store: WithList<S>) => Promise<void>, options: { timeout?: number } = {}) =>
			s.test(name, (store) => fn(store as WithList<S>), { ...options, needs: 'list' });
		const idsOf = (page: ListPage) => page.sessions.map((x) => x.id);

		listTest('list() of an empty store is an empty last page', async (store) => {
			s.equal(await store.list(), { sessions: [], cursor: null }, 'list() of a store with no sessions must return { sessions: [], cursor: null }');
		});
		listTest('list pages through ids in order with updatedAt and stored size, and filters by prefix', async (store) => {
			const ids = Array.from({ length: 7 }, (_, i) => `p:${i}`).concat(['q:0', 'p%x', 'p_y']);
			const before = Date.now();
			for (const id of ids) await store.save(id, conversation(1));
			const seen: string[] = [];
			let cursor: string | null = null;
			let pages = 0;
			do {
				const page: ListPage = await store.list({ prefix: 'p:', limit: 3, cursor });
				for (const item of page.sessions) {
					seen.push(item.id);
					s.ok(
						item.bytes > 500,
						`list must give each session's stored size in bytes (${JSON.stringify(item.id)} holds more than 500)`,
						() => `bytes is ${item.bytes}`,
					);
					s.ok(
						Date.parse(item.updatedAt) >= before - 5000,
						`list must give when each session was last written, as an ISO time (${JSON.stringify(item.id)} was written just now)`,
						() => `updatedAt is ${JSON.stringify(item.updatedAt)}`,
					);
				}
				cursor = page.cursor;
				pages++;
			} while (cursor !== null && pages < 10);
			s.equal(
				seen,
				ids.slice(0, 7),
				"list({ prefix: 'p:', limit: 3 }), followed page by page through cursor, must return every id with the prefix once, in order",
			);
			s.equal(pages, 3, '7 ids in pages of 3 must take exactly 3 pages, the last with cursor null');
			s.equal(idsOf(await store.list({ prefix: 'p%' })), ['p%x'], "list({ prefix: 'p%' }) must match the prefix literally (% is not a wildcard)");
			s.equal(idsOf(await store.list({ prefix: 'p_' })), ['p_y'], "list({ prefix: 'p_' }) must match the prefix literally (_ is not a wildcard)");
		});
		listTest(
			'listAll() yields every session in id order across pages, and filters by prefix',
			async (store) => {
				s.ok(typeof store.listAll === 'function', 'a store with list() must also have listAll(), an async iterator over every session');
				const ids = Array.from({ length: 1003 }, (_, i) => `a:${String(i).padStart(4, '0')}`);
				for (const id of ids) await store.save(id, emptySession());
				await store.save('b:0', emptySession());
				const seen: string[] = [];
				for await (const item of store.listAll!({ prefix: 'a:' })) {
					seen.push(item.id);
					s.ok(
						item.bytes > 0 && !Number.isNaN(Date.parse(item.updatedAt)),
						`listAll must give each session's stored size and last write time, as list does (${JSON.stringify(item.id)})`,
						() => JSON.stringify(item),
					);
				}
				s.equal(
					seen,
					ids,
					"listAll({ prefix: 'a:' }) must yield all 1,003 ids with the prefix once each, in id order, reading past list()'s largest page of 1,000",
				);
				const all: string[] = [];
				for await (const item of store.listAll!()) all.push(item.id);
				s.equal(all, [...ids, 'b:0'], 'listAll() without a prefix must yield every stored session');
			},
			{ timeout: s.largeTimeout },
		);
		listTest('has(id) tells whether exactly that id is stored', async (store) => {
			s.ok(typeof store.has === 'function', 'a store with list() must also have has(id)');
			await store.save('h:ab', emptySession());
			s.equal(await store.has!('h:ab'), true, 'has(id) must be true for a saved session');
			s.equal(await store.has!('h:a'), false, 'has(id) must be false for an id that is only a prefix of a stored one');
			s.equal(await store.has!('h:abc'), false, 'has(id) must be false for an id that a stored id is a prefix of');
			s.equal(await store.has!('h:%'), false, 'has(id) must compare the id literally (% is not a wildcard)');
			const saving = store.save('h:new', emptySession());
			const seen = store.has!('h:new');
			await saving;
			s.equal(await seen, true, 'has(id) called after save(id) (without waiting for it) must see the session');
			await store.delete('h:ab');
			s.equal(await store.has!('h:ab'), false, 'has(id) must be false once the session is deleted');
		});
		listTest('a deleted session leaves the list', async (store) => {
			await store.save('l:1', emptySession());
			await store.save('l:2', emptySession());
			await store.delete('l:1');
			s.equal(idsOf(await store.list({ prefix: 'l:' })), ['l:2'], 'list must not return a deleted session');
		});
	},
};
