/**
 * Builds the connector index: reads `connectors/*.md`, checks every file and the set as a whole,
 * and writes `src/cli/connector-index.generated.ts`, which embeds the Markdown so that
 * `flue-persist add` works offline from the installed package.
 *
 *   tsx scripts/build-connectors.ts           write the index
 *   tsx scripts/build-connectors.ts --check   exit 1 when the committed index is out of date
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildConnectorIndex, ConnectorFormatError, renderIndexModule } from '../src/cli/connector-format.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const connectorsDir = join(root, 'connectors');
const outFile = join(root, 'src', 'cli', 'connector-index.generated.ts');

/** The generated module for the connectors in `dir`, exactly as the build writes it. */
export function generateIndexModule(dir = connectorsDir): string {
	const files = readdirSync(dir)
		.filter((name) => name.endsWith('.md') && name !== 'README.md')
		.map((name) => ({ name, source: readFileSync(join(dir, name), 'utf8') }));
	return renderIndexModule(buildConnectorIndex(files));
}

function main(argv: string[]): number {
	let generated: string;
	try {
		generated = generateIndexModule();
	} catch (error) {
		if (error instanceof ConnectorFormatError) {
			process.stderr.write(`[build-connectors] connectors/${error.message}\n`);
			return 1;
		}
		throw error;
	}
	let current: string | null = null;
	try {
		current = readFileSync(outFile, 'utf8');
	} catch {
		// No index yet: it is out of date like any other.
	}
	if (current === generated) {
		// Not rewritten: tests that run beside a build read this file.
		process.stderr.write('[build-connectors] the connector index is up to date.\n');
		return 0;
	}
	if (argv.includes('--check')) {
		process.stderr.write('[build-connectors] src/cli/connector-index.generated.ts is out of date. Run `npm run build:connectors`.\n');
		return 1;
	}
	writeFileSync(outFile, generated);
	process.stderr.write('[build-connectors] wrote src/cli/connector-index.generated.ts\n');
	return 0;
}

// Imported by the test that checks the committed index; run only as a script.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2));
