#!/bin/sh
# One klpcheck search split over a Slurm job array: array task k runs
# shard k of N (SLURM_ARRAY_TASK_ID → --shard) and writes its shard file to
# a shared directory; a dependent job merges the N files into the verdict
# one unsharded 'check --split-depth D' would print.
#
#   mkdir -p shards    # Slurm opens the --output file before the script runs
#   sbatch --array=0-7 --export=ALL,SHARDS=8 deploy/slurm/array.sh
#   sbatch --dependency=afterok:JOBID --wrap 'klpcheck merge shards/shard-*.json'
#
# A task that dies or is preempted is requeued (--requeue) and writes the
# same file: a shard is deterministic.
#SBATCH --job-name=klpcheck-shards
#SBATCH --cpus-per-task=1
#SBATCH --requeue
#SBATCH --output=shards/shard-%a.log
set -eu
: "${SHARDS:?set SHARDS to the array size}"
: "${SPLIT_DEPTH:=8}"
: "${SCENARIO:=x86/text_poke_bp/bytewise/inside-line}"
: "${KLPCHECK:=klpcheck}"
: "${SHARD_DIR:=shards}"
mkdir -p "$SHARD_DIR"
exec "$KLPCHECK" check -q --shard "$SLURM_ARRAY_TASK_ID/$SHARDS" --split-depth "$SPLIT_DEPTH" \
	--run "$SCENARIO" --out "$SHARD_DIR/shard-$SLURM_ARRAY_TASK_ID.json"
