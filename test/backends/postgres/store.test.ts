import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { type PostgresClient, type PostgresStore, postgresStore } from '../../../src/backends/postgres/index.js';
import { exchange as turn } from '../../../src/conformance/fixtures.js';
import { conversation, emptySession } from '../../../src/conformance/index.js';
import { isFluePersistError, type Layout } from '../../../src/index.js';
import { caught, thrown } from '../../support/errors.js';
import { dropSchema, makeClient, makePool, makeSql, postgresUrl, uniqueSchema } from '../../support/postgres.js';

const admin = makePool(undefined, 4);
const pool = makePool();
const sql = makeSql();
const schemas: string[] = [];
afterAll(async () => {
	for (const s of schemas) await dropSchema(admin, s);
	await Promise.all([pool.end(), sql.end()]);
	await admin.end();
});

function freshSchema(): string {
	const s = uniqueSchema();
	schemas.push(s);
	return s;
}

async function tables(schema: string): Promise<string[]> {
	const { rows } = await admin.query('SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename', [schema]);
	return rows.map((r) => r.tablename as string);
}

describe('postgresStore: client and options', () => {
	it('a value that is not a client is a CONFIG error that names what it got', () => {
		const url = thrown(() => postgresStore(postgresUrl() as never));
		expect(url.code).toBe('CONFIG');
		expect(url.message).toContain('got a connection string');
		expect(url.message).not.toContain(postgresUrl()); // it may carry a password
		expect(url.message).toContain('new pg.Pool');
		for (const bad of [null, undefined, {}, { query: () => undefined }, () => undefined]) {
			const error = thrown(() => postgresStore(bad as never));
			expect(error.code).toBe('CONFIG');
			expect(error.message).toContain('postgresStore needs a pg Pool');
		}
	});

	it('table and schema must be SQL identifiers, so nothing else ever reaches SQL text', async () => {
		for (const bad of ['flue"; DROP TABLE x; --', 'a b', '1abc', '', 'x'.repeat(49), 'naïve']) {
			expect(thrown(() => postgresStore(pool, { table: bad })).code).toBe('CONFIG');
			expect(thrown(() => postgresStore(pool, { schema: bad })).message).toContain('option schema must be a SQL identifier');
		}
		expect(thrown(() => postgresStore(pool, { layout: 'json' as Layout })).code).toBe('CONFIG');
		expect(thrown(() => postgresStore(pool, { concurrency: 'pessimistic' as never })).code).toBe('CONFIG');
		expect(thrown(() => postgresStore(pool, 'log' as never)).code).toBe('CONFIG');
	});

	it('without a schema option the tables go where the connection search_path points', async () => {
		const schema = freshSchema();
		await admin.query(`CREATE SCHEMA "${schema}"`);
		const scoped = new pg.Pool({ connectionString: postgresUrl(), max: 2, options: `-c search_path=${schema}` });
		try {
			const store = postgresStore(scoped);
			await store.save('s', conversation(1));
			expect(await tables(schema)).toEqual(['flue_persist_meta', 'flue_sessions_entries', 'flue_sessions_log']);
			expect(await store.load('s')).toEqual(conversation(1));
		} finally {
			await scoped.end();
		}
	});

	it('a search_path that names no existing schema is CONFIG saying the schema does not exist', async () => {
		const schema = freshSchema();
		const scoped = new pg.Pool({ connectionString: postgresUrl(), max: 2, options: `-c search_path=${schema}` });
		try {
			const error = await caught(postgresStore(scoped).save('s', conversation(1)));
			expect(isFluePersistError(error) && error.code).toBe('CONFIG');
			expect((error as Error).message).toContain('the schema does not exist in this database');
			expect((error as Error).message).not.toContain('check that the database is reachable');
		} finally {
			await scoped.end();
		}
	});

	it('pg Pool, pg Client and postgres.js read and write the same tables', async () => {
		const schema = freshSchema();
		const client = await makeClient();
		try {
			for (const layout of ['log', 'blob'] as const) {
				const viaPool = postgresStore(pool, { schema, layout });
				const viaSql = postgresStore(sql, { schema, layout });
				const viaClient = postgresStore(client, { schema, layout });
				await viaPool.save('shared', conversation(2));
				expect(await viaSql.load('shared')).toEqual(conversation(2));
				await viaSql.save('shared', conversation(3));
				expect(await viaClient.load('shared')).toEqual(conversation(3));
				await viaClient.delete('shared');
				expect(await viaPool.load('shared')).toBeNull();
			}
		} finally {
			await client.end();
		}
	});

	it('close() leaves the caller client open and later calls fail with CONFIG', async () => {
		const store = postgresStore(pool, { schema: freshSchema() });
		await store.save('a', emptySession());
		await store.close();
		expect((await caught(store.load('a'))).code).toBe('CONFIG');
		expect((await caught(store.migrate())).code).toBe('CONFIG');
		expect((await caught(store.withSessionLock('a', async () => 1))).code).toBe('CONFIG');
		expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
	});
});

describe('postgresStore: schema and format version', () => {
	it('migrate() creates the schema and tables and stamps the format; a second run creates nothing', async () => {
		const schema = freshSchema();
		const store = postgresStore(pool, { schema });
		const first = await store.migrate();
		expect(first).toEqual({ formatVersion: 1, created: [schema, 'flue_persist_meta', 'flue_sessions_log', 'flue_sessions_entries'], copied: 0 });
		const { rows } = await admin.query(`SELECT key, value FROM "${schema}".flue_persist_meta ORDER BY key`);
		expect(rows).toEqual([
			{ key: 'format_version', value: '1' },
			{ key: 'layout:flue_sessions:log', value: 'present' },
		]);
		expect(await store.migrate()).toEqual({ formatVersion: 1, created: [], copied: 0 });
		const blob = postgresStore(pool, { schema, layout: 'blob' });
		expect((await blob.migrate()).created).toEqual(['flue_sessions']);
		const { rows: columns } = await admin.query(
			`SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'flue_sessions' ORDER BY ordinal_position`,
			[schema],
		);
		expect(columns).toEqual([
			{ column_name: 'id', data_type: 'text' },
			{ column_name: 'data', data_type: 'jsonb' },
			{ column_name: 'updated_at', data_type: 'bigint' },
		]);
	});

	it('a newer or unknown format stamp fails with FORMAT_VERSION before any read or write', async () => {
		for (const stamp of ['2', 'banana']) {
			for (const layout of ['log', 'blob'] as const) {
				const schema = freshSchema();
				const before = postgresStore(pool, { schema, layout });
				await before.save('kept', conversation(1));
				await admin.query(`UPDATE "${schema}".flue_persist_meta SET value = $1 WHERE key = 'format_version'`, [stamp]);
				const store = postgresStore(pool, { schema, layout });
				for (const call of [
					() => store.load('kept'),
					() => store.save('kept', conversation(2)),
					() => store.save('new', emptySession()),
					() => store.delete('kept'),
					() => store.list(),
					() => store.migrate(),
				]) {
					expect((await caught(call())).code).toBe('FORMAT_VERSION');
				}
				// The first instance's cache would have hidden nothing: the rows are as they were.
				const head = layout === 'blob' ? 'flue_sessions' : 'flue_sessions_log';
				const { rows } = await admin.query(`SELECT id FROM "${schema}"."${head}" ORDER BY id`);
				expect(rows.map((r) => r.id)).toEqual(['kept']);
			}
		}
	});

	it('a stamp written before the tables exist stops migrate() from creating them', async () => {
		const schema = freshSchema();
		await admin.query(
			`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".flue_persist_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO "${schema}".flue_persist_meta VALUES ('format_version', '99')`,
		);
		const store = postgresStore(pool, { schema });
		const error = await caught(store.save('s', emptySession()));
		expect(error.code).toBe('FORMAT_VERSION');
		expect(error.message).toContain('newer flue-persist (format 99)');
		expect(await tables(schema)).toEqual(['flue_persist_meta']);
	});

	it('a log store refuses to start beside a blob table that holds sessions', async () => {
		const schema = freshSchema();
		await postgresStore(pool, { schema, layout: 'blob' }).save('old', conversation(1));
		const error = await caught(postgresStore(pool, { schema, layout: 'log' }).load('old'));
		expect(error.code).toBe('CONFIG');
		expect(error.message).toContain("migrate({ from: 'blob' })");
		expect(await tables(schema)).toEqual(['flue_persist_meta', 'flue_sessions']);
	});

	it('a blob table made with the Flue recipe is used as it is, and its rows load', async () => {
		const schema = freshSchema();
		await admin.query(
			`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".flue_sessions (id TEXT PRIMARY KEY, data JSONB NOT NULL, updated_at BIGINT NOT NULL)`,
		);
		const recipe = `INSERT INTO "${schema}".flue_sessions (id, data, updated_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`;
		await admin.query(recipe, ['from-recipe', JSON.stringify(conversation(2)), Date.now()]);
		const store = postgresStore(pool, { schema, layout: 'blob' });
		expect(await store.load('from-recipe')).toEqual(conversation(2));
		await store.save('from-recipe', conversation(3));
		const { rows } = await admin.query(`SELECT data FROM "${schema}".flue_sessions WHERE id = 'from-recipe'`);
		expect(rows[0].data).toEqual(conversation(3));
	});

	it('readOnly: true loads and lists a Flue recipe table without creating anything, and refuses every write', async () => {
		const schema = freshSchema();
		await admin.query(
			`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".flue_sessions (id TEXT PRIMARY KEY, data JSONB NOT NULL, updated_at BIGINT NOT NULL)`,
		);
		await admin.query(`INSERT INTO "${schema}".flue_sessions (id, data, updated_at) VALUES ($1, $2, $3)`, [
			'from-recipe',
			JSON.stringify(conversation(2)),
			Date.now(),
		]);
		const store = postgresStore(pool, { schema, layout: 'blob', readOnly: true });
		expect(await store.load('from-recipe')).toEqual(conversation(2));
		expect(await store.has('from-recipe')).toBe(true);
		expect((await store.list()).sessions.map((s) => s.id)).toEqual(['from-recipe']);
		for (const refused of [
			await caught(store.save('from-recipe', conversation(3))),
			await caught(store.delete('from-recipe')),
			await caught(store.migrate()),
		]) {
			expect(refused.code).toBe('CONFIG');
			expect(refused.message).toContain('readOnly: true');
		}
		expect(await tables(schema)).toEqual(['flue_sessions']);
		const { rows } = await admin.query(`SELECT data FROM "${schema}".flue_sessions WHERE id = 'from-recipe'`);
		expect(rows[0].data).toEqual(conversation(2));
		expect(thrown(() => postgresStore(pool, { readOnly: 'yes' as never })).code).toBe('CONFIG');
	});

	it('readOnly: true still refuses a newer format stamp', async () => {
		const schema = freshSchema();
		await postgresStore(pool, { schema }).migrate();
		await admin.query(`UPDATE "${schema}".flue_persist_meta SET value = '99' WHERE key = 'format_version'`);
		expect((await caught(postgresStore(pool, { schema, readOnly: true }).load('x'))).code).toBe('FORMAT_VERSION');
	});

	it('a blob table with other column types is a CONFIG error that says how to convert it', async () => {
		const schema = freshSchema();
		await admin.query(
			`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".flue_sessions (id TEXT PRIMARY KEY, data TEXT NOT NULL, updated_at TIMESTAMPTZ NOT NULL)`,
		);
		const error = await caught(postgresStore(pool, { schema, layout: 'blob' }).load('x'));
		expect(error.code).toBe('CONFIG');
		expect(error.message).toContain('ALTER TABLE flue_sessions ALTER COLUMN data TYPE jsonb USING data::jsonb');
		await admin.query(`ALTER TABLE "${schema}".flue_sessions ALTER COLUMN data TYPE jsonb USING data::jsonb`);
		const second = await caught(postgresStore(pool, { schema, layout: 'blob' }).load('x'));
		expect(second.message).toContain('USING (extract(epoch FROM updated_at) * 1000)::bigint');
	});
});

describe('postgresStore: tables it did not make', () => {
	async function applicationTables(schema: string): Promise<void> {
		await admin.query(`CREATE SCHEMA "${schema}";
			CREATE TABLE "${schema}".flue_sessions (id INTEGER PRIMARY KEY, name TEXT);
			CREATE TABLE "${schema}".flue_sessions_log (id TEXT PRIMARY KEY, msg TEXT);
			INSERT INTO "${schema}".flue_sessions VALUES (1, 'application row');
			INSERT INTO "${schema}".flue_sessions_log VALUES ('1', 'application row');`);
	}
	async function rows(schema: string): Promise<unknown[]> {
		const blob = await admin.query(`SELECT * FROM "${schema}".flue_sessions ORDER BY id`);
		const log = await admin.query(`SELECT * FROM "${schema}".flue_sessions_log ORDER BY id`);
		return [blob.rows, log.rows];
	}

	for (const layout of ['log', 'blob'] as Layout[]) {
		it(`layout ${layout}: delete('1') on an application's tables is CONFIG naming the table and what was found, and the row stays`, async () => {
			const schema = freshSchema();
			await applicationTables(schema);
			const before = { tables: await tables(schema), rows: await rows(schema) };
			const store = postgresStore(pool, { schema, layout });
			const error = await caught(store.delete('1'));
			expect(error.code).toBe('CONFIG');
			expect(error.message).toContain(layout === 'log' ? 'table flue_sessions_log has columns (id text, msg text)' : 'table flue_sessions has no column data');
			for (const call of [store.load('1'), store.list(), store.save('1', conversation(1))]) expect((await caught(call)).code).toBe('CONFIG');
			expect(await tables(schema)).toEqual(before.tables);
			expect(await rows(schema)).toEqual(before.rows);
		});
	}

	it('a stamped schema whose log table was later replaced by an application table is refused too', async () => {
		const schema = freshSchema();
		await postgresStore(pool, { schema }).save('s', conversation(1));
		await admin.query(
			`DROP TABLE "${schema}".flue_sessions_log CASCADE; CREATE TABLE "${schema}".flue_sessions_log (id TEXT PRIMARY KEY, msg TEXT); INSERT INTO "${schema}".flue_sessions_log VALUES ('1', 'application row')`,
		);
		const error = await caught(postgresStore(pool, { schema }).delete('1'));
		expect(error.code).toBe('CONFIG');
		expect(error.message).toContain('flue_sessions_log');
		const { rows: left } = await admin.query(`SELECT id FROM "${schema}".flue_sessions_log`);
		expect(left).toEqual([{ id: '1' }]);
	});
});

describe('postgresStore: what jsonb cannot hold', () => {
	it('\\u0000 or half a surrogate pair in a blob session is INVALID_INPUT naming the session and the remedy; the log layout keeps it', async () => {
		const schema = freshSchema();
		const blob = postgresStore(pool, { schema, layout: 'blob' });
		const log = postgresStore(pool, { schema, layout: 'log', table: 'exact' });
		await blob.save('s', conversation(1));
		for (const text of ['nul \u0000 inside', 'half \ud800 pair']) {
			const data = conversation(2);
			data.metadata.text = text;
			const error = await caught(blob.save('s', data));
			expect(error.code).toBe('INVALID_INPUT');
			expect(error.message).toContain('"s"');
			expect(error.message).toContain("layout: 'log'");
			expect(await blob.load('s')).toEqual(conversation(1));
			await log.save(`log-${text.length}`, data);
			expect(await log.load(`log-${text.length}`)).toEqual(data);
		}
	});
});

/** A real pool whose query() calls are counted. */
function counted(inner: pg.Pool): { client: PostgresClient; count: () => number; reset: () => void } {
	let n = 0;
	const client = {
		query: (text: string, values?: unknown[]) => {
			n++;
			return inner.query(text, values);
		},
		connect: () => {
			n++;
			return inner.connect();
		},
		get totalCount() {
			return inner.totalCount;
		},
	};
	return { client, count: () => n, reset: () => (n = 0) };
}

describe('postgresStore: log layout writes', () => {
	it('a save and a load are one statement each, whatever the number of entries', async () => {
		const { client, count, reset } = counted(pool);
		const store = postgresStore(client, { schema: freshSchema() });
		await store.load('warm-up');
		let data = conversation(250); // 1000 entries
		reset();
		// An id this instance has not seen is read first (to diff against), then written.
		await store.save('big', data);
		expect(count()).toBe(2);
		for (let i = 0; i < 3; i++) {
			data = turn(data, `t${i}`);
			reset();
			await store.save('big', data);
			expect(count()).toBe(1);
		}
		data.entries.reverse(); // every position changes
		reset();
		await store.save('big', data);
		expect(count()).toBe(1);
		reset();
		expect(await store.load('big')).toEqual(data);
		expect(count()).toBe(1);
	});

	it('appending a turn inserts its entries and rewrites no stored entry', async () => {
		const schema = freshSchema();
		const store = postgresStore(pool, { schema });
		const data = conversation(200);
		await store.save('s', data);
		const versions = async () =>
			new Map(
				(await admin.query(`SELECT entry_id, xmin::text AS v FROM "${schema}".flue_sessions_entries`)).rows.map((r) => [r.entry_id as string, r.v as string]),
			);
		const before = await versions();
		const next = turn(data, 'new');
		await store.save('s', next);
		const after = await versions();
		expect(after.size).toBe(before.size + 2);
		const touched = [...after].filter(([id, v]) => before.get(id) !== v).map(([id]) => id);
		expect(touched.sort()).toEqual(['new-a', 'new-u']);
	});
});

describe('postgresStore: concurrency in SQL', () => {
	const cases: Array<[string, Layout, () => PostgresClient]> = [
		['pg Pool', 'log', () => makePool(undefined, 3)],
		['pg Pool', 'blob', () => makePool(undefined, 3)],
		['postgres.js', 'log', () => makeSql(undefined, 3)],
	];
	for (const [driver, layout, open] of cases) {
		it(`${layout} through ${driver}: two instances on separate pools each save one session 200 times; every save lands or fails with CONFLICT, and no landed turn is lost`, async () => {
			const schema = freshSchema();
			const clients = [open(), open()];
			try {
				const stores = clients.map((c) => postgresStore(c, { schema, layout }));
				await stores[0]!.migrate();
				const id = 'agent-session:["agent","contended"]';
				await stores[0]!.save(id, emptySession());
				const landed: string[] = [];
				const failed: string[] = [];
				await Promise.all(
					stores.map(async (store, s) => {
						let data = (await store.load(id))!;
						for (let i = 0; i < 200; i++) {
							const tag = `${s}-${i}`;
							const next = turn(data, tag);
							try {
								await store.save(id, next);
								landed.push(tag);
								data = next;
							} catch (error) {
								expect(isFluePersistError(error) && error.code).toBe('CONFLICT');
								failed.push(tag);
								data = (await store.load(id))!;
							}
						}
					}),
				);
				expect(landed.length + failed.length).toBe(400);
				expect(landed.length).toBeGreaterThan(0);
				const final = (await postgresStore(clients[0]!, { schema, layout }).load(id))!;
				const ids = new Set(final.entries.map((e) => e.id));
				for (const tag of landed) expect(ids.has(`${tag}-u`) && ids.has(`${tag}-a`)).toBe(true);
				for (const tag of failed) expect(ids.has(`${tag}-u`)).toBe(false);
				expect(final.entries.length).toBe(landed.length * 2);
			} finally {
				await Promise.all(clients.map((c) => ('end' in c ? (c as pg.Pool).end() : undefined)));
			}
		});
	}
});

describe('postgresStore: withSessionLock', () => {
	it('turns under withSessionLock on two instances with separate pools run one at a time and all land', async () => {
		const schema = freshSchema();
		const pools = [makePool(undefined, 2), makePool(undefined, 2)];
		try {
			const stores = pools.map((p) => postgresStore(p, { schema }));
			const id = 'locked';
			await stores[0]!.save(id, emptySession());
			let inside = 0;
			let most = 0;
			await Promise.all(
				stores.flatMap((store, s) =>
					Array.from({ length: 25 }, (_, i) =>
						store.withSessionLock(id, async () => {
							most = Math.max(most, ++inside);
							try {
								await store.save(id, turn((await store.load(id))!, `${s}-${i}`));
							} finally {
								inside--;
							}
						}),
					),
				),
			);
			expect(most).toBe(1);
			expect((await stores[1]!.load(id))!.entries.length).toBe(100);
		} finally {
			await Promise.all(pools.map((p) => p.end()));
		}
	});

	it('the lock key is the first 8 bytes of SHA-256 of "flue-persist:" + id, as documented', async () => {
		const store = postgresStore(pool, { schema: freshSchema() });
		const id = 'agent-session:["a","ключ 🧵"]';
		const key = createHash('sha256').update(`flue-persist:${id}`, 'utf8').digest().readBigInt64BE(0).toString();
		const probe = await admin.connect();
		try {
			await store.withSessionLock(id, async () => {
				expect((await probe.query('SELECT pg_try_advisory_lock($1::bigint) AS got', [key])).rows[0].got).toBe(false);
			});
			expect((await probe.query('SELECT pg_try_advisory_lock($1::bigint) AS got', [key])).rows[0].got).toBe(true);
			await probe.query('SELECT pg_advisory_unlock($1::bigint)', [key]);
		} finally {
			probe.release();
		}
	});

	it("an error thrown by fn reaches the caller unchanged and the lock is released; fn's value is returned", async () => {
		for (const client of [pool, sql]) {
			const store = postgresStore(client, { schema: freshSchema() });
			const mine = new Error('from fn');
			await expect(store.withSessionLock('x', async () => Promise.reject(mine))).rejects.toBe(mine);
			expect(await store.withSessionLock('x', async () => 42)).toBe(42);
			const otherPool = makePool(undefined, 2);
			try {
				expect(await postgresStore(otherPool, { schema: freshSchema() }).withSessionLock('x', async () => 'free')).toBe('free');
			} finally {
				await otherPool.end();
			}
		}
	});

	it('a pool of one connection is a CONFIG error rather than a wait that never ends', async () => {
		const tiny = makePool(undefined, 1);
		try {
			const store = postgresStore(tiny, { schema: freshSchema() });
			const error = await caught(store.withSessionLock('x', async () => store.load('x')));
			expect(error.code).toBe('CONFIG');
			expect(error.message).toContain('max: 2 or more');
			await store.save('x', emptySession());
			expect(await store.load('x')).toEqual(emptySession());
		} finally {
			await tiny.end();
		}
	});

	it('a single pg Client takes the lock without blocking its own connection, and excludes a pool-based instance', async () => {
		const schema = freshSchema();
		const client = await makeClient();
		try {
			const viaClient = postgresStore(client, { schema });
			const viaPool = postgresStore(pool, { schema });
			await viaPool.save('c', emptySession());
			let inside = 0;
			let most = 0;
			const work = (store: PostgresStore, tag: string) =>
				store.withSessionLock('c', async () => {
					most = Math.max(most, ++inside);
					try {
						await store.save('c', turn((await store.load('c'))!, tag));
					} finally {
						inside--;
					}
				});
			await Promise.all(Array.from({ length: 10 }, (_, i) => [work(viaClient, `c${i}`), work(viaPool, `p${i}`)]).flat());
			expect(most).toBe(1);
			expect((await viaPool.load('c'))!.entries.length).toBe(40);
		} finally {
			await client.end();
		}
	});
});
