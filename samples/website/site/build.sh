#!/bin/sh
# Generates each page of pages/ as header + page + footer, next to this
# script. Runs in the container at image build and on every change to
# pages/ or partials/.
set -eu
dir=$(dirname "$0")
for page in "$dir"/pages/*.html; do
	[ -e "$page" ] || continue
	out="$dir/$(basename "$page")"
	cat "$dir/partials/header.html" "$page" "$dir/partials/footer.html" >"$out.tmp"
	mv "$out.tmp" "$out"
done
