/**
 * Progress of a long command: a bar (cli-progress) when stderr is a terminal, plain lines at
 * every tenth of the work otherwise (none for fewer than 10 items), so that logs stay short.
 */
import cliProgress from 'cli-progress';

/** Reports the progress of one pass over a known number of items. */
export interface Progress {
	/** One more item is done. */
	tick(): void;
	/** A message for a person that must not be drawn over by the bar. */
	log(text: string): void;
	/** Ends the bar (or prints the last line); call once, also after an interruption. */
	done(): void;
}

/** What a progress reporter shows and where. */
export interface ProgressOptions {
	/** What is being done, e.g. `copy`. */
	label: string;
	total: number;
	/** What is counted, plural, e.g. `sessions`. */
	unit: string;
	/** Draw a bar: true when stderr is a terminal. */
	tty: boolean;
	/** Where the bar is drawn (stderr). */
	stream: NodeJS.WritableStream;
	/** How plain lines and logs are written (stderr). */
	write(text: string): void;
}

/** Starts reporting; a total of 0 reports nothing. */
export function startProgress(options: ProgressOptions): Progress {
	const { label, total, unit } = options;
	if (total === 0) return { tick() {}, log: (text) => options.write(text.endsWith('\n') ? text : `${text}\n`), done() {} };
	if (options.tty) {
		const bars = new cliProgress.MultiBar(
			{
				stream: options.stream as NodeJS.WriteStream,
				format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {duration_formatted}`,
				barCompleteChar: '█',
				barIncompleteChar: '░',
				clearOnComplete: false,
				hideCursor: false,
				fps: 10,
			},
			cliProgress.Presets.shades_classic,
		);
		const bar = bars.create(total, 0);
		let stopped = false;
		return {
			tick: () => bar.increment(),
			log: (text) => bars.log(text.endsWith('\n') ? text : `${text}\n`),
			done: () => {
				if (stopped) return;
				stopped = true;
				bars.stop();
			},
		};
	}
	let value = 0;
	let reported = 0;
	// A line at each tenth of the work; a pass of a few items is summed up by the command alone.
	const report = () => {
		if (total < 10) return;
		const tenth = Math.floor((value * 10) / total);
		if (tenth === reported) return;
		reported = tenth;
		options.write(`${label}: ${value.toLocaleString('en-US')}/${total.toLocaleString('en-US')} ${unit} (${Math.floor((value * 100) / total)}%)\n`);
	};
	let finished = false;
	return {
		tick() {
			value++;
			report();
		},
		log: (text) => options.write(text.endsWith('\n') ? text : `${text}\n`),
		done() {
			if (finished) return;
			finished = true;
			// An interrupted pass still says where it stopped.
			if (value < total) options.write(`${label}: stopped at ${value.toLocaleString('en-US')}/${total.toLocaleString('en-US')} ${unit}\n`);
		},
	};
}
