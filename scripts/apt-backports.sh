#!/usr/bin/env bash
# Adds bookworm-backports to apt's sources, reusing the mirror URI that the
# machine's own Debian sources already use, then refreshes the package lists.
# Idempotent: a second run changes nothing and skips the update when the
# backports lists are already present.
# Usage: scripts/apt-backports.sh [--force-update]
set -euo pipefail
src=/etc/apt/sources.list.d/debian.sources
dst=/etc/apt/sources.list.d/aisio-backports.sources
suite=bookworm-backports

if [ "$(id -u)" -ne 0 ]; then
	echo "apt-backports: must run as root (adds $dst and runs apt-get update)" >&2
	exit 1
fi

# The first URIs: line of the stanza that carries the main suite.
uri=""
if [ -r "$src" ]; then
	uri=$(awk '
		/^[[:space:]]*$/ { if (u != "" && main) { print u; exit } u = ""; main = 0; next }
		/^URIs:/ { u = $2 }
		/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") main = 1 }
		END { if (u != "" && main) print u }' "$src" | head -n1)
fi
if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
	uri=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list)
fi
if [ -z "$uri" ]; then
	echo "apt-backports: no Debian mirror URI for bookworm found in $src or /etc/apt/sources.list" >&2
	exit 1
fi

want="Types: deb
URIs: $uri
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"

changed=0
if [ ! -f "$dst" ] || [ "$(cat "$dst")" != "$want" ]; then
	printf '%s\n' "$want" >"$dst"
	changed=1
fi

have_lists=0
ls /var/lib/apt/lists/*_dists_${suite}_* >/dev/null 2>&1 && have_lists=1
if [ "$changed" = 1 ] || [ "$have_lists" = 0 ] || [ "${1:-}" = "--force-update" ]; then
	echo "apt-backports: updating package lists ($suite from $uri)"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
fi
