/**
 * The store files of the examples (which the connectors carry byte for byte) pass the conformance
 * suite on a real database: SQLite on a temp file, Postgres on the test server, D1 and Durable
 * Object SQLite inside workerd. Each target calls the file's own `createSessionStore`, so the
 * options the file chooses are the ones tested.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { D1DatabaseLike, D1StoreOptions } from '../../src/backends/d1/index.js';
import type { PostgresClient, PostgresStore, PostgresStoreOptions } from '../../src/backends/postgres/index.js';
import type { SqliteStoreOptions } from '../../src/backends/sqlite/index.js';
import { conversation } from '../../src/conformance/fixtures.js';
import { runConformance } from '../../src/conformance/index.js';
import type { FluePersistStore, SessionData } from '../../src/index.js';
import { COMPATIBILITY_DATE, post, RemoteStore } from '../support/cloudflare.js';
import { root } from '../support/paths.js';
import { dropSchema, makePool, postgresUrl, uniqueSchema } from '../support/postgres.js';

// Inside the repository, so that the drivers the bundles leave out resolve from its node_modules.
mkdirSync(join(root, '.tmp'), { recursive: true });
const scratch = mkdtempSync(join(root, '.tmp', 'example-stores-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * Loads an example the way a Flue build does: bundled by esbuild, with the package name
 * `flue-persist` mapped to the source by the examples' tsconfig (in a user's project it comes from
 * node_modules). The drivers stay outside the bundle, as Flue leaves a project's dependencies.
 * The interfaces below are what the tests use of each file.
 */
async function example<T>(path: string): Promise<T> {
	const outfile = join(scratch, `${path.replace(/[^a-z0-9]+/gi, '-')}.mjs`);
	await build({
		entryPoints: [join(root, path)],
		bundle: true,
		format: 'esm',
		platform: 'node',
		target: 'node20',
		outfile,
		tsconfig: join(root, 'examples/tsconfig.json'),
		external: ['better-sqlite3', 'pg'],
		logLevel: 'silent',
	});
	return (await import(pathToFileURL(outfile).href)) as T;
}

interface SqliteExample {
	databasePath: string;
	store: FluePersistStore;
	createSessionStore(path?: string, options?: SqliteStoreOptions): FluePersistStore;
}
interface PostgresExample {
	pool: pg.Pool;
	store: PostgresStore;
	createSessionStore(client?: PostgresClient, options?: PostgresStoreOptions): PostgresStore;
}
interface D1Example {
	createSessionStore(db: D1DatabaseLike, options?: D1StoreOptions): FluePersistStore;
	sessionStore(db: D1DatabaseLike): FluePersistStore;
}

describe('examples/hello-world/.flue/persist/sqlite.ts', async () => {
	const sqlite = await example<SqliteExample>('examples/hello-world/.flue/persist/sqlite.ts');
	let n = 0;
	const files = new WeakMap<FluePersistStore, string>();
	const open = (file: string, options?: SqliteStoreOptions) => {
		const store = sqlite.createSessionStore(file, options);
		files.set(store, file);
		return store;
	};

	it('defaults to ./data/flue-sessions.db and exports one shared store, opened lazily', () => {
		expect(sqlite.databasePath).toBe(process.env.FLUE_SQLITE_PATH ?? './data/flue-sessions.db');
		expect(sqlite.store.backend).toBe('sqlite');
		expect(sqlite.store.capabilities.durable).toBe(true);
	});

	runConformance<FluePersistStore>(
		{
			name: 'the SQLite example store on a temp file',
			create: async (options) => open(join(scratch, `sqlite-${n++}.db`), options),
			reopen: async (store, options) => open(files.get(store)!, options),
		},
		{ describe, it, expect },
	);
});

describe('examples/hello-world/.flue/persist/postgres.ts', async () => {
	// The file reads DATABASE_URL when it is imported, as it does in a server.
	process.env.DATABASE_URL = postgresUrl();
	const postgres = await example<PostgresExample>('examples/hello-world/.flue/persist/postgres.ts');
	const admin = makePool(undefined, 2);
	const schemas = new WeakMap<FluePersistStore, { schema: string; owner: boolean }>();
	afterAll(async () => {
		await postgres.pool.end();
		await admin.end();
	});

	it('opens its pool from DATABASE_URL and exports one shared store over it', () => {
		expect(postgres.pool.options.connectionString).toBe(postgresUrl());
		expect(postgres.store.backend).toBe('postgres');
	});

	runConformance<FluePersistStore>(
		{
			name: "the Postgres example store on the file's own pool",
			async create(options) {
				const schema = uniqueSchema('example');
				const store = postgres.createSessionStore(postgres.pool, { ...options, schema });
				schemas.set(store, { schema, owner: true });
				return store;
			},
			async reopen(store, options) {
				const { schema } = schemas.get(store)!;
				const again = postgres.createSessionStore(postgres.pool, { ...options, schema });
				schemas.set(again, { schema, owner: false });
				return again;
			},
			async destroy(store) {
				await store.close();
				const { schema, owner } = schemas.get(store)!;
				if (owner) await dropSchema(admin, schema);
			},
		},
		{ describe, it, expect },
	);
});

describe('examples/cloudflare/.flue/persist/d1.ts', async () => {
	const d1 = await example<D1Example>('examples/cloudflare/.flue/persist/d1.ts');
	type D1 = D1DatabaseLike;
	let mf: Miniflare;
	let db: D1;
	beforeAll(async () => {
		mf = new Miniflare({
			modules: true,
			script: 'export default { fetch() { return new Response(null, { status: 404 }) } }',
			compatibilityDate: COMPATIBILITY_DATE,
			d1Databases: { DB: 'example-d1' },
		});
		db = (await mf.getD1Database('DB')) as unknown as D1;
	});
	afterAll(() => mf?.dispose());

	it('sessionStore(env.DB) gives one store per binding, so saves stay incremental across requests', () => {
		const first = d1.sessionStore(db);
		expect(d1.sessionStore(db)).toBe(first);
		expect(first.backend).toBe('d1');
		expect(() => d1.sessionStore(undefined as unknown as D1)).toThrow(/d1Store needs a D1 database binding such as env.DB \(got undefined\)/);
	});

	let n = 0;
	const tables = new WeakMap<FluePersistStore, string>();
	runConformance<FluePersistStore>(
		{
			name: 'the D1 example store (a D1 database inside workerd)',
			async create(options) {
				const table = `example_${n++}`;
				const store = d1.createSessionStore(db, { ...options, table });
				tables.set(store, table);
				return store;
			},
			async reopen(store, options) {
				const again = d1.createSessionStore(db, { ...options, table: tables.get(store) });
				tables.set(again, tables.get(store)!);
				return again;
			},
		},
		{ describe, it, expect },
	);
});

/**
 * A Worker whose Durable Object opens stores with the example file, speaking the protocol of
 * RemoteStore (test/support/cloudflare.ts): `open`, then numbered `call`s started in order.
 */
const DO_WORKER = `
import { createSessionStore, sessionStore } from ${JSON.stringify(join(root, 'examples/cloudflare/.flue/persist/durable-object.ts'))};
import { decode, errorToWire } from ${JSON.stringify(join(root, 'test/support/workers/wire.ts'))};

const json = (value) => new Response(JSON.stringify(value), { headers: { 'content-type': 'application/json' } });

export class ExampleStoreObject {
	constructor(ctx) {
		this.ctx = ctx;
		this.slots = new Map();
	}

	async fetch(request) {
		const route = new URL(request.url).pathname.split('/').pop();
		const body = await request.text();
		try {
			switch (route) {
				case 'open': {
					const req = JSON.parse(body);
					const store = createSessionStore(this.ctx.storage, { concurrency: req.concurrency });
					this.slots.set(req.handle, { store, next: 0, waiting: new Map() });
					return json({ backend: store.backend, layout: store.layout, concurrency: store.concurrency, capabilities: store.capabilities });
				}
				case 'call':
					return await this.call(decode(body));
				case 'flue-save': {
					// Exactly what Flue 0.4.1's default Durable Object store runs.
					const { id, data } = JSON.parse(body);
					const sql = this.ctx.storage.sql;
					sql.exec('CREATE TABLE IF NOT EXISTS flue_sessions (id TEXT PRIMARY KEY, data TEXT NOT NULL, updated_at INTEGER NOT NULL)');
					sql.exec('INSERT OR REPLACE INTO flue_sessions (id, data, updated_at) VALUES (?, ?, ?)', id, JSON.stringify(data), Date.now());
					return json({});
				}
				case 'shared':
					return json({ same: sessionStore(this.ctx.storage) === sessionStore(this.ctx.storage) });
				default:
					return new Response('no route ' + route, { status: 404 });
			}
		} catch (error) {
			return json({ error: errorToWire(error) });
		}
	}

	call(req) {
		const slot = this.slots.get(req.handle);
		return new Promise((resolve) => {
			slot.waiting.set(req.seq, () => {
				let result;
				try {
					// An iterator cannot cross the wire: listAll's items travel as one array.
					if (req.method === 'listAll') {
						result = (async () => {
							const out = [];
							for await (const item of slot.store.listAll(...req.args)) out.push(item);
							return out;
						})();
					} else result = slot.store[req.method](...req.args);
				} catch (error) {
					result = Promise.reject(error);
				}
				result.then(
					(value) => resolve(json({ ok: value })),
					(error) => resolve(json({ error: errorToWire(error) })),
				);
			});
			for (let start = slot.waiting.get(slot.next); start; start = slot.waiting.get(slot.next)) {
				slot.waiting.delete(slot.next);
				slot.next++;
				start();
			}
		});
	}
}

export default {
	fetch(request, env) {
		const [, kind, name] = new URL(request.url).pathname.split('/');
		if (kind === 'do') return env.STORE.get(env.STORE.idFromName(decodeURIComponent(name))).fetch(request);
		return new Response('not found', { status: 404 });
	},
};
`;

describe('examples/cloudflare/.flue/persist/durable-object.ts', () => {
	let mf: Miniflare;
	beforeAll(async () => {
		const outfile = join(scratch, 'do-worker.mjs');
		await build({
			stdin: { contents: DO_WORKER, loader: 'ts', resolveDir: root, sourcefile: 'example-do-worker.ts' },
			bundle: true,
			format: 'esm',
			platform: 'neutral',
			target: 'es2022',
			outfile,
			// The example imports 'flue-persist/durable-object'; the examples' tsconfig maps it to the source.
			tsconfig: join(root, 'examples/tsconfig.json'),
			logLevel: 'silent',
		});
		mf = new Miniflare({
			modules: true,
			scriptPath: outfile,
			modulesRoot: scratch,
			compatibilityDate: COMPATIBILITY_DATE,
			durableObjects: { STORE: { className: 'ExampleStoreObject', useSQLite: true, unsafePreventEviction: true } },
		});
		await mf.ready;
	});
	afterAll(() => mf?.dispose());

	let n = 0;
	const open = (object: string, concurrency?: 'optimistic' | 'last-writer-wins') => RemoteStore.open(mf, object, { layout: 'blob', concurrency });

	it("uses Flue's own table: a session Flue's default store saved loads unchanged", async () => {
		const object = `flue-rows-${n++}`;
		const id = 'agent-session:["support","default"]';
		const data: SessionData = conversation(3);
		await post(mf, `/do/${object}/flue-save`, JSON.stringify({ id, data }));
		const store = await open(object);
		expect(store.layout).toBe('blob');
		expect(await store.load(id)).toEqual(data);
		await store.close();
	});

	it('sessionStore(storage) gives one store per Durable Object', async () => {
		expect(await post(mf, `/do/shared-${n++}/shared`, '')).toEqual({ same: true });
	});

	runConformance<RemoteStore>(
		{
			name: 'the Durable Object example store (inside workerd)',
			create: (options) => open(`conformance-${n++}`, options?.concurrency),
			reopen: (store, options) => open(store.object, options?.concurrency),
		},
		{ describe, it, expect },
	);
});
