/**
 * The Worker the Cloudflare tests run inside workerd (bundled with esbuild at test time).
 *
 * - `StoreObject`: a Durable Object that holds store instances (durableObjectStore over its own
 *   storage, or d1Store over the Worker's D1 binding, as an agent's Durable Object would) and runs
 *   the calls a Node-side proxy forwards, in the order they were made, so overlapping calls overlap
 *   in the store.
 * - `AgentObject`: a Durable Object that keeps a Flue-shaped session the way an agent does.
 * - `KvObject`: a Durable Object class without SQLite storage, to check the configuration error.
 * - the default handler routes to them and runs d1Store on the Worker's own D1 binding.
 */
import { type D1DatabaseLike, d1Store } from '../../../src/backends/d1/index.js';
import { type DurableObjectStorageLike, durableObjectStore, type SqlStorageLike } from '../../../src/backends/durable-object/index.js';
import { conversation, emptySession } from '../../../src/conformance/fixtures.js';
import type { FluePersistStore, Layout, SessionData } from '../../../src/types.js';
import { decode, errorToWire } from './wire.js';

interface DurableObjectStateLike {
	storage: DurableObjectStorageLike;
}

interface NamespaceLike {
	idFromName(name: string): unknown;
	get(id: unknown): { fetch(request: Request): Promise<Response> };
}

interface D1Like {
	prepare(sql: string): D1StatementLike;
	batch(statements: D1StatementLike[]): Promise<Array<{ results?: unknown[] }>>;
}

interface D1StatementLike {
	bind(...values: unknown[]): D1StatementLike;
	all(): Promise<{ results: unknown[] }>;
}

interface Env {
	STORE: NamespaceLike;
	AGENT: NamespaceLike;
	KV_OBJECT: NamespaceLike;
	DB: D1Like;
	[binding: string]: unknown;
}

/** One statement as the recording storage saw it. */
export interface ExecRecord {
	sql: string;
	params: number;
	/** UTF-8 bytes of the bound strings. */
	bytes: number;
	inTransaction: boolean;
}

export type StorageForm = 'storage' | 'sql' | 'recorded';

export interface OpenRequest {
	handle: number;
	/** `d1`: a d1Store over the Worker's D1 binding, hosted in this object as an agent's Durable Object would host it. */
	backend: 'durable-object' | 'd1';
	form: StorageForm;
	layout: Layout;
	concurrency?: 'optimistic' | 'last-writer-wins';
	table?: string;
	chunkBytes?: number;
}

const json = (value: unknown) => new Response(JSON.stringify(value), { headers: { 'content-type': 'application/json' } });
const utf8 = new TextEncoder();

/** The real storage, with every statement and transaction written down before it runs. */
function recordingStorage(storage: DurableObjectStorageLike, log: Array<ExecRecord | 'begin' | 'end'>): DurableObjectStorageLike {
	let depth = 0;
	const sql: SqlStorageLike = {
		exec(query, ...params) {
			let bytes = 0;
			for (const p of params) bytes += typeof p === 'string' ? utf8.encode(p).length : 8;
			log.push({ sql: query, params: params.length, bytes, inTransaction: depth > 0 });
			return storage.sql.exec(query, ...params);
		},
	};
	return {
		sql,
		transactionSync(fn) {
			depth++;
			log.push('begin');
			try {
				return storage.transactionSync(fn);
			} finally {
				depth--;
				log.push('end');
			}
		},
	};
}

interface Slot {
	store: FluePersistStore;
	/** Sequence number of the next call to start. */
	next: number;
	waiting: Map<number, () => void>;
	log: Array<ExecRecord | 'begin' | 'end'>;
}

export class StoreObject {
	private readonly slots = new Map<number, Slot>();

	constructor(
		private readonly ctx: DurableObjectStateLike,
		private readonly env: Env,
	) {}

	async fetch(request: Request): Promise<Response> {
		const route = new URL(request.url).pathname.split('/').pop();
		const body = request.method === 'POST' ? await request.text() : '';
		try {
			switch (route) {
				case 'open':
					return json(this.open(JSON.parse(body) as OpenRequest));
				case 'call':
					return await this.call(decode(body) as { handle: number; seq: number; method: string; args: unknown[] });
				case 'log': {
					const slot = this.slot((JSON.parse(body) as { handle: number }).handle);
					return json(slot.log.splice(0));
				}
				case 'sql': {
					const { statements } = JSON.parse(body) as { statements: Array<{ sql: string; params?: unknown[] }> };
					return json(statements.map((s) => this.ctx.storage.sql.exec(s.sql, ...(s.params ?? [])).toArray()));
				}
				case 'd1-sql': {
					const { statements } = JSON.parse(body) as { statements: Array<{ sql: string; params?: unknown[] }> };
					const out: unknown[][] = [];
					for (const s of statements)
						out.push(
							(
								await this.env.DB.prepare(s.sql)
									.bind(...(s.params ?? []))
									.all()
							).results,
						);
					return json(out);
				}
				case 'flue-save': {
					// Exactly what Flue's default Durable Object store does.
					const { id, data } = JSON.parse(body) as { id: string; data: SessionData };
					const sql = this.ctx.storage.sql;
					sql.exec('CREATE TABLE IF NOT EXISTS flue_sessions (id TEXT PRIMARY KEY, data TEXT NOT NULL, updated_at INTEGER NOT NULL)');
					sql.exec('INSERT OR REPLACE INTO flue_sessions (id, data, updated_at) VALUES (?, ?, ?)', id, JSON.stringify(data), Date.now());
					return json({});
				}
				case 'flue-load': {
					const { id } = JSON.parse(body) as { id: string };
					const row = this.ctx.storage.sql.exec('SELECT data FROM flue_sessions WHERE id = ?', id).toArray()[0] as { data: string } | undefined;
					return json({ data: row ? JSON.parse(row.data) : null });
				}
				case 'copy-to-d1': {
					// The copy shown in docs/persist-d1.md, as written there (plus a type for the rows).
					const ctx = this.ctx;
					const env = this.env;
					const sql = ctx.storage.sql;
					const copy = (table: string, columns: string) => {
						const rows = sql.exec(`SELECT ${columns} FROM ${table}`).toArray() as Array<Record<string, unknown>>;
						const insert = `INSERT OR REPLACE INTO ${table} (${columns}) VALUES (?, ?, ?)`;
						return rows.map((r) => env.DB.prepare(insert).bind(...Object.values(r)));
					};
					await env.DB.batch([...copy('flue_sessions', 'id, data, updated_at'), ...copy('flue_sessions_chunks', 'id, seq, data')]);
					return json({});
				}
				case 'config':
					return json(this.configErrors());
				default:
					return new Response(`no route ${route}`, { status: 404 });
			}
		} catch (error) {
			return json({ error: errorToWire(error) });
		}
	}

	private open(req: OpenRequest) {
		const log: Slot['log'] = [];
		const storage = req.form === 'recorded' ? recordingStorage(this.ctx.storage, log) : req.form === 'sql' ? this.ctx.storage.sql : this.ctx.storage;
		const options = { layout: req.layout, concurrency: req.concurrency, table: req.table, chunkBytes: req.chunkBytes };
		const store = req.backend === 'd1' ? d1Store(this.env.DB, options) : durableObjectStore(storage, options);
		this.slots.set(req.handle, { store, next: 0, waiting: new Map(), log });
		return { backend: store.backend, layout: store.layout, concurrency: store.concurrency, capabilities: store.capabilities };
	}

	private slot(handle: number): Slot {
		const slot = this.slots.get(handle);
		if (!slot) throw new Error(`no store with handle ${handle} in this object`);
		return slot;
	}

	/** Starts calls in the order the proxy made them, whatever order the requests arrive in. */
	private call(req: { handle: number; seq: number; method: string; args: unknown[] }): Promise<Response> {
		const slot = this.slot(req.handle);
		return new Promise<Response>((resolve) => {
			slot.waiting.set(req.seq, () => {
				let result: Promise<unknown>;
				try {
					// An iterator cannot cross the wire: listAll's items travel as one array.
					if (req.method === 'listAll') result = collect((slot.store as unknown as { listAll(o?: unknown): AsyncIterable<unknown> }).listAll(...req.args));
					else result = (slot.store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[req.method]!(...req.args);
				} catch (error) {
					result = Promise.reject(error);
				}
				result.then(
					(value) => {
						if (req.method === 'close') this.slots.delete(req.handle);
						resolve(json({ ok: value }));
					},
					(error: unknown) => resolve(json({ error: errorToWire(error) })),
				);
			});
			for (let start = slot.waiting.get(slot.next); start; start = slot.waiting.get(slot.next)) {
				slot.waiting.delete(slot.next);
				slot.next++;
				start();
			}
		});
	}

	private configErrors() {
		const attempts: Array<[string, unknown]> = [
			['undefined', undefined],
			['the state (ctx)', this.ctx],
			['a D1 binding', this.env.DB],
			['a string', 'DB'],
		];
		return attempts.map(([what, value]) => {
			try {
				durableObjectStore(value as SqlStorageLike);
				return { what, error: null };
			} catch (error) {
				return { what, error: errorToWire(error) };
			}
		});
	}
}

/** A Durable Object that keeps sessions the way a Flue agent does: load, create on a miss, save each turn. */
export class AgentObject {
	private readonly stores: Record<Layout, FluePersistStore>;

	constructor(ctx: DurableObjectStateLike) {
		this.stores = { log: durableObjectStore(ctx.storage, { layout: 'log' }), blob: durableObjectStore(ctx.storage, { layout: 'blob' }) };
	}

	async fetch(request: Request): Promise<Response> {
		const url = new URL(request.url);
		const store = this.stores[(url.searchParams.get('layout') ?? 'log') as Layout];
		try {
			return json(await agentRoute(store, url));
		} catch (error) {
			return json({ error: errorToWire(error) });
		}
	}
}

async function agentRoute(store: FluePersistStore, url: URL): Promise<unknown> {
	const id = url.searchParams.get('session') ?? 'default';
	if (url.pathname.endsWith('/turn')) {
		let data = await store.load(id);
		if (!data) {
			data = emptySession();
			await store.save(id, data);
		}
		data = conversation(1, { base: data });
		await store.save(id, data);
		return { entries: data.entries.length };
	}
	return { data: await store.load(id) };
}

/** A Durable Object class declared without SQLite storage. */
export class KvObject {
	constructor(private readonly ctx: DurableObjectStateLike) {}

	async fetch(): Promise<Response> {
		try {
			durableObjectStore(this.ctx.storage);
			return json({ error: null });
		} catch (error) {
			return json({ error: errorToWire(error) });
		}
	}
}

let d1Stores: Record<Layout, FluePersistStore> | null = null;

export default {
	async fetch(request: Request, env: Env): Promise<Response> {
		const url = new URL(request.url);
		const [, kind, name = 'default'] = url.pathname.split('/');
		if (kind === 'do') return env.STORE.get(env.STORE.idFromName(name)).fetch(request);
		if (kind === 'agent') return env.AGENT.get(env.AGENT.idFromName(name)).fetch(request);
		if (kind === 'kv-object') return env.KV_OBJECT.get(env.KV_OBJECT.idFromName(name)).fetch(request);
		if (kind === 'd1-config') {
			try {
				// Whatever the binding holds: the check at run time is what this route exercises.
				d1Store(env[name] as D1DatabaseLike);
				return json({ error: null });
			} catch (error) {
				return json({ error: errorToWire(error) });
			}
		}
		if (kind === 'd1') {
			// One store per isolate, as an app keeps it; a restart starts a new isolate and a new store.
			d1Stores ??= { log: d1Store(env.DB, { layout: 'log' }), blob: d1Store(env.DB, { layout: 'blob' }) };
			try {
				return json(await agentRoute(d1Stores[(url.searchParams.get('layout') ?? 'log') as Layout], url));
			} catch (error) {
				return json({ error: errorToWire(error) });
			}
		}
		return new Response('not found', { status: 404 });
	},
};

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
	const out: T[] = [];
	for await (const item of items) out.push(item);
	return out;
}
