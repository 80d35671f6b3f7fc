/**
 * Gives every test file one Postgres server: DATABASE_URL when it is set, otherwise an embedded
 * server started here and stopped when the run ends.
 */
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from './postgres-server.js';

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
	const server = await startEmbeddedPostgres({ fast: true });
	project.provide('postgresUrl', server.url);
	return () => server.destroy();
}
