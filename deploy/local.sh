#!/bin/sh
# local.sh — run one klpcheck search as N shard processes on this machine
# and merge them: the same flow as the Kubernetes Indexed Job and the Slurm
# array, without a cluster.
#
#   deploy/local.sh N SPLIT_DEPTH SCENARIO [OUTDIR]
#
# Prints what 'klpcheck check --split-depth SPLIT_DEPTH --run SCENARIO'
# prints (times aside) and exits with merge's status. KLPCHECK names the
# binary (default: built from this checkout with go build).
set -eu

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
	echo "usage: $0 N SPLIT_DEPTH SCENARIO [OUTDIR]" >&2
	exit 2
fi
n=$1 depth=$2 scenario=$3
out=${4:-$(mktemp -d "${TMPDIR:-/tmp}/klpcheck-shards.XXXXXX")}
mkdir -p "$out"

if [ -z "${KLPCHECK:-}" ]; then
	root=$(cd "$(dirname "$0")/.." && pwd)
	KLPCHECK=$out/klpcheck
	(cd "$root" && go build -o "$KLPCHECK" ./cmd/klpcheck)
fi

# One process per shard; each writes $out/shard-I.json.
pids=
i=0
while [ "$i" -lt "$n" ]; do
	"$KLPCHECK" check -q --shard "$i/$n" --split-depth "$depth" --run "$scenario" \
		--out "$out/shard-$i.json" >"$out/shard-$i.log" 2>&1 &
	pids="$pids $!"
	i=$((i + 1))
done
failed=0
i=0
for pid in $pids; do
	if ! wait "$pid"; then
		echo "$0: shard $i/$n failed:" >&2
		cat "$out/shard-$i.log" >&2
		failed=1
	fi
	i=$((i + 1))
done
[ "$failed" -eq 0 ] || exit 2

set -- 
i=0
while [ "$i" -lt "$n" ]; do
	set -- "$@" "$out/shard-$i.json"
	i=$((i + 1))
done
exec "$KLPCHECK" merge ${MERGE_FLAGS:-} "$@"
