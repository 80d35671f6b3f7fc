/**
 * Where miniflare and wrangler keep local D1 databases and Durable Object storage on disk.
 *
 * Both are SQLite files written by workerd:
 *
 * - D1: `<d1Persist>/miniflare-D1DatabaseObject/<object id>.sqlite`, one file per database, where
 *   the object id is derived from the database id (`d1Databases: { DB: '<id>' }` in miniflare,
 *   wrangler's `database_id`). Wrangler's `d1Persist` is `.wrangler/state/v3/d1`.
 * - Durable Objects: `<durableObjectsPersist>/<script name>-<class name>/<object id>.sqlite`, one
 *   file per object. Wrangler's is `.wrangler/state/v3/do`.
 *
 * An object id made by `idFromName(name)` is an HMAC of the name keyed by the directory name, the
 * same derivation workerd uses, so a tool can find an object's file from the name the Worker uses.
 * `metadata.sqlite` in those directories is workerd's own bookkeeping, never a database.
 */
import { createHash, createHmac } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ConfigError } from '../errors.js';

/** The directory miniflare keeps D1 databases in, inside the D1 persist directory. */
const D1_OBJECT_DIR = 'miniflare-D1DatabaseObject';

const HEX_ID = /^[0-9a-f]{64}$/;

/**
 * The id workerd gives the object `name` of the namespace whose storage directory is `uniqueKey`
 * (`idFromName`), as a 64-character hex string: the file name without `.sqlite`.
 */
export function objectIdFromName(uniqueKey: string, name: string): string {
	const key = createHash('sha256').update(uniqueKey).digest();
	const nameMac = createHmac('sha256', key).update(name).digest().subarray(0, 16);
	const check = createHmac('sha256', key).update(nameMac).digest().subarray(0, 16);
	return Buffer.concat([nameMac, check]).toString('hex');
}

/** One SQLite file of local Cloudflare state. */
export interface LocalStateFile {
	file: string;
	/** False when the file is to be created (a write to a database or object that has none yet). */
	exists: boolean;
}

/** Which local D1 database a `d1:` URL means. */
export interface D1Params {
	/** The database id (miniflare's `d1Databases` value, wrangler's `database_id`) or the 64-hex object id. */
	database?: string;
}

/** Which local Durable Object a `do:` URL means. */
export interface DurableObjectParams {
	/** The storage directory `<script>-<Class>`, or just the class name. */
	class?: string;
	/** The name the Worker passes to `idFromName`. */
	name?: string;
	/** The 64-hex object id (the file name without `.sqlite`). */
	id?: string;
}

const isDir = (path: string) => existsSync(path) && statSync(path).isDirectory();
const isFile = (path: string) => existsSync(path) && statSync(path).isFile();

/** The `.sqlite` files of a directory that are databases (not workerd's metadata). */
function objectFiles(dir: string): string[] {
	return readdirSync(dir)
		.filter((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite')
		.sort();
}

/** How a lookup may go: create a missing file, describe candidate files, show paths in messages. */
export interface ResolveOptions {
	/** The file may be missing: it is the destination of a write. */
	mayCreate: boolean;
	/** A short description of a candidate file (its tables), for the list of choices. */
	describe?: (file: string) => string;
	/** A path as messages show it (relative to the working directory). Default: as is. */
	show?: (path: string) => string;
}

/** A path that names the file itself: it is there, or may be created, or is missing (`missing` says what to check); null for a directory. */
function namedFile(path: string, mayCreate: boolean, missing: string): LocalStateFile | null {
	if (isFile(path)) return { file: path, exists: true };
	if (!path.endsWith('.sqlite')) return null;
	if (mayCreate) return { file: path, exists: false };
	throw new ConfigError(missing);
}

function listing(dir: string, files: string[], describe?: (file: string) => string): string {
	return files.map((f) => `  ${f.slice(0, -'.sqlite'.length)}${describe ? `  ${describe(join(dir, f))}` : ''}`).join('\n');
}

/**
 * Finds the SQLite file of one local D1 database. `path` is a `.sqlite` file, miniflare's
 * `d1Persist` directory, or a directory above it (`.wrangler`, `.wrangler/state/v3`).
 */
export function resolveD1(path: string, params: D1Params, options: ResolveOptions): LocalStateFile {
	const { mayCreate, describe } = options;
	const show = options.show ?? ((p: string) => p);
	const named = namedFile(
		path,
		mayCreate,
		`there is no D1 database file ${show(path)}. Check the path, or point d1: at the directory miniflare or wrangler persists D1 to.`,
	);
	if (named) return named;
	const candidates = [
		...(basename(path) === D1_OBJECT_DIR ? [path] : []),
		join(path, D1_OBJECT_DIR),
		join(path, 'd1', D1_OBJECT_DIR),
		join(path, 'v3', 'd1', D1_OBJECT_DIR),
		join(path, 'state', 'v3', 'd1', D1_OBJECT_DIR),
	];
	let dir = candidates.find(isDir);
	if (!dir) {
		if (mayCreate && params.database) dir = basename(path) === D1_OBJECT_DIR ? path : join(path, D1_OBJECT_DIR);
		else {
			throw new ConfigError(
				`no local D1 state in ${show(path)}: expected ${show(join(path, D1_OBJECT_DIR))} (the directory given to miniflare as d1Persist, or .wrangler/state/v3/d1). ` +
					'Point d1: at that directory, or at a database file, and add ?database=<id> to create a new database.',
			);
		}
	}
	const files = isDir(dir) ? objectFiles(dir) : [];
	if (params.database) {
		const id = HEX_ID.test(params.database) && files.includes(`${params.database}.sqlite`) ? params.database : objectIdFromName(D1_OBJECT_DIR, params.database);
		const file = join(dir, `${id}.sqlite`);
		if (isFile(file)) return { file, exists: true };
		if (mayCreate) return { file, exists: false };
		throw new ConfigError(
			`there is no local D1 database ${JSON.stringify(params.database)} in ${show(dir)}.` +
				(files.length > 0
					? ` The databases there (by object id):\n${listing(dir, files, describe)}\nPass one of them as ?database=<object id>.`
					: ' The directory holds no database yet.'),
		);
	}
	if (files.length === 1) return { file: join(dir, files[0]!), exists: true };
	if (files.length === 0) {
		throw new ConfigError(
			`${show(dir)} holds no D1 database yet. ${mayCreate ? 'Add ?database=<id> to create one.' : 'Check the path, or run the Worker once so that miniflare creates it.'}`,
		);
	}
	throw new ConfigError(
		`${show(dir)} holds ${files.length} D1 databases; pick one with ?database=<database id or object id>. The databases (by object id):\n${listing(dir, files, describe)}`,
	);
}

/**
 * Finds the SQLite file of one local Durable Object. `path` is a `.sqlite` file, a class directory
 * (`<script>-<Class>`), miniflare's `durableObjectsPersist` directory, or a directory above it.
 */
export function resolveDurableObject(path: string, params: DurableObjectParams, options: ResolveOptions): LocalStateFile {
	const { mayCreate, describe } = options;
	const show = options.show ?? ((p: string) => p);
	const named = namedFile(
		path,
		mayCreate,
		`there is no Durable Object storage file ${show(path)}. Check the path, or point do: at the directory miniflare or wrangler persists Durable Objects to.`,
	);
	if (named) return named;
	if (!isDir(path))
		throw new ConfigError(
			`${show(path)} does not exist. Point do: at the directory miniflare or wrangler persists Durable Objects to (.wrangler/state/v3/do), or at one object's .sqlite file.`,
		);
	const looksLikeClassDir = (dir: string) => readdirSync(dir).some((f) => f.endsWith('.sqlite'));
	let classDir: string;
	if (looksLikeClassDir(path) && (!params.class || basename(path) === params.class || basename(path).endsWith(`-${params.class}`))) {
		classDir = path;
	} else {
		const root = [join(path, 'do'), join(path, 'v3', 'do'), join(path, 'state', 'v3', 'do'), path].find(isDir)!;
		const classes = readdirSync(root)
			.filter((d) => isDir(join(root, d)))
			.sort();
		let chosen: string | undefined;
		if (params.class) {
			const wanted = params.class;
			const matches = classes.filter((d) => d === wanted || d.endsWith(`-${wanted}`));
			if (matches.length > 1)
				throw new ConfigError(
					`${show(root)} has several Durable Object classes named ${JSON.stringify(wanted)}: ${matches.join(', ')}. Pass the full directory name as ?class=.`,
				);
			chosen = matches[0];
			if (!chosen) {
				if (mayCreate && (params.name || params.id) && wanted.includes('-')) chosen = wanted;
				else {
					throw new ConfigError(
						`${show(root)} has no Durable Object class ${JSON.stringify(wanted)}. The classes there: ${classes.join(', ') || '(none)'}. ` +
							'A class directory is named <script name>-<class name>; to create a new object, pass that full name as ?class=.',
					);
				}
			}
		} else {
			const used = classes.filter((d) => objectFiles(join(root, d)).length > 0);
			if (used.length !== 1) {
				throw new ConfigError(
					used.length === 0
						? `no Durable Object storage in ${show(root)}. Point do: at the directory miniflare or wrangler persists Durable Objects to (.wrangler/state/v3/do).`
						: `${show(root)} holds objects of ${used.length} Durable Object classes; pick one with ?class=<class>: ${used.join(', ')}.`,
				);
			}
			chosen = used[0]!;
		}
		classDir = join(root, chosen);
	}
	const files = isDir(classDir) ? objectFiles(classDir) : [];
	const uniqueKey = basename(classDir);
	if (params.id || params.name) {
		if (params.id && !HEX_ID.test(params.id))
			throw new ConfigError(`?id= must be a 64-character hex object id (got ${JSON.stringify(params.id)}). To name an object as the Worker does, use ?name=.`);
		const id = params.id ?? objectIdFromName(uniqueKey, params.name!);
		const file = join(classDir, `${id}.sqlite`);
		if (isFile(file)) return { file, exists: true };
		if (mayCreate) return { file, exists: false };
		throw new ConfigError(
			`Durable Object ${params.name ? `named ${JSON.stringify(params.name)}` : params.id} has no storage in ${show(classDir)}.` +
				(files.length > 0
					? ` The objects there (by id):\n${listing(classDir, files, describe)}\nPass one as ?id=<object id>.`
					: ' The class has no stored objects yet.'),
		);
	}
	if (files.length === 1) return { file: join(classDir, files[0]!), exists: true };
	if (files.length === 0)
		throw new ConfigError(`${show(classDir)} holds no Durable Object storage yet. Add ?name=<object name> to create an object's storage.`);
	throw new ConfigError(
		`${show(classDir)} holds ${files.length} Durable Objects; pick one with ?name=<the name given to idFromName> or ?id=<object id>. The objects (by id):\n${listing(classDir, files, describe)}`,
	);
}
