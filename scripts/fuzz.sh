#!/usr/bin/env bash
# Build the libFuzzer targets of tests/fuzz with clang in their own build
# folder and run each for FUZZ_SECONDS (default 20) from a scratch copy of
# its seed corpus (tests/fuzz/corpus/NAME), so the checked-in seeds stay as
# they are. A crash, leak, timeout or out-of-memory fails the target; its
# reproducer is kept in _build-fuzz/findings/NAME/. Ends with the line
# "fuzz: N passed, M failed". FUZZ_TARGETS="json pattern" runs some only;
# FUZZ_RUNS=10000000 also stops each target after that many executions
# (a campaign: see docs/RELIABILITY.md).
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-20}
runs=${FUZZ_RUNS:--1}
dir=${FUZZ_BUILD_DIR:-_build-fuzz}
cc=${FUZZ_CC:-clang}

if ! command -v "$cc" >/dev/null 2>&1; then
	echo "fuzz: $cc not found (scripts/deps.sh installs clang)" >&2
	echo "fuzz: 0 passed, 1 failed"
	exit 1
fi
if ! cmake -S . -B "$dir" -G Ninja -DCMAKE_C_COMPILER="$cc" -DDEVWATCH_FUZZ=ON \
	-DDEVWATCH_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null ||
	! cmake --build "$dir" -j "$(nproc)"; then
	echo "fuzz: cannot build the fuzz targets" >&2
	echo "fuzz: 0 passed, 1 failed"
	exit 1
fi

targets=${FUZZ_TARGETS:-$(cd tests/fuzz && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')}
passed=0
failed=0
for t in $targets; do
	bin=$dir/tests/fuzz/fuzz_$t
	seeds=tests/fuzz/corpus/$t
	work=$dir/corpus/$t
	found=$dir/findings/$t
	log=$dir/fuzz-$t.log
	rm -rf "$work"
	mkdir -p "$work" "$found"
	if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
		echo "fuzz: $t: no target or no seed corpus ($seeds)" >&2
		failed=$((failed + 1))
		continue
	fi
	# Every seed first (the regression reproducers among them), then
	# fuzzing from them for the time given.
	if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$bin" "$work" "$seeds" -max_total_time="$seconds" -runs="$runs" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$found/" >"$log" 2>&1; then
		stats=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
		echo "fuzz: $t: ok ${stats:+($stats)}"
		passed=$((passed + 1))
	else
		echo "fuzz: $t: FAILED, see $log; reproducer in $found/" >&2
		grep -E 'ERROR|SUMMARY|^artifact' "$log" | head -5 >&2
		failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
