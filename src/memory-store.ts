import { createStore, type RawBlobSession, StaleRevisionError, type StorageAdapter, type WritePlan } from './core/engine.js';
import { utf8Length } from './core/serialize.js';
import { ConfigError } from './errors.js';
import type { ConcurrencyMode, FluePersistStore, ListPage } from './types.js';

const SHARED = Symbol('flue-persist.memory');

export interface MemoryStoreOptions {
	/** `'optimistic'` (default) rejects stale snapshots with a CONFLICT error; `'last-writer-wins'` lets the last save win. */
	concurrency?: ConcurrencyMode;
	/**
	 * Another memory store whose data this one shares: two instances over one memory, as two
	 * processes over one database. Default: a new, empty memory.
	 */
	share?: FluePersistStore;
}

type Rows = Map<string, RawBlobSession>;

class MemoryAdapter implements StorageAdapter {
	readonly backend = 'memory';
	readonly layout = 'memory' as const;
	constructor(readonly rows: Rows) {}

	async init(): Promise<void> {}

	async read(id: string): Promise<RawBlobSession | null> {
		return this.rows.get(id) ?? null;
	}

	async write(plan: WritePlan): Promise<void> {
		const current = this.rows.get(plan.id)?.rev ?? null;
		if (current !== plan.expectedRev) throw new StaleRevisionError(plan.id);
		this.rows.set(plan.id, { rev: plan.rev, full: plan.full! });
	}

	async remove(id: string): Promise<void> {
		this.rows.delete(id);
	}

	async list({ prefix, limit, cursor }: { prefix: string; limit: number; cursor: string | null }): Promise<ListPage> {
		const ids = [...this.rows.keys()].filter((id) => id.startsWith(prefix) && (cursor === null || id > cursor)).sort();
		const page = ids.slice(0, limit);
		return {
			sessions: page.map((id) => {
				const row = this.rows.get(id)!;
				return { id, updatedAt: new Date(row.rev).toISOString(), bytes: utf8Length(row.full) };
			}),
			cursor: ids.length > limit ? page[page.length - 1]! : null,
		};
	}

	async close(): Promise<void> {}
}

/**
 * The reference store: sessions in a Map, as JSON text, so that callers never share objects with
 * it. It behaves exactly as the durable stores do (same checks, errors and concurrency rules) and
 * is lost when the process ends.
 *
 * @example
 * const agent = await init({ model, persist: memoryStore() })
 */
export function memoryStore(options: MemoryStoreOptions = {}): FluePersistStore {
	let rows: Rows = new Map();
	if (options.share !== undefined) {
		const shared = (options.share as unknown as Record<symbol, Rows | undefined>)[SHARED];
		if (!shared) throw new ConfigError('option share must be a store made by memoryStore().', { backend: 'memory' });
		rows = shared;
	}
	const store = createStore(new MemoryAdapter(rows), {
		concurrency: options.concurrency,
		capabilities: { durable: false, maxSessionBytes: 64 * 1024 * 1024 },
	});
	Object.defineProperty(store, SHARED, { value: rows });
	return store;
}
