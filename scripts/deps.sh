#!/usr/bin/env bash
# Install the Debian packages devwatch needs to build, test and run its
# samples, and tests/browser's npm packages, but only those missing: a warm
# machine pays one dpkg query.
set -euo pipefail

packages=(
	build-essential cmake ninja-build pkg-config git curl ca-certificates
	libuv1-dev libcurl4-openssl-dev libcjson-dev libxxhash-dev libgit2-dev
	libarchive-dev libcmocka-dev libfyaml-dev libmicrohttpd-dev libssl-dev musl-tools
	clang libclang-rt-14-dev
	docker.io busybox-static debootstrap iproute2
	inotify-tools xxhash python3 rsync vim-tiny tmux
	openssl openssh-server openssh-client podman docker-registry apache2-utils
	chromium wrk
)
# Node.js and npm for the browser test: the machine's own when it has them
# (a nodesource nodejs carries npm), else Debian's.
command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "devwatch: installing ${missing[*]}" >&2
	if [ "$(id -u)" -ne 0 ]; then
		sudo=sudo
	else
		sudo=
	fi
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# playwright-core for tests/browser, from its lock file; never a browser
# download (the test drives Debian's /usr/bin/chromium).
browser=$(dirname "$0")/../tests/browser
if [ ! -f "$browser/node_modules/playwright-core/package.json" ]; then
	echo "devwatch: installing tests/browser's npm packages" >&2
	(cd "$browser" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
