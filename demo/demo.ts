/**
 * npm run demo: a Flue agent whose conversation lives in a SQLite file and survives a restart.
 *
 * Turn 1 runs in one process and exits. Turn 2 runs in a new process that knows nothing but the
 * file, and resumes the conversation. Then the stored session is printed.
 *
 * With ANTHROPIC_API_KEY or OPENAI_API_KEY set, the agent talks to that provider (DEMO_MODEL
 * overrides the model, as "provider/model-id"). Without a key, a local demo model stands in.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sqliteStore } from '../src/backends/sqlite/index.js';
import type { SessionData, SessionEntry } from '../src/types.js';
import { startDemoModel } from './demo-model.js';
import type { TurnConfig, TurnReport } from './turn.js';

const AGENT_ID = 'demo-agent';
const SESSION_ID = 'conversation';
const TURN_1 = "Hi, I'm Ada. Please remember that my favourite number is 42.";
const TURN_2 = 'What is my name, and what is my favourite number?';

const here = dirname(fileURLToPath(import.meta.url));
const db = join(process.cwd(), '.demo', 'demo.db');
const shown = relative(process.cwd(), db);

function pickModel(): { model: string; label: string } | null {
	if (process.env.DEMO_MODEL) return { model: process.env.DEMO_MODEL, label: `${process.env.DEMO_MODEL} (DEMO_MODEL)` };
	if (process.env.ANTHROPIC_API_KEY) return { model: 'anthropic/claude-haiku-4-5', label: 'anthropic/claude-haiku-4-5 (ANTHROPIC_API_KEY is set)' };
	if (process.env.OPENAI_API_KEY) return { model: 'openai/gpt-4.1-mini', label: 'openai/gpt-4.1-mini (OPENAI_API_KEY is set)' };
	return null;
}

const oneLine = (text: string, max = 110): string => {
	const flat = text.replace(/\s+/g, ' ').trim();
	return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** Runs one turn in a new Node process (with the same TypeScript loader) and returns its report. */
function runTurn(config: TurnConfig): Promise<{ pid: number; report: TurnReport }> {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, [...process.execArgv, join(here, 'turn.ts'), JSON.stringify(config)], {
			stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
		});
		let report: TurnReport | undefined;
		child.on('message', (message) => (report = message as TurnReport));
		child.on('error', reject);
		child.on('exit', (code) => {
			if (code === 0 && report) resolve({ pid: child.pid ?? 0, report });
			else reject(new Error(`the process for turn ${config.turn} failed (exit code ${code}).`));
		});
	});
}

/** The session as a tree: one line per entry, branches indented, the leaf marked. */
function printTree(data: SessionData): void {
	const children = new Map<string | null, SessionEntry[]>();
	for (const entry of data.entries) {
		const list = children.get(entry.parentId) ?? [];
		list.push(entry);
		children.set(entry.parentId, list);
	}
	const line = (entry: SessionEntry, indent: string) => {
		const message = (entry as { message?: { role?: string; content?: unknown } }).message;
		const role = message?.role ?? entry.type;
		const content = message?.content;
		const text =
			typeof content === 'string'
				? content
				: Array.isArray(content)
					? content.map((p: { text?: string }) => p.text ?? '').join(' ')
					: String((entry as { summary?: unknown }).summary ?? '');
		const leaf = entry.id === data.leafId ? '  ◀ leaf' : '';
		console.log(`  ${indent}${entry.id}  ${role.padEnd(9)} ${oneLine(text, 80)}${leaf}`);
	};
	const walk = (parentId: string | null, indent: string) => {
		// A chain stays at one level; only a real branch (several children) is indented.
		for (let kids = children.get(parentId) ?? []; kids.length > 0; ) {
			if (kids.length > 1) {
				for (const kid of kids) {
					line(kid, `${indent}├ `);
					walk(kid.id, `${indent}│ `);
				}
				return;
			}
			const only = kids[0]!;
			line(only, indent);
			kids = children.get(only.id) ?? [];
		}
	};
	walk(null, '');
}

async function main(): Promise<void> {
	mkdirSync(dirname(db), { recursive: true });
	for (const file of [db, `${db}-wal`, `${db}-shm`]) rmSync(file, { force: true });

	const picked = pickModel();
	const demoModel = picked ? null : await startDemoModel();
	const model = picked?.model ?? 'demo/demo-model';
	const base = { db, model, demoModelUrl: demoModel?.baseUrl, agentId: AGENT_ID, sessionId: SESSION_ID };

	console.log('flue-persist demo: a Flue agent whose conversation is kept in a SQLite file.');
	console.log(`  model:    ${picked?.label ?? 'a local demo model (set ANTHROPIC_API_KEY or OPENAI_API_KEY for a real one)'}`);
	console.log(`  database: ${shown} (new, empty)\n`);

	try {
		const first = await runTurn({ ...base, turn: 1, message: TURN_1 });
		console.log(`Process 1 (pid ${first.pid}) started a new session, answered, and exited.`);
		console.log(`  you:   ${TURN_1}`);
		console.log(`  agent: ${oneLine(first.report.reply, 300)}\n`);

		const second = await runTurn({ ...base, turn: 2, message: TURN_2 });
		console.log(`Process 2 (pid ${second.pid}) loaded the session from ${shown}, answered, and exited.`);
		console.log(`  you:   ${TURN_2}`);
		console.log(`  agent: ${oneLine(second.report.reply, 300)}`);

		const sent = second.report.sent;
		const squash = (text: string) => text.replace(/\s+/g, '');
		const carried =
			sent.some((m) => m.role === 'user' && m.text.includes(TURN_1)) &&
			sent.some((m) => m.role === 'assistant' && squash(m.text) === squash(first.report.reply));
		console.log(`  process 2 sent the model ${sent.length} messages: ${sent.map((m) => m.role).join(', ')}`);
		if (!carried) throw new Error('process 2 did not send turn 1 to the model: the conversation was not resumed.');
		console.log('  ✓ turn 1 was in that request: it came back from the SQLite file, not from memory.\n');

		const store = sqliteStore(db);
		const key = `agent-session:${JSON.stringify([AGENT_ID, SESSION_ID])}`;
		const data = await store.load(key);
		await store.close();
		if (!data) throw new Error(`session ${key} is not in ${shown}.`);
		console.log(`Stored session ${key}: ${data.entries.length} entries`);
		printTree(data);
		console.log(`\nThe database is ${shown}; run the demo again to start over.`);
		console.log(`\nLook at it in a browser (in a project that installed flue-persist: npx flue-persist studio --store sqlite:${shown}):`);
		console.log(`  npm run cli -- studio --store sqlite:${shown}`);
	} finally {
		await demoModel?.close();
	}
}

main().catch((error: unknown) => {
	console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
	process.exitCode = 1;
});
