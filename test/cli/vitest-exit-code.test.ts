/**
 * A failing test makes the test command fail: vitest, with the project's Postgres global setup
 * (with DATABASE_URL, and with the embedded server it starts otherwise), exits non-zero when a
 * test fails. CI trusts that exit code.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { root } from '../support/paths.js';
import { postgresUrl } from '../support/postgres.js';
import { capture } from '../support/spawn.js';

mkdirSync(join(root, '.tmp'), { recursive: true });
const scratch = mkdtempSync(join(root, '.tmp', 'exit-code-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs vitest on a fixture with the project's global setup, in a process of its own. */
async function runSuite(env: NodeJS.ProcessEnv, fixture = 'failing'): Promise<{ code: number | null; output: string }> {
	const config = join(scratch, `vitest-${Math.random().toString(36).slice(2)}.config.mjs`);
	writeFileSync(
		config,
		`export default { root: ${JSON.stringify(root)}, test: { include: ['test/fixtures/${fixture}.fixture.ts'], globalSetup: ['test/support/postgres-global-setup.ts'], hookTimeout: 180000 } };\n`,
	);
	const run = await capture(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '-c', config], { cwd: root, env });
	return { code: run.code, output: run.stdout + run.stderr };
}

describe('the test command fails when a test fails', () => {
	it('with DATABASE_URL', async () => {
		const { code, output } = await runSuite({ ...process.env, DATABASE_URL: postgresUrl() });
		expect(output).toMatch(/1 failed/);
		expect(code).toBe(1);
	});

	it('with the embedded Postgres server it starts', async () => {
		const env = { ...process.env };
		delete env.DATABASE_URL;
		const { code, output } = await runSuite(env);
		expect(output).toMatch(/1 failed/);
		expect(code).toBe(1);
	}, 240_000);

	// The other half: the embedded server's exit hooks once made every run exit 1 ("done is not a
	// function"), which a check of failing runs alone cannot see.
	it('and succeeds when every test passes, with the embedded Postgres server it starts', async () => {
		const env = { ...process.env };
		delete env.DATABASE_URL;
		const { code, output } = await runSuite(env, 'passing');
		expect(output).toMatch(/1 passed/);
		expect(output).not.toMatch(/done is not a function/);
		expect(code).toBe(0);
	}, 240_000);
});
