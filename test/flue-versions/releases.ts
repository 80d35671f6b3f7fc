/**
 * The Flue releases that have a session store (`init({ persist })`), installed side by side in
 * this folder under npm aliases (see package.json). Each runs the same round trips.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FlueReleaseSpec } from '../support/flue-releases.js';

const here = dirname(fileURLToPath(import.meta.url));
const installed = (alias: string): string => join(here, 'node_modules', alias);

export const RELEASES: FlueReleaseSpec[] = [
	{ family: 'sdk', dir: installed('flue-sdk-0.3.10') },
	{ family: 'sdk', dir: installed('flue-sdk-0.3.11') },
	{ family: 'sdk', dir: installed('flue-sdk-0.4.1') },
	{ family: 'runtime', dir: installed('flue-runtime-0.8.1') },
];

/** Whether this folder's `npm ci` has run; the tests say how to run it when it has not. */
export const releasesInstalled = RELEASES.every((spec) => existsSync(join(spec.dir, 'package.json')));
if (!releasesInstalled)
	throw new Error('The Flue releases are not installed: run `npm run test:flue-versions`, which installs test/flue-versions with npm ci first.');
