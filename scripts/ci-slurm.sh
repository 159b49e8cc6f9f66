#!/usr/bin/env bash
# The Slurm part of CI (issue 8): starts a single-node Slurm on localhost,
# checks that a malformed sweep file is rejected with its position before
# anything is submitted, runs the 8-point sweep of sweep/testdata/tiny.yaml
# through Slurm and compares its records with the local backend's, cancels
# one running array task of a slower copy, resumes, and checks every record
# is there once (TestSlurmSweep), then runs the 16 codesign points of
# sweep/testdata/codesign.yaml as 2 array tasks and checks every one finished
# and collect marks the Pareto front. Stops every daemon it started, by pid,
# after scancel. Installs nothing: needs slurmctld slurmd slurm-client munge.
set -euo pipefail
cd "$(dirname "$0")/.."
state=$(mktemp -d /tmp/panther-slurm.XXXXXX)
trap 'scripts/slurm-local.sh stop "$state"' EXIT
eval "$(scripts/slurm-local.sh start "$state")"

bin="$state/panther"
go build -o "$bin" ./cmd/panther
printf 'kind: train\ngrid:\n  variant: [inplace, sideways]\n' >"$state/bad.yaml"
if "$bin" sweep "$state/bad.yaml" --backend slurm --out "$state/bad" 2>"$state/bad.err"; then
  echo "ci-slurm: a malformed sweep file was accepted" >&2; exit 1
fi
grep -q "bad.yaml:3:22: variant" "$state/bad.err" || { echo "ci-slurm: no position in: $(cat "$state/bad.err")" >&2; exit 1; }
if [ -n "$(squeue --noheader)" ] || [ -e "$state/bad" ]; then
  echo "ci-slurm: something was submitted or written for a malformed sweep file" >&2; exit 1
fi

PANTHER_SLURM=1 go test -count=1 -run 'TestSlurmSweep' -v ./sweep/

"$bin" sweep sweep/testdata/codesign.yaml --backend slurm --chunk 8 --out "$state/codesign"
for _ in $(seq 600); do
  [ -z "$(squeue --noheader)" ] && break
  sleep 1
done
"$bin" sweep collect "$state/codesign"
done_points=$(grep -c '"status":"done"' "$state/codesign/results.jsonl" || true)
[ "$done_points" = 16 ] || { echo "ci-slurm: $done_points of 16 codesign points done" >&2; exit 1; }
head -1 "$state/codesign/results.csv" | grep -q ',pareto$' || { echo "ci-slurm: collect wrote no pareto column" >&2; exit 1; }
echo "ci-slurm: ok"
