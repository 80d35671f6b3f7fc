import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * The round trips on every Flue release with a session store (npm run test:flue-versions). Kept
 * out of `npm test`: they need this folder's own install of four Flue releases.
 */
export default defineConfig({
	root: fileURLToPath(new URL('../..', import.meta.url)),
	test: {
		include: ['test/flue-versions/**/*.test.ts'],
		exclude: ['**/node_modules/**'],
		testTimeout: 120_000,
		hookTimeout: 180_000,
		pool: 'forks',
		globalSetup: ['test/support/postgres-global-setup.ts'],
	},
});
