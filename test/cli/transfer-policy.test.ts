/**
 * copy and import against a destination that already holds sessions: identical ones are skipped,
 * ones with other content are left and reported unless --overwrite or --newer says otherwise;
 * a store is never copied onto itself; copy takes its stores as positional arguments.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../src/backends/sqlite/index.js';
import { conversation } from '../../src/conformance/fixtures.js';
import { sessionChecksum } from '../../src/tools/export-format.js';
import type { SessionData } from '../../src/types.js';
import { runSessionCli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'flue-persist-policy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cli = (argv: string[]) => runSessionCli(argv, dir);

function session(turns: number, updatedAt: string): SessionData {
	const data = conversation(turns);
	data.updatedAt = updatedAt;
	return data;
}

const OLD = '2026-01-01T00:00:00.000Z';
const NEW = '2026-06-01T00:00:00.000Z';

async function seed(file: string, sessions: Record<string, SessionData>): Promise<void> {
	const store = sqliteStore(join(dir, file));
	for (const [id, data] of Object.entries(sessions)) await store.save(id, data);
	await store.close();
}

async function sums(file: string): Promise<Record<string, string>> {
	const store = sqliteStore(join(dir, file));
	const out: Record<string, string> = {};
	for (const s of (await store.list({ limit: 100 })).sessions) out[s.id] = sessionChecksum(s.id, await store.load(s.id));
	await store.close();
	return out;
}

const sum = (id: string, data: SessionData) => sessionChecksum(id, data);

/** Source: `later` is newer than the destination's, `earlier` older, `same` identical, `fresh` only here. */
const source = { later: session(3, NEW), earlier: session(3, OLD), same: session(2, OLD), fresh: session(1, OLD) };
const destination = { later: session(2, OLD), earlier: session(1, NEW), same: session(2, OLD), mine: session(1, OLD) };

describe('a destination that already holds the sessions', () => {
	for (const how of ['copy', 'import'] as const) {
		it(`${how}: by default sessions with other content are left and reported; --newer replaces the later ones; --overwrite all`, async () => {
			await seed(`${how}-src.db`, source);
			if (how === 'import') expect((await cli(['export', `sqlite:${how}-src.db`, '-o', `${how}.jsonl`])).code).toBe(0);
			const run = (dest: string, ...flags: string[]) =>
				how === 'copy' ? cli(['copy', `sqlite:${how}-src.db`, `sqlite:${dest}`, ...flags]) : cli(['import', `sqlite:${dest}`, `${how}.jsonl`, ...flags]);

			await seed(`${how}-skip.db`, destination);
			const skip = await run(`${how}-skip.db`);
			expect(skip.code).toBe(1);
			expect(skip.err).toContain('2 sessions were left as they are (the destination holds other content under these ids)');
			expect(skip.err).toContain('  "earlier"\n  "later"\n');
			expect(skip.err).toContain('--newer');
			expect(await sums(`${how}-skip.db`)).toEqual({
				later: sum('later', destination.later),
				earlier: sum('earlier', destination.earlier),
				same: sum('same', source.same),
				mine: sum('mine', destination.mine),
				fresh: sum('fresh', source.fresh),
			});

			await seed(`${how}-newer.db`, destination);
			const newer = await run(`${how}-newer.db`, '--newer');
			expect(newer.code).toBe(1);
			expect(newer.err).toContain('1 session was left as it is (the destination holds other content under this id, with an updatedAt that is not earlier)');
			expect(await sums(`${how}-newer.db`)).toMatchObject({
				later: sum('later', source.later),
				earlier: sum('earlier', destination.earlier),
				mine: sum('mine', destination.mine),
			});

			await seed(`${how}-over.db`, destination);
			const over = await run(`${how}-over.db`, '--overwrite');
			expect(over.code).toBe(0);
			expect(await sums(`${how}-over.db`)).toMatchObject({
				later: sum('later', source.later),
				earlier: sum('earlier', source.earlier),
				mine: sum('mine', destination.mine),
			});

			expect((await run(`${how}-over.db`, '--overwrite', '--newer')).code).toBe(2);
		});
	}
});

describe('copy takes its stores as arguments and never copies a store onto itself', () => {
	it('copy <from> <to> works like --from --to', async () => {
		await seed('pos-src.db', { a: session(1, OLD) });
		const result = await cli(['copy', 'sqlite:pos-src.db', 'sqlite:pos-dst.db']);
		expect(result.code).toBe(0);
		expect(await sums('pos-dst.db')).toEqual({ a: sum('a', session(1, OLD)) });
		expect((await cli(['copy', 'sqlite:pos-src.db'])).code).toBe(2);
	});

	it('a copy whose destination is its source is refused and the file is left as it was', async () => {
		await seed('self.db', { a: session(1, OLD) });
		const before = createHash('sha256')
			.update(readFileSync(join(dir, 'self.db')))
			.digest('hex');
		for (const argv of [
			['copy', 'sqlite:self.db', 'sqlite:self.db'],
			['copy', '--from', 'sqlite:self.db', '--to', `sqlite:${join(dir, 'self.db')}`],
			['copy', 'sqlite:self.db', 'sqlite:./self.db?table=flue_sessions&layout=log'],
		]) {
			const result = await cli(argv);
			expect(result.code, argv.join(' ')).toBe(1);
			expect(result.err).toContain('is both the source and the destination');
		}
		expect(
			createHash('sha256')
				.update(readFileSync(join(dir, 'self.db')))
				.digest('hex'),
		).toBe(before);
	});
});
