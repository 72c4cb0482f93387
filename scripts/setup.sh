#!/usr/bin/env bash
# From a fresh Debian 12 machine to samples/website served on localhost:
# install what is missing, build, start an engine if none answers, make the
# base images, then run `devwatch up` on the sample (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
cmake -S . -B _build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDEVWATCH_TESTS=OFF >/dev/null
cmake --build _build -j "$(nproc)"
bash scripts/engine.sh
bash scripts/base-images.sh
echo "devwatch: serving samples/website on http://localhost:8080/ (Ctrl-C stops)"
exec ./_build/devwatch up -f samples/website/devwatch.json
