/**
 * Durable sessions for Flue agents on Cloudflare, in the agent's own Durable Object SQLite
 * (flue-persist).
 *
 * Flue runs each agent id in a Durable Object and keeps its sessions there. This store uses the
 * same storage and the same table, `flue_sessions`, so sessions saved before it was installed load
 * as they are, and it adds what the default store lacks: sessions past the 2 MB row limit, and
 * saves that never let an older snapshot overwrite a newer one.
 *
 * In an agent: `init({ model, persist: sessionStore(getCloudflareContext().storage) })`.
 */
import { durableObjectStore, type DurableObjectStorageLike, type DurableObjectStoreOptions } from 'flue-persist/durable-object';

/** A store over a Durable Object's storage (`ctx.storage`), in Flue's own table. */
export function createSessionStore(storage: DurableObjectStorageLike, options: DurableObjectStoreOptions = {}) {
	return durableObjectStore(storage, { layout: 'blob', ...options });
}

// One store per object: it remembers what it last wrote, so a save sends only what changed, and
// it runs the saves of one session one after another.
const stores = new WeakMap<object, ReturnType<typeof createSessionStore>>();

/**
 * The store of the Durable Object the agent runs in. Pass `getCloudflareContext().storage` from
 * '@flue/sdk/cloudflare': Flue types it as `{ sql }`, but it is the object's full storage.
 */
export function sessionStore(storage: { sql: unknown }) {
	let store = stores.get(storage);
	if (!store) {
		store = createSessionStore(storage as DurableObjectStorageLike);
		stores.set(storage, store);
	}
	return store;
}
