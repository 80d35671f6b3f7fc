/**
 * The studio page's script: wires the list, the doctor box and the delete dialog, then follows the
 * `#id=` fragment to the open session. On a Flue 2 database the list is of agent instances and
 * the fragment names one (flue2.ts).
 */
import { getDoctor, getInfo } from './api.js';
import { showDoctor, wireDoctor } from './doctor.js';
import { byId, shown } from './dom.js';
import { loadInstances, openInstance, wireInstanceList } from './flue2.js';
import { loadList, markSelected, wireList } from './list.js';
import { wireDelete } from './remove.js';
import { openSession, showEmpty } from './session.js';
import { state } from './state.js';

const flue2 = () => state.info?.format === 'flue2';

function route(): void {
	const id = new URLSearchParams(location.hash.slice(1)).get('id');
	if (id) void (flue2() ? openInstance(id) : openSession(id));
	else {
		state.sessionId = null;
		markSelected();
		showEmpty(flue2() ? 'Pick an agent instance on the left.' : 'Pick a session on the left.');
	}
}

async function start(): Promise<void> {
	// The page was opened with the token or a one-time code; the cookie it set carries on from
	// here, so neither stays in the address bar or the history.
	if (location.search) history.replaceState(null, '', location.pathname + location.hash);
	try {
		state.info = await getInfo();
	} catch (e) {
		showEmpty((e as Error).message);
		return;
	}
	if (flue2()) wireInstanceList();
	else {
		wireList();
		wireDelete();
	}
	wireDoctor(() => {
		if (flue2()) {
			void loadInstances();
			if (state.sessionId !== null) void openInstance(state.sessionId);
			return;
		}
		void loadList(true);
		if (state.sessionId !== null) void openSession(state.sessionId);
	});
	const store = byId('store');
	store.textContent = shown(state.info.store);
	store.title = shown(state.info.store);
	const mode = byId('mode');
	mode.textContent = state.info.allowDelete ? 'deletes allowed' : flue2() ? 'Flue 2 · read-only' : 'read-only';
	mode.className = `badge ${state.info.allowDelete ? 'writable' : 'readonly'}`;
	window.addEventListener('hashchange', route);
	route();
	await (flue2() ? loadInstances() : loadList(true));
	try {
		showDoctor(await getDoctor());
	} catch (e) {
		byId('doctor-status').textContent = shown((e as Error).message);
	}
}

void start();
