// Reads conversation streams back through the runtime's own public adapter API, on Postgres.
//
//   node read-stream.mjs --postgres <url?schema=…> <stream path>…
//
// No current Postgres adapter is on the registry, and one cannot be assembled from the public
// API (the stream store checks submissions in the same database, and the SQL submission store is
// not public). `defineSqlConversationStreamStore` from `@flue/runtime/adapter` is public, though:
// over `pg` it reads a stream exactly as the runtime's Postgres adapter would. Prints
// { "<path>": [{ offset, data }] } as JSON (`pg` comes from the repository's own install).
import { parseArgs } from 'node:util';
import { defineSqlConversationStreamStore } from '@flue/runtime/adapter';
import pg from 'pg';

const { values, positionals } = parseArgs({ options: { postgres: { type: 'string' } }, allowPositionals: true });
const url = new URL(values.postgres);
const schema = url.searchParams.get('schema');
url.searchParams.delete('schema');
// BIGINT as numbers, as the adapter's fence compares them with ===.
const types = { getTypeParser: (oid, format) => (oid === 20 ? Number : pg.types.getTypeParser(oid, format)) };
const pool = new pg.Pool({ connectionString: url.toString(), max: 2, types, ...(schema ? { options: `-c search_path=${schema}` } : {}) });
const rowsOf = (result) => result.rows.map((row) => ({ ...row }));
const store = defineSqlConversationStreamStore({
	placeholder: (i) => `$${i}`,
	lockClause: 'FOR UPDATE',
	insertIgnorePrefix: 'INSERT',
	insertIgnoreSuffix: 'ON CONFLICT (path) DO NOTHING',
	supportsReturning: true,
	query: async (text, params) => rowsOf(await pool.query(text, [...params])),
	transaction: async (fn) => {
		const client = await pool.connect();
		try {
			await client.query('BEGIN');
			const result = await fn({ query: async (text, params) => rowsOf(await client.query(text, [...params])) });
			await client.query('COMMIT');
			return result;
		} catch (error) {
			await client.query('ROLLBACK').catch(() => undefined);
			throw error;
		} finally {
			client.release();
		}
	},
});
const out = {};
try {
	for (const path of positionals) {
		const batches = [];
		let offset = '-1';
		for (;;) {
			const page = await store.read(path, { offset, limit: 100 });
			for (const b of page.batches) batches.push({ offset: b.offset, records: b.records });
			if (page.batches.length === 0 || page.upToDate) break;
			offset = page.nextOffset;
		}
		out[path] = { meta: await store.getMeta?.(path), batches };
	}
} finally {
	await pool.end();
}
process.stdout.write(JSON.stringify(out));
