/**
 * `doctor` run from the studio, on a session store's database or a Flue 2 one: the same checks as
 * `flue-persist doctor`, never with `fix`, in the background (they read every row, which takes a
 * while on a large database), one run at a time, the findings kept by session (or instance) until
 * the next run.
 */

import { runDoctor } from '../tools/doctor.js';
import type { RawSql } from '../tools/raw-sql.js';
import type { Layout } from '../types.js';
import type { DoctorStatus, ProblemView } from './api-types.js';

/** The database doctor reads, as the studio was opened on it. */
export interface DoctorTarget {
	raw: RawSql;
	/** The URL with any password hidden, for messages. */
	where: string;
	/** Only this session table; both layouts of it are checked, and compared. */
	table?: string;
	layout?: Layout;
}

export type { DoctorStatus };

/** What a run is handed: the stop flag to poll, and where to count what it checks. */
export interface DoctorRunHooks {
	stopped(): boolean;
	progress: { start(total: number): void; tick(): void };
}

/** One doctor run: every problem found, the tables checked (session stores), and why not everything was checked. */
export type DoctorRun = (hooks: DoctorRunHooks) => Promise<{ problems: ProblemView[]; checked?: DoctorStatus['checked']; incomplete: string | null }>;

/** One doctor run at a time over one database; without a run (no SQL under the store), `unavailable`. */
export class DoctorJob {
	private status: DoctorStatus;
	private bySession = new Map<string, ProblemView[]>();
	private running: Promise<void> | null = null;
	private stopped = false;

	constructor(private readonly run: DoctorRun | null) {
		this.status = {
			state: run ? 'idle' : 'unavailable',
			done: 0,
			total: null,
			startedAt: null,
			finishedAt: null,
			checked: [],
			problems: 0,
			sessions: 0,
			database: [],
			incomplete: null,
			error: null,
		};
	}

	/** Where the current or last run stands. */
	current(): DoctorStatus {
		return { ...this.status, database: [...this.status.database], checked: [...this.status.checked] };
	}

	/** The problems of one session (or instance) found by the last run. */
	problemsOf(id: string): ProblemView[] {
		return this.bySession.get(id) ?? [];
	}

	/** Starts a run unless one is running, and returns where it stands. */
	start(): DoctorStatus {
		if (!this.run || this.running || this.stopped) return this.current();
		const run = this.run;
		this.status = {
			...this.status,
			state: 'running',
			done: 0,
			total: null,
			startedAt: new Date().toISOString(),
			finishedAt: null,
			error: null,
			incomplete: null,
		};
		this.running = (async () => {
			try {
				const result = await run({
					stopped: () => this.stopped,
					progress: {
						start: (total) => {
							this.status.total = total;
						},
						tick: () => void this.status.done++,
					},
				});
				const bySession = new Map<string, ProblemView[]>();
				const database: ProblemView[] = [];
				for (const p of result.problems) {
					if (p.sessionId === null) database.push(p);
					else bySession.set(p.sessionId, [...(bySession.get(p.sessionId) ?? []), p]);
				}
				this.bySession = bySession;
				this.status = {
					...this.status,
					state: 'done',
					finishedAt: new Date().toISOString(),
					checked: result.checked ?? [],
					problems: result.problems.length,
					sessions: bySession.size,
					database,
					incomplete: result.incomplete,
				};
			} catch (error) {
				this.status = { ...this.status, state: 'failed', finishedAt: new Date().toISOString(), error: error instanceof Error ? error.message : String(error) };
			} finally {
				this.running = null;
			}
		})();
		return this.current();
	}

	/** Asks a run in progress to stop between sessions (or instances), and waits for it. */
	async stop(): Promise<void> {
		this.stopped = true;
		await this.running;
	}
}

/** Doctor on the database under a session store; `unavailable` without one. */
export function sessionDoctorJob(target: DoctorTarget | null): DoctorJob {
	return new DoctorJob(target && ((hooks) => runDoctor(target.raw, target.where, { fix: false, table: target.table, layout: target.layout, ...hooks })));
}
