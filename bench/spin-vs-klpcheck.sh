#!/usr/bin/env bash
# spin-vs-klpcheck.sh -- time-to-verdict of klpcheck and of the hand-written
# SPIN model of text_poke_bp (../shared/anchors/spin/tpbp.pml), side by side
# in one run, on the same configurations: K executor CPUs each executing the
# site R times, bytewise fetch, no NMI, no kprobe, current protocol.
#
#   bash bench/spin-vs-klpcheck.sh            # the default grid
#   CONFIGS="2x2 3x2" TLIM=120 STRATEGY=stateful bash bench/spin-vs-klpcheck.sh
#
# STRATEGY is klpcheck's strategy: stateful (default: state caching with the
# executors as one symmetry class, the closest to what SPIN does) or dpor.
# PROPS=spin (default) judges what the Promela model asserts (torn decode,
# stray int3, handler memory, freshness after return = final-text) and
# ignores atomic-switch, which the Promela model does not check; PROPS=all
# judges every x86 property (the stateful digest then also tracks the
# per-site switch order, about 3x the states).
#
# Needs spin and gcc (apt-get install -y spin gcc) and the shared directory
# beside the repository. Prints one line per configuration:
#   K R | klpcheck verdict executions seconds | spin verdict states seconds | ratio
# Nothing here is a unit test: timings depend on the machine and its load.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
pml=${PML:-$top/../shared/anchors/spin/tpbp.pml}
CONFIGS=${CONFIGS:-"2x2 3x2 2x3 3x3"}
TLIM=${TLIM:-300}
STRATEGY=${STRATEGY:-stateful}
PROPS=${PROPS:-spin}
case $PROPS in
spin) ignore='"ignore": ["atomic-switch"], ' ;;
all) ignore='' ;;
*) echo "PROPS must be spin or all" >&2; exit 2 ;;
esac
command -v spin >/dev/null || { echo "spin not found (apt-get install -y spin gcc)" >&2; exit 2; }
[ -f "$pml" ] || { echo "no Promela model at $pml" >&2; exit 2; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
(cd "$top" && go build -o "$work/klpcheck" ./cmd/klpcheck) || exit 2
echo "klpcheck strategy $STRATEGY, properties: $PROPS"
printf '%-4s %-4s | %-10s %12s %9s | %-6s %10s %9s | %s\n' K R klpcheck "states|execs" seconds spin states seconds "klpcheck/spin"
for cfg in $CONFIGS; do
	k=${cfg%x*} r=${cfg#*x}
	cat > "$work/s.json" <<JSON
[{"name": "spin/K${k}R${r}", "kind": "x86",
  "description": "text_poke_bp, bytewise, $k executors x $r executions, no NMI, no kprobe",
  "params": {"cpus": $k, "executions": $r, "nmis": 0, "fetch": "bytewise", "placement": "inside-line", $ignore
             "old": "0f 1f 44 00 00", "new": "e8 e7 57 07 00"},
  "explore": {"strategy": "$STRATEGY", "max_steps": 10000}, "expect": "safe"}]
JSON
	t0=$(date +%s.%N)
	kout=$(timeout "$TLIM" "$work/klpcheck" check --json --workers 1 "$work/s.json" 2>/dev/null)
	t1=$(date +%s.%N)
	kv=$(echo "$kout" | python3 -c 'import json,sys
try:
  d=json.load(sys.stdin)["results"][0]; st=d["stats"]; print(d["verdict"], st.get("states") or st["executions"])
except Exception: print("timeout -")')
	ks=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
	(cd "$work" && cp "$pml" tpbp.pml && spin -DK="$k" -DR="$r" -a tpbp.pml >/dev/null 2>&1 &&
		gcc -O2 -DSAFETY -DNOREDUCE -DMEMLIM=8192 -o pan pan.c >/dev/null 2>&1)
	t0=$(date +%s.%N)
	w=24; [ "$k" -ge 4 ] && w=27
	sout=$(cd "$work" && timeout "$TLIM" ./pan -m1000000 -w$w 2>&1)
	t1=$(date +%s.%N)
	ss=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
	states=$(echo "$sout" | awk '/states, stored$/{print $1; exit}')
	sv=SAFE; echo "$sout" | grep -q 'errors: 0' || sv=FAIL
	ratio=$(awk -v a="$ks" -v b="$ss" 'BEGIN{ if (b > 0) printf "%.1fx", a/b; else print "-" }')
	printf '%-4s %-4s | %-10s %12s %9s | %-6s %10s %9s | %s\n' "$k" "$r" $kv "$ks" "$sv" "${states:--}" "$ss" "$ratio"
done
