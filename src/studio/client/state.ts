/** What the page holds between requests. */
import type { StudioInfo } from '../api-types.js';

export const state = {
	info: null as StudioInfo | null,
	list: { gen: 0, cursor: null as string | null, shown: 0 },
	sessionId: null as string | null,
	sessionGen: 0,
	doctorTimer: undefined as ReturnType<typeof setTimeout> | undefined,
};
