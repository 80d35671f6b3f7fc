import { afterAll, describe, expect, it } from 'vitest';
import { postgresStore } from '../../../src/backends/postgres/index.js';
import { conversation, emptySession, exchange } from '../../../src/conformance/index.js';
import type { SessionData } from '../../../src/index.js';
import { caught } from '../../support/errors.js';
import { dropSchema, makePool, makeSql, uniqueSchema } from '../../support/postgres.js';

const admin = makePool(undefined, 4);
const pool = makePool(undefined, 6);
const sql = makeSql(undefined, 4);
const schemas: string[] = [];
afterAll(async () => {
	for (const s of schemas) await dropSchema(admin, s);
	await Promise.all([pool.end(), sql.end()]);
	await admin.end();
});

function turn(data: SessionData, tag: string): SessionData {
	const next = exchange(data, tag);
	next.metadata = { ...next.metadata, last: tag };
	return next;
}

/** The Postgres recipe Flue users copy: a jsonb blob per session, written with an unconditional upsert. */
async function createRecipeTable(schema: string): Promise<void> {
	await admin.query(`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".flue_sessions (id TEXT PRIMARY KEY, data JSONB NOT NULL, updated_at BIGINT NOT NULL)`);
}

function recipeSave(schema: string, id: string, data: SessionData): Promise<unknown> {
	return admin.query(
		`INSERT INTO "${schema}".flue_sessions (id, data, updated_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
		[id, JSON.stringify(data), Date.now()],
	);
}

describe('postgresStore: moving a blob table to the log layout', () => {
	it('migrate({ from: "blob" }) copies a recipe table while recipe and blob-store writers keep writing, and loses nothing', async () => {
		const schema = uniqueSchema();
		schemas.push(schema);
		await createRecipeTable(schema);
		const blobStore = postgresStore(pool, { schema, layout: 'blob' });
		const last = new Map<string, SessionData>();
		// Sessions written by the recipe and by a blob-layout store, before anything moves.
		for (let i = 0; i < 120; i++) {
			const data = conversation(10 + (i % 7), { base: emptySession({ metadata: { i } }) });
			if (i % 2 === 0) await recipeSave(schema, `recipe-${i}`, data);
			else await blobStore.save(`blob-${i}`, data);
			last.set(i % 2 === 0 ? `recipe-${i}` : `blob-${i}`, data);
		}
		let running = true;
		let writesDuringMigration = 0;
		let migrating = false;
		const writer = async (id: string, save: (data: SessionData) => Promise<unknown>) => {
			let data = last.get(id)!;
			for (let n = 0; running; n++) {
				const next = turn(data, `${id}-${n}`);
				await save(next);
				data = next;
				last.set(id, next);
				if (migrating) writesDuringMigration++;
			}
		};
		const workload = Promise.all([
			writer('recipe-0', (d) => recipeSave(schema, 'recipe-0', d)),
			writer('recipe-2', (d) => recipeSave(schema, 'recipe-2', d)),
			writer('blob-1', (d) => blobStore.save('blob-1', d)),
			writer('blob-3', (d) => blobStore.save('blob-3', d)),
		]);
		await new Promise((resolve) => setTimeout(resolve, 50));
		const logStore = postgresStore(sql, { schema, layout: 'log' });
		migrating = true;
		const result = await logStore.migrate({ from: 'blob' });
		migrating = false;
		await new Promise((resolve) => setTimeout(resolve, 100));
		running = false;
		await workload;
		expect(result.created).toEqual(['flue_sessions_log', 'flue_sessions_entries']);
		// Sessions the writers touched before the copy reached them were mirrored, not copied.
		expect(result.copied).toBeGreaterThanOrEqual(116);
		expect(result.copied).toBeLessThanOrEqual(120);
		const fresh = postgresStore(pool, { schema, layout: 'log' });
		for (const [id, data] of last) expect(await fresh.load(id)).toEqual(data);
		expect((await fresh.list({ limit: 1000 })).sessions.length).toBe(120);
		// Online: the writers kept landing saves while the copy ran.
		expect(writesDuringMigration).toBeGreaterThan(0);
		// Running it again copies nothing and changes nothing.
		expect((await logStore.migrate({ from: 'blob' })).copied).toBe(0);
		for (const [id, data] of last) expect(await fresh.load(id)).toEqual(data);
	});

	it('during the rollout a blob writer behind the log layout is refused, never silently overwritten; after seal the blob table refuses writes', async () => {
		const schema = uniqueSchema();
		schemas.push(schema);
		await createRecipeTable(schema);
		const blobStore = postgresStore(pool, { schema, layout: 'blob' });
		for (const id of ['a', 'b', 'c']) await blobStore.save(id, conversation(2));
		const logStore = postgresStore(pool, { schema, layout: 'log' });
		expect((await logStore.migrate({ from: 'blob' })).copied).toBe(3);

		// An old instance that saves first is mirrored; the new one sees its turn.
		const fromOld = turn(conversation(2), 'old');
		await blobStore.save('a', fromOld);
		expect(await logStore.load('a')).toEqual(fromOld);

		// Once a new instance has saved, the old one's stale write fails with CONFLICT.
		const fromNew = turn(fromOld, 'new');
		await logStore.save('a', fromNew);
		const conflict = await caught(blobStore.save('a', turn(fromOld, 'late')));
		expect(conflict.code).toBe('CONFLICT');
		expect(await logStore.load('a')).toEqual(fromNew);

		// The recipe gets a Postgres error that says why.
		let recipeError: unknown;
		await recipeSave(schema, 'a', conversation(1)).catch((e: unknown) => (recipeError = e));
		expect(String((recipeError as Error).message)).toContain('was saved through the log layout');
		expect(await logStore.load('a')).toEqual(fromNew);

		// A session deleted through the log layout is not brought back by an old writer.
		await logStore.delete('b');
		expect((await caught(blobStore.save('b', turn(conversation(2), 'zombie')))).code).toBe('CONFLICT');
		expect(await logStore.load('b')).toBeNull();

		// A session the old instance creates is mirrored too; so is its delete.
		await blobStore.save('d', conversation(1));
		expect(await logStore.load('d')).toEqual(conversation(1));
		await blobStore.delete('c');
		expect(await logStore.load('c')).toBeNull();

		const sealed = await logStore.migrate({ from: 'blob', seal: true });
		expect(sealed.copied).toBe(0);
		const refused = await caught(blobStore.save('d', conversation(3)));
		expect(refused.code).toBe('CONFIG');
		expect(refused.message).toContain("layout: 'log'");
		await logStore.save('d', conversation(3));
		expect(await logStore.load('d')).toEqual(conversation(3));
	});

	it('migrate({ from: "blob" }) is refused on a blob store, without a blob table, and seal without from', async () => {
		const schema = uniqueSchema();
		schemas.push(schema);
		expect((await caught(postgresStore(pool, { schema, layout: 'blob' }).migrate({ from: 'blob' }))).code).toBe('CONFIG');
		const log = postgresStore(pool, { schema, layout: 'log' });
		const missing = await caught(log.migrate({ from: 'blob' }));
		expect(missing.code).toBe('CONFIG');
		expect(missing.message).toContain('no table flue_sessions');
		expect((await caught(log.migrate({ seal: true }))).code).toBe('CONFIG');
		expect((await caught(log.migrate({ from: 'log' as never }))).code).toBe('CONFIG');
	});
});
