#!/usr/bin/env bash
# Base images for the samples and tests, made locally when they cannot be
# pulled: busybox:1.36 from Debian's busybox-static as an image FROM scratch,
# and debian:bookworm from debootstrap --variant=minbase. Both carry the tags a
# laptop with internet would pull, so Dockerfiles say `FROM busybox:1.36` as
# usual. Idempotent: an image that exists is left alone, and the debootstrap
# tree is cached as a tarball in /var/cache/devwatch.
set -euo pipefail

cache=${DEVWATCH_CACHE:-/var/cache/devwatch}
# The Debian mirror this machine's own apt uses (the first `deb` source
# whose path ends in /debian), so the images come from where apt already
# reaches; DEVWATCH_MIRROR overrides it.
apt_mirror() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/) { print $i; exit } }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk '/^URIs:/ { print $2 }' "$f"
	done
}
mirror=${DEVWATCH_MIRROR:-$(apt_mirror | grep -E '/debian/?$' | head -n 1)}

have() { docker image inspect "$1" >/dev/null 2>&1; }

try_pull() {
	# No registry is reachable on some machines: give up fast.
	timeout 20 docker pull -q "$1" >/dev/null 2>&1
}

make_busybox() {
	local bb=/bin/busybox stage
	if [ ! -x "$bb" ] || ! "$bb" --list >/dev/null 2>&1; then
		echo "base-images: $bb is missing; install Debian's busybox-static" >&2
		exit 1
	fi
	stage=$(mktemp -d)
	trap 'rm -rf "$stage"' RETURN
	mkdir -p "$stage"/{bin,etc,tmp,root,var/www,usr/bin,sbin,usr/sbin}
	chmod 1777 "$stage/tmp"
	cp "$bb" "$stage/bin/busybox"
	# Every applet as a symlink at its usual path, as the real image has.
	"$bb" --list-full | while read -r applet; do
		[ -e "$stage/$applet" ] || ln -s /bin/busybox "$stage/$applet"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$stage/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$stage/etc/group"
	tar -C "$stage" -c . | docker import \
		-c 'CMD ["sh"]' -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		- busybox:1.36 >/dev/null
	docker tag busybox:1.36 busybox:latest
}

make_debian() {
	local tarball=$cache/debian-bookworm-minbase.tar root
	mkdir -p "$cache"
	if [ ! -s "$tarball" ]; then
		if ! command -v debootstrap >/dev/null; then
			echo "base-images: debootstrap is missing; install Debian's debootstrap" >&2
			exit 1
		fi
		root=$(mktemp -d)
		trap 'rm -rf "$root"' RETURN
		if [ -z "$mirror" ]; then
			echo "base-images: no Debian mirror in /etc/apt/sources*; set DEVWATCH_MIRROR" >&2
			exit 1
		fi
		echo "base-images: debootstrap bookworm from $mirror (a few minutes, once)"
		debootstrap --variant=minbase bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 || {
			echo "base-images: debootstrap failed; see $cache/debootstrap.log" >&2
			exit 1
		}
		cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
		rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
		tar -C "$root" --numeric-owner -cf "$tarball.tmp" .
		mv "$tarball.tmp" "$tarball"
	fi
	docker import -c 'CMD ["bash"]' \
		-c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		"$tarball" debian:bookworm >/dev/null
	docker tag debian:bookworm debian:12
}

for ref in busybox:1.36 debian:bookworm; do
	if have "$ref"; then
		echo "base-images: $ref present"
		continue
	fi
	if try_pull "$ref"; then
		echo "base-images: $ref pulled"
		continue
	fi
	case $ref in
	busybox:*) make_busybox ;;
	debian:*) make_debian ;;
	esac
	echo "base-images: $ref built locally"
done
