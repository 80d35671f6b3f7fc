import { defineConfig } from 'vitest/config';

/**
 * The reliability suite (npm run test:reliability): crash, restart, concurrency, load and
 * bad-input tests that start processes and servers. Kept out of `npm test` so that stays fast.
 * Files run one at a time: they share two cores with the worker processes they start.
 */
export default defineConfig({
	test: {
		include: ['test/reliability/**/*.test.ts'],
		testTimeout: 240_000,
		hookTimeout: 180_000,
		pool: 'forks',
		fileParallelism: false,
		globalSetup: ['test/support/postgres-global-setup.ts'],
	},
});
