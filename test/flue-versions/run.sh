#!/usr/bin/env bash
# npm run test:flue-versions: installs this folder (every Flue release with a session store, under
# npm aliases, from its own lockfile) when the lockfile changed, then runs the round trips on each.
# Arguments go to vitest (e.g. a file or -t "0.3.10").
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
stamp="$here/node_modules/.installed-lock"
want="$(node --version) $(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
	# No install scripts: the releases run as plain JavaScript, and none of their dependencies
	# needs a build step for what the tests use.
	(cd "$here" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
	echo "$want" >"$stamp"
fi
cd "$here/../.."
exec npx vitest run -c test/flue-versions/vitest.config.ts "$@"
