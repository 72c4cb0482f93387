#!/usr/bin/env bash
# Prints the path of the Linux source tree used by the watcher benchmarks:
# Debian's linux-source-6.1 (about 78,600 files, 1.5 GB), installed and
# extracted once into a scratch folder (DEVWATCH_BENCH_DIR, default
# /var/cache/devwatch/bench).
set -euo pipefail
dir=${DEVWATCH_BENCH_DIR:-/var/cache/devwatch/bench}
tree=$dir/linux-source-6.1
if [ ! -f "$tree/.extracted" ]; then
	if ! ls /usr/src/linux-source-6.1.tar.* >/dev/null 2>&1; then
		echo "bench: installing linux-source-6.1" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-source-6.1 >/dev/null
	fi
	echo "bench: extracting the Linux source into $dir (once)" >&2
	rm -rf "$tree"
	mkdir -p "$dir"
	tar -C "$dir" -xf /usr/src/linux-source-6.1.tar.*
	touch "$tree/.extracted"
fi
echo "$tree"
