/** The doctor run: its state in the header, its findings on the database, polling while it runs. */
import type { DoctorStatus, ProblemView } from '../api-types.js';
import { getDoctor, startDoctor } from './api.js';
import { byId, h, shown } from './dom.js';
import { fmtInt, fmtTime, plural } from './format.js';
import { state } from './state.js';

function doctorText(d: DoctorStatus): string {
	// A Flue 2 database holds agent instances; its findings are counted by instance.
	const noun = state.info?.format === 'flue2' ? 'instance' : 'session';
	if (d.state === 'idle') return 'Doctor has not checked this database yet.';
	if (d.state === 'running') return `Doctor is checking: ${fmtInt(d.done)}${d.total === null ? '' : ` of ${fmtInt(d.total)}`} ${noun}s…`;
	if (d.state === 'failed') return `Doctor failed: ${d.error}`;
	if (d.state === 'done') {
		const text =
			d.problems === 0
				? 'Doctor found no damage'
				: `Doctor found ${plural(d.problems, 'problem')} in ${plural(d.sessions, noun)}${d.database.length ? ' and the database' : ''}`;
		return `${text} (${fmtTime(d.finishedAt)})${d.incomplete ? `; ${d.incomplete}` : ''}.`;
	}
	return '';
}

/** One finding, as the list of problems shows it. */
export function problemElement(p: ProblemView): HTMLLIElement {
	return h('li', { class: 'problem', 'data-kind': p.kind }, [
		h('span', { class: 'kind', text: p.kind }),
		' · ',
		h('span', { class: 'muted', text: p.table }),
		h('div', { text: p.detail }),
		h('div', {
			class: 'muted',
			// A session store's remedy is what --fix will do; a Flue 2 remedy is a sentence that names --fix itself.
			text: /doctor --fix/.test(p.remedy)
				? p.remedy
				: p.fixable
					? `flue-persist doctor --fix will ${p.remedy}`
					: /^left as it is/i.test(p.remedy)
						? p.remedy
						: `Left as it is: ${p.remedy}`,
		}),
	]);
}

/** Shows where a run stands. */
export function showDoctor(d: DoctorStatus): void {
	const box = byId('doctor-status');
	box.textContent = shown(doctorText(d));
	box.setAttribute('data-state', d.state);
	const button = byId<HTMLButtonElement>('doctor-run');
	button.hidden = d.state === 'unavailable';
	button.disabled = d.state === 'running';
	button.textContent = d.state === 'done' || d.state === 'failed' ? 'Run doctor again' : 'Run doctor';
	byId('database-problems').replaceChildren(...(d.database ?? []).map(problemElement));
}

/** Wires the button; `done` runs when a run finishes (to mark what it found). */
export function wireDoctor(done: () => void): void {
	const poll = async () => {
		clearTimeout(state.doctorTimer);
		let d: DoctorStatus;
		try {
			d = await getDoctor();
		} catch (e) {
			byId('doctor-status').textContent = shown((e as Error).message);
			return;
		}
		showDoctor(d);
		if (d.state === 'running') state.doctorTimer = setTimeout(() => void poll(), 400);
		else if (d.state === 'done') done();
	};
	byId('doctor-run').addEventListener('click', async () => {
		try {
			showDoctor(await startDoctor());
			state.doctorTimer = setTimeout(() => void poll(), 200);
		} catch (e) {
			byId('doctor-status').textContent = shown((e as Error).message);
		}
	});
}
