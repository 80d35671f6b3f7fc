/**
 * `doctor` run from the studio: the same `runDoctor` as `flue-persist doctor`, never with `fix`,
 * in the background (it reads every row of the table, which takes a while on a large database),
 * one run at a time, its findings kept by session until the next run.
 */
import type { Layout } from '../types.js';
import { runDoctor, type DoctorResult, type Problem } from '../tools/doctor.js';
import type { RawSql } from '../tools/raw-sql.js';

/** The database doctor reads, as the studio was opened on it. */
export interface DoctorTarget {
	raw: RawSql;
	/** The URL with any password hidden, for messages. */
	where: string;
	/** Only this session table; both layouts of it are checked, and compared. */
	table?: string;
	layout?: Layout;
}

/** Where a run stands, as the page shows it. */
export interface DoctorStatus {
	/** `unavailable`: the studio has no raw access to the database (a store without SQL under it). */
	state: 'unavailable' | 'idle' | 'running' | 'done' | 'failed';
	/** Sessions checked so far, and how many there are (null until counted). */
	done: number;
	total: number | null;
	startedAt: string | null;
	finishedAt: string | null;
	checked: DoctorResult['checked'];
	/** Every problem found, and the sessions they belong to. */
	problems: number;
	sessions: number;
	/** Damage to the database as a whole (the format stamp), not to one session. */
	database: Problem[];
	incomplete: string | null;
	error: string | null;
}

/** One doctor run at a time over one database. */
export class DoctorJob {
	private status: DoctorStatus;
	private bySession = new Map<string, Problem[]>();
	private running: Promise<void> | null = null;
	private stopped = false;

	constructor(private readonly target: DoctorTarget | null) {
		this.status = {
			state: target ? 'idle' : 'unavailable',
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

	/** The problems of one session found by the last run. */
	problemsOf(id: string): Problem[] {
		return this.bySession.get(id) ?? [];
	}

	/** Starts a run unless one is running, and returns where it stands. */
	start(): DoctorStatus {
		if (!this.target || this.running || this.stopped) return this.current();
		const target = this.target;
		this.status = { ...this.status, state: 'running', done: 0, total: null, startedAt: new Date().toISOString(), finishedAt: null, error: null, incomplete: null };
		this.running = (async () => {
			try {
				const result = await runDoctor(target.raw, target.where, {
					fix: false,
					table: target.table,
					layout: target.layout,
					stopped: () => this.stopped,
					progress: {
						start: (total) => void (this.status.total = total),
						tick: () => void this.status.done++,
					},
				});
				const bySession = new Map<string, Problem[]>();
				const database: Problem[] = [];
				for (const p of result.problems) {
					if (p.sessionId === null) database.push(p);
					else bySession.set(p.sessionId, [...(bySession.get(p.sessionId) ?? []), p]);
				}
				this.bySession = bySession;
				this.status = {
					...this.status,
					state: 'done',
					finishedAt: new Date().toISOString(),
					checked: result.checked,
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

	/** Asks a run in progress to stop between pages, and waits for it. */
	async stop(): Promise<void> {
		this.stopped = true;
		await this.running;
	}
}
