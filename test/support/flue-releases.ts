/**
 * The Flue releases the tests drive, behind one small interface.
 *
 * Every Flue release with a session store calls it the same way (`save`, `load`, `delete` with
 * whole `SessionData` snapshots), but the way a host starts an agent, registers a model and names
 * a session changed between releases. A `FlueRelease` hides exactly those differences, so the
 * scenarios in flue-harness.ts run unchanged on each. A release is loaded from the folder it is
 * installed in (the library's own @flue/sdk, or an npm alias in test/flue-versions), by the
 * subpaths its package.json exports, so the type checker never needs the aliased packages.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SessionStore } from '../../src/types.js';
import { root } from './paths.js';

/**
 * Where a release is installed and which host API it has. Plain data, so a worker process can
 * load the same release.
 */
export interface FlueReleaseSpec {
	/**
	 * `sdk`: @flue/sdk 0.3 – 0.4, `createFlueContext(...).init({ model, persist })`.
	 * `runtime`: @flue/runtime 0.8, `init(createAgent(() => ({ model, persist })))` with named harnesses.
	 */
	family: 'sdk' | 'runtime';
	/** The installed package folder (the one holding its package.json). */
	dir: string;
}

/** The release the library itself depends on for its tests (devDependency @flue/sdk). */
export const installedSdkSpec: FlueReleaseSpec = { family: 'sdk', dir: join(root, 'node_modules', '@flue', 'sdk') };

export interface AgentOptions {
	/** Agent id (0.8: the instance id), part of every storage key. */
	agentId: string;
	/**
	 * Flue's compaction settings, in 0.3/0.4 form. Off unless a test is about compaction; 0.8 takes
	 * `false` or `{ keepRecentTokens, reserveTokens }` and the release translates.
	 */
	compaction?: { enabled: boolean; keepRecentTokens?: number; reserveTokens?: number };
}

/** The part of a Flue session the scenarios use. */
export interface FlueSessionLike {
	prompt(text: string): PromiseLike<{ text: string }>;
}

/** The part of a Flue agent (0.8: a harness) the scenarios use. */
export interface FlueAgentLike {
	session(id: string): Promise<FlueSessionLike>;
	sessions: { get(id: string): Promise<unknown>; delete(id: string): Promise<void> };
	/**
	 * Flue's `[flue:…]` diagnostics that this release reports as events (0.8) rather than on
	 * stderr (0.3/0.4: see captureFlueLog).
	 */
	readonly log: string[];
}

/** One installed Flue release, driven through what differs between releases. */
export interface FlueRelease {
	readonly spec: FlueReleaseSpec;
	/** `@flue/sdk 0.4.1` */
	readonly label: string;
	readonly name: string;
	readonly version: string;
	/** The `engines.node` range the package declares, '' when none. */
	readonly engines: string;
	/** The `SessionData.version` it writes. */
	readonly sessionVersion: number;
	/** The storage key of a session of an agent (default harness on 0.8). */
	sessionKey(agentId: string, sessionId: string): string;
	/**
	 * Whether a prompt is stored and sent with Flue's headless preamble before it (0.3), rather
	 * than as given (0.4 and later).
	 */
	readonly prefixesPrompts: boolean;
	/** The field of a `metadata.taskSessions[]` item that names the child session. */
	readonly taskSessionField: 'sessionId' | 'session';
	/** The field of a child session's metadata that names its parent session. */
	readonly parentField: 'parentSessionId' | 'parentSession';
	/** Makes `provider/fake-chat-1` reach `baseUrl` (an OpenAI-compatible server); returns the model string. */
	registerModel(provider: string, baseUrl: string): string;
	/** A fresh Flue context (what one request or one process gets) with `store` as `persist`. */
	startAgent(model: string, store: SessionStore, options: AgentOptions): Promise<FlueAgentLike>;
	/**
	 * (@flue/sdk only) The context Flue hands an agent file's default export for one request:
	 * `init`, `id`, `payload` and `env`, so that a test can call the handler as Flue's server does.
	 */
	handlerContext?(options: { id: string; payload: unknown; env: Record<string, unknown>; compaction?: AgentOptions['compaction'] }): unknown;
}

/**
 * The start of the text @flue/sdk 0.3 puts before every prompt (a paragraph telling the model it
 * runs without an operator, then a blank line). Tests compare prompts without it.
 */
const HEADLESS_PREAMBLE = /^You are running in headless mode\b[^\n]*\n\n/;

/** A user message's text as the user wrote it: without 0.3's headless preamble. */
export const withoutPreamble = (text: string): string => text.replace(HEADLESS_PREAMBLE, '');

/**
 * A model registered with `registerProvider` (or built by hand on 0.3) has no catalog metadata,
 * so Flue would see a context window of 0 and its threshold compaction would fire after every
 * turn. Catalog models carry their window; the fake one gets a realistic one the same way.
 */
export const FAKE_CONTEXT_WINDOW = 128_000;
const FAKE_MODEL_ID = 'fake-chat-1';
const FAKE_API_KEY = 'fake-key';

/** A module namespace as imported; the releases' own types differ, so members are checked at use. */
type Module = Record<string, any>;

interface PackageJson {
	name: string;
	version: string;
	engines?: { node?: string };
	exports?: Record<string, ExportTarget>;
}

type ExportTarget = string | { [condition: string]: ExportTarget };

/** The file an exports entry maps to for `import` from Node, following nested conditions. */
function exportedFile(target: ExportTarget | undefined): string | undefined {
	if (target === undefined || typeof target === 'string') return target;
	for (const condition of ['node', 'import', 'default']) {
		const file = exportedFile(target[condition]);
		if (file) return file;
	}
	return undefined;
}

const readPackage = (dir: string): PackageJson => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;

/** Imports `subpath` of the package in `dir` through its exports map, as Node would for a dependant. */
async function importSubpath(dir: string, pkg: PackageJson, subpath: string): Promise<Module> {
	const file = exportedFile(pkg.exports?.[subpath]);
	if (!file) throw new Error(`${pkg.name}@${pkg.version} does not export "${subpath}"`);
	return (await import(pathToFileURL(join(dir, file)).href)) as Module;
}

/** Finds the folder of package `name` as Node's resolution would, starting at `fromDir`. */
function packageDir(fromDir: string, name: string): string {
	for (let dir = fromDir; ; dir = dirname(dir)) {
		const candidate = join(dir, 'node_modules', name);
		if (existsSync(join(candidate, 'package.json'))) return candidate;
		if (dirname(dir) === dir) throw new Error(`package ${name} not found from ${fromDir}`);
	}
}

const withWindow = (model: any): any => (model && model.contextWindow === 0 ? { ...model, contextWindow: FAKE_CONTEXT_WINDOW } : model);

const refusingStore = {
	save: async () => {
		throw new Error('the default store must not be used: every agent gets `persist`');
	},
	load: async () => null,
	delete: async () => {},
};

const loaded = new Map<string, Promise<FlueRelease>>();

/** Loads the release installed in `spec.dir` (once per process). */
export function loadRelease(spec: FlueReleaseSpec): Promise<FlueRelease> {
	const key = `${spec.family}:${spec.dir}`;
	let release = loaded.get(key);
	if (!release) {
		release = spec.family === 'sdk' ? loadSdk(spec) : loadRuntime(spec);
		loaded.set(key, release);
	}
	return release;
}

/** @flue/sdk 0.3.10, 0.3.11, 0.4.1. */
async function loadSdk(spec: FlueReleaseSpec): Promise<FlueRelease> {
	const pkg = readPackage(spec.dir);
	const internal = await importSubpath(spec.dir, pkg, './internal');
	// 0.4 added `@flue/sdk/app` with registerProvider; 0.3 has neither.
	const app = pkg.exports?.['./app'] ? await importSubpath(spec.dir, pkg, './app') : undefined;
	const justBashDir = packageDir(spec.dir, 'just-bash');
	const justBash = await importSubpath(justBashDir, readPackage(justBashDir), '.');
	/** 0.3: models the host builds itself, by provider. */
	const handMade = new Map<string, Module>();
	const resolveModel = (model: string | false | undefined, providers?: unknown): unknown => {
		const provider = typeof model === 'string' ? model.slice(0, model.indexOf('/')) : '';
		const own = handMade.get(provider);
		return own ?? withWindow(internal.resolveModel(model, providers));
	};
	const handlerContext: NonNullable<FlueRelease['handlerContext']> = ({ id, payload, env, compaction }) =>
		internal.createFlueContext({
			id,
			payload,
			env,
			agentConfig: {
				systemPrompt: '',
				skills: {},
				roles: {},
				model: undefined,
				resolveModel,
				compaction: compaction ?? { enabled: false },
			},
			createDefaultEnv: async () => {
				const fs = new justBash.InMemoryFs();
				return internal.bashFactoryToSessionEnv(() => new justBash.Bash({ fs }));
			},
			createLocalEnv: async () => {
				throw new Error('the harness runs agents in an in-memory sandbox only');
			},
			defaultStore: refusingStore,
		});
	return {
		spec,
		label: `${pkg.name} ${pkg.version}`,
		name: pkg.name,
		version: pkg.version,
		engines: pkg.engines?.node ?? '',
		sessionVersion: 2,
		sessionKey: (agentId, sessionId) => `agent-session:${JSON.stringify([agentId, sessionId])}`,
		// 0.4 moved the headless instructions out of the prompt.
		prefixesPrompts: !app,
		taskSessionField: 'sessionId',
		parentField: 'parentSessionId',
		registerModel(provider, baseUrl) {
			if (app) {
				// The client refuses to send without a key; any string will do for a local server.
				app.registerProvider(provider, { api: 'openai-completions', baseUrl, apiKey: FAKE_API_KEY });
			} else {
				// 0.3 resolves models from pi-ai's catalog only; a host that serves another model
				// passes its own resolveModel to the context, which is what the harness does.
				handMade.set(provider, {
					id: FAKE_MODEL_ID,
					name: FAKE_MODEL_ID,
					api: 'openai-completions',
					provider,
					baseUrl,
					reasoning: false,
					input: ['text'],
					cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
					contextWindow: FAKE_CONTEXT_WINDOW,
					maxTokens: 16_384,
				});
			}
			return `${provider}/${FAKE_MODEL_ID}`;
		},
		handlerContext,
		async startAgent(model, store, options) {
			const context = handlerContext({ id: options.agentId, payload: {}, env: {}, compaction: options.compaction }) as {
				init(options: unknown): Promise<object>;
			};
			const provider = model.slice(0, model.indexOf('/'));
			// 0.3 reads the API key from the providers settings of init().
			const providers = handMade.has(provider) ? { [provider]: { apiKey: FAKE_API_KEY } } : undefined;
			const agent = await context.init({ model, persist: store, ...(providers ? { providers } : {}) });
			return Object.assign(agent, { log: [] as string[] }) as FlueAgentLike;
		},
	};
}

/** @flue/runtime 0.8.1. */
async function loadRuntime(spec: FlueReleaseSpec): Promise<FlueRelease> {
	const pkg = readPackage(spec.dir);
	const [index, internal, app] = await Promise.all([
		importSubpath(spec.dir, pkg, '.'),
		importSubpath(spec.dir, pkg, './internal'),
		importSubpath(spec.dir, pkg, './app'),
	]);
	return {
		spec,
		label: `${pkg.name} ${pkg.version}`,
		name: pkg.name,
		version: pkg.version,
		engines: pkg.engines?.node ?? '',
		sessionVersion: 3,
		// 0.8 names sessions per harness (init's `name`, default "default").
		sessionKey: (agentId, sessionId) => `agent-session:${JSON.stringify([agentId, 'default', sessionId])}`,
		prefixesPrompts: false,
		taskSessionField: 'session',
		parentField: 'parentSession',
		registerModel(provider, baseUrl) {
			app.registerProvider(provider, { api: 'openai-completions', baseUrl, apiKey: FAKE_API_KEY });
			return `${provider}/${FAKE_MODEL_ID}`;
		},
		async startAgent(model, store, options) {
			const log: string[] = [];
			const context = internal.createFlueContext({
				id: options.agentId,
				payload: {},
				env: {},
				agentConfig: { resolveModel: (m: unknown) => withWindow(internal.resolveModel(m)) },
				createDefaultEnv: async () => {
					const fs = new internal.InMemoryFs();
					return internal.bashFactoryToSessionEnv(() => new internal.Bash({ fs }));
				},
				defaultStore: refusingStore,
			});
			context.subscribeEvent((event: { type?: string; message?: unknown }) => {
				if (event.type === 'log' && typeof event.message === 'string') log.push(event.message);
			});
			const { enabled, ...settings } = options.compaction ?? { enabled: false };
			const agent = await context.init(index.createAgent(() => ({ model, persist: store, compaction: enabled ? settings : false })));
			return Object.assign(agent, { log }) as FlueAgentLike;
		},
	};
}
