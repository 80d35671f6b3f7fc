import { defineConfig } from 'vitest/config';

/**
 * The test files that use the run's Postgres server (postgresUrl() in test/support/postgres.ts).
 * Only their project has the global setup that provides one: DATABASE_URL when it is set,
 * otherwise an embedded server it starts, and only when one of these files is in the run. Every
 * other file runs without a server (postgresUrl() there throws, naming this list);
 * test/backends/postgres/faults.test.ts starts servers of its own and needs none from the run.
 */
const POSTGRES_FILES = [
	'test/backends/postgres/conformance.test.ts',
	'test/backends/postgres/migrate.test.ts',
	'test/backends/postgres/named-statements.test.ts',
	'test/backends/postgres/store.test.ts',
	'test/cli/copy-roundtrip.test.ts',
	'test/cli/doctor.test.ts',
	'test/cli/habits.test.ts',
	'test/cli/safety.test.ts',
	'test/cli/vitest-exit-code.test.ts',
	'test/flue/postgres.test.ts',
	'test/flue2/postgres.test.ts',
	'test/flue2/transfer.test.ts',
	'test/package/examples-conformance.test.ts',
	'test/package/examples-run.test.ts',
	'test/package/guides-run.test.ts',
];

/**
 * The stores that run inside workerd (D1, Durable Object SQLite), driven from Node: what they test
 * does not depend on Node's release, so the Node lanes of .ci/run leave this project out
 * (`--project '!workerd'`; `--exclude` on the command line does not reach projects).
 */
const WORKERD_FILES = ['test/backends/d1/**/*.test.ts', 'test/backends/durable-object/**/*.test.ts', 'test/backends/cloudflare/**/*.test.ts'];

const shared = {
	testTimeout: 60_000,
	hookTimeout: 180_000,
	pool: 'forks',
} as const;

export default defineConfig({
	test: {
		projects: [
			{
				test: {
					...shared,
					name: 'self-contained',
					include: ['test/**/*.test.ts'],
					// The reliability suite (npm run test:reliability) and the round trips on every Flue
					// release (npm run test:flue-versions, which needs its own install) have their own configs.
					exclude: ['test/reliability/**', 'test/flue-versions/**', '**/node_modules/**', ...POSTGRES_FILES, ...WORKERD_FILES],
				},
			},
			{
				test: {
					...shared,
					name: 'workerd',
					include: WORKERD_FILES,
				},
			},
			{
				test: {
					...shared,
					name: 'postgres',
					include: POSTGRES_FILES,
					globalSetup: ['test/support/postgres-global-setup.ts'],
				},
			},
		],
	},
});
