#!/bin/sh
# Every benchmark, one after the other. `make bench` runs this.
set -eu
here=$(dirname "$0")
"$here/chain_build.sh"
"$here/serve.sh"
