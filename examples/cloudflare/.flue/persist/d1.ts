/**
 * Durable sessions for Flue agents on Cloudflare, in a D1 database (flue-persist).
 *
 * Sessions live outside the agent's Durable Object, in one database that other Workers,
 * dashboards and exports can query. Needs a D1 binding named DB in wrangler.jsonc.
 *
 * In an agent: `init({ model, persist: sessionStore(env.DB) })`.
 */
import { d1Store, type D1DatabaseLike, type D1StoreOptions } from 'flue-persist/d1';

/** A store over the D1 database `db`; its tables are created on first use. */
export function createSessionStore(db: D1DatabaseLike, options: D1StoreOptions = {}) {
	return d1Store(db, options);
}

// One store per binding for the life of the isolate: a store remembers what it last wrote and then
// saves only the entries that changed. Flue appends new entry objects and never edits a saved one in
// place, so with immutableEntries the store knows saved entries by identity and a save costs only the
// turn's new entries.
const stores = new WeakMap<D1DatabaseLike, ReturnType<typeof createSessionStore>>();

/** The store over the binding `db` (`env.DB`): the same one for every request this isolate serves. */
export function sessionStore(db: D1DatabaseLike) {
	let store = stores.get(db);
	if (!store) {
		store = createSessionStore(db, { immutableEntries: true });
		stores.set(db, store);
	}
	return store;
}
