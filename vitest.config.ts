import { defineConfig } from 'vitest/config';

export default defineConfig({
	test: {
		include: ['test/**/*.test.ts'],
		// The reliability suite has its own config and command (npm run test:reliability).
		exclude: ['test/reliability/**', '**/node_modules/**'],
		testTimeout: 60_000,
		hookTimeout: 180_000,
		pool: 'forks',
		globalSetup: ['test/support/postgres-global-setup.ts'],
	},
});
