/** Deleting a session: a dialog that repeats the id, then the request that repeats it too. */
import { deleteSession } from './api.js';
import { byId, shown } from './dom.js';
import { dropRow } from './list.js';
import { showEmpty } from './session.js';
import { state } from './state.js';

/** Asks before deleting `id`, and deletes it on "Delete". */
export function askDelete(id: string): void {
	const dialog = byId<HTMLDialogElement>('confirm-delete');
	byId('confirm-id').textContent = shown(id);
	byId('confirm-error').textContent = '';
	dialog.returnValue = '';
	dialog.onclose = async () => {
		if (dialog.returnValue !== 'delete') return;
		try {
			await deleteSession(id);
		} catch (e) {
			byId('confirm-error').textContent = shown((e as Error).message);
			dialog.showModal();
			return;
		}
		dropRow(id);
		state.sessionId = null;
		if (location.hash) history.replaceState(null, '', location.pathname + location.search);
		showEmpty(`Deleted ${id}.`);
		byId('detail').setAttribute('data-state', 'deleted');
	};
	dialog.showModal();
}

/** Wires the dialog's buttons. */
export function wireDelete(): void {
	byId('confirm-cancel').addEventListener('click', () => byId<HTMLDialogElement>('confirm-delete').close('cancel'));
	byId('confirm-ok').addEventListener('click', () => byId<HTMLDialogElement>('confirm-delete').close('delete'));
}
