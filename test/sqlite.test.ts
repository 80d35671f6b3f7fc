import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../src/backends/sqlite/index.js';
import { runConformance } from '../src/conformance/index.js';
import type { FluePersistStore, Layout } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'flue-persist-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const files = new WeakMap<FluePersistStore, string>();

// chunkBytes 1024 forces every large value into parts: the path Cloudflare's 2 MB limit takes.
for (const [layout, chunkBytes] of [['log', undefined], ['blob', undefined], ['log', 1024], ['blob', 1024]] as Array<[Layout, number | undefined]>) {
	runConformance<FluePersistStore>(
		{
			name: `sqliteStore layout ${layout}${chunkBytes ? `, values split at ${chunkBytes} bytes` : ''}`,
			async create(options) {
				const file = join(dir, `c-${layout}-${n++}.db`);
				const store = sqliteStore(file, { ...options, layout, chunkBytes });
				files.set(store, file);
				return store;
			},
			async reopen(store, options) {
				const file = files.get(store)!;
				const again = sqliteStore(file, { ...options, layout, chunkBytes });
				files.set(again, file);
				return again;
			},
		},
		{ describe, it, expect },
	);
}
