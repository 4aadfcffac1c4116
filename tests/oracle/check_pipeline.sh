#!/usr/bin/env bash
# check_pipeline.sh - the whole pipeline (scripts/dnstrail) against tshark
# over every capture of the corpus: see tests/oracle/pipeline.py.  Binaries
# come from $DNSTRAIL_BIN (default ./bin).
set -eu
cd "$(dirname "$0")/../.."
exec python3 tests/oracle/pipeline.py --dnstrail scripts/dnstrail --corpus tests/data/corpus "$@"
