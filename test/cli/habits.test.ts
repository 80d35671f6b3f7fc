/**
 * What a person types by habit gets a useful answer: a file path instead of a URL, a directory,
 * a misspelt connector or session id, a schema that does not exist; help text wrapped by the
 * terminal, not in the source.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../src/backends/sqlite/index.js';
import { renderNotFound } from '../../src/cli/connectors.js';
import { sessionCommands } from '../../src/cli/session-commands.js';
import { conversation } from '../../src/conformance/fixtures.js';
import { runSessionCli } from '../support/cli.js';
import { postgresUrl, uniqueSchema } from '../support/postgres.js';

const dir = mkdtempSync(join(tmpdir(), 'flue-persist-habits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cli = (argv: string[]) => runSessionCli(argv, dir);

describe('a slip gets the likely fix', () => {
	it('a path to a SQLite file, or a directory, says which URL opens it', async () => {
		mkdirSync(join(dir, 'data'));
		const store = sqliteStore(join(dir, 'data', 'sessions.db'));
		await store.save('agent-session:["demo","t1"]', conversation(1));
		await store.close();
		const file = await cli(['ls', 'data/sessions.db']);
		expect(file.code).toBe(1);
		expect(file.err).toContain('is not a store URL, but it is a file. To open it as a SQLite database, write sqlite:data/sessions.db.');
		const folder = await cli(['ls', 'sqlite:data']);
		expect(folder.code).toBe(1);
		expect(folder.err).toContain('data is a directory, not a SQLite file. Name the database file in it (sqlite:data/sessions.db)');
	});

	it('a misspelt connector and a missing session id suggest the closest names', async () => {
		expect(renderNotFound('sqlit')).toContain('Connector "sqlit" not found. Did you mean "sqlite"?');
		const missing = await cli(['rm', 'sqlite:data/sessions.db', 'agent-session:["demo","t2"]', '--yes']);
		expect(missing.code).toBe(1);
		expect(missing.err).toContain('The closest ids there: "agent-session:[\\"demo\\",\\"t1\\"]".');
		const shown = await cli(['show', 'sqlite:data/sessions.db', 'agent-session:["demo","t2"]']);
		expect(shown.code).toBe(1);
		expect(shown.err).toContain(`The closest ids there:\n\n  flue-persist show sqlite:data/sessions.db 'agent-session:["demo","t1"]'`);
		expect(shown.err).not.toContain('--prefix');
	});

	it('a Postgres schema that does not exist is named as such', async () => {
		const schema = uniqueSchema('absent');
		const url = `${postgresUrl()}${postgresUrl().includes('?') ? '&' : '?'}schema=${schema}`;
		for (const command of ['ls', 'export', 'doctor']) {
			const result = await cli([command, url]);
			expect(result.code).toBe(1);
			expect(result.err).toContain(`the schema "${schema}" does not exist in this database`);
		}
	});
});

describe('help text', () => {
	it('is not wrapped in the source: the terminal wraps it', () => {
		const io = { out: () => undefined, err: () => undefined, env: {}, cwd: dir };
		for (const command of sessionCommands(io)) {
			const lines = command.description().split('\n\n');
			for (const paragraph of lines) expect(paragraph, `${command.name()}: ${paragraph.slice(0, 40)}`).not.toContain('\n');
		}
	});
});

describe('after the documented Postgres migration', () => {
	it('ls and doctor work on a database whose blob table was sealed, and doctor is clean', async () => {
		const { makePool, dropSchema } = await import('../support/postgres.js');
		const { postgresStore } = await import('../../src/backends/postgres/index.js');
		const pool = makePool();
		const schema = uniqueSchema('sealed');
		try {
			const blob = postgresStore(pool, { layout: 'blob', schema });
			await blob.save('a', conversation(1));
			await blob.save('b', conversation(2));
			await blob.close();
			const log = postgresStore(pool, { layout: 'log', schema });
			await log.migrate({ from: 'blob', seal: true });
			// The conversation goes on in the log layout; the sealed blob table keeps the old turn.
			await log.save('a', conversation(3));
			await log.close();
			const url = `${postgresUrl()}${postgresUrl().includes('?') ? '&' : '?'}schema=${schema}`;
			const ls = await cli(['ls', url]);
			expect(ls.err).toBe('');
			expect(ls.code).toBe(0);
			expect(ls.out).toContain('2 sessions');
			const doctor = await cli(['doctor', url]);
			expect(doctor.out).toContain('No damage found.');
			expect(doctor.out).toContain('sealed by the migration');
			expect(doctor.code).toBe(0);
		} finally {
			await dropSchema(pool, schema);
			await pool.end();
		}
	});
});
