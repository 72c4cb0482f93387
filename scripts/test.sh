#!/usr/bin/env bash
# The whole test suite: dependencies, engine, base images, then the suite
# through ctest twice, once plain and once under ASan+UBSan, then each fuzz
# target for a short while from its seed corpus (scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
bash scripts/engine.sh
if [ -f scripts/base-images.sh ]; then
	bash scripts/base-images.sh
fi

jobs=$(nproc)
for variant in plain asan; do
	dir=_build-test-$variant
	san=OFF
	[ "$variant" = asan ] && san=ON
	echo "== devwatch tests: $variant build"
	cmake -S . -B "$dir" -G Ninja -DDEVWATCH_SANITIZE=$san >/dev/null
	cmake --build "$dir" -j "$jobs"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir "$dir" --output-on-failure -j "$jobs"
done
echo "== devwatch fuzz targets"
bash scripts/fuzz.sh
