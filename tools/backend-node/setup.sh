#!/usr/bin/env bash
# Sets up the node backend (@tensorflow/tfjs-node built against a local TensorFlow wheel) for this repository.
# Idempotent; a thin wrapper around the tarm-setup-node command that @tarm/backend-node ships, so it works even
# before npm has linked the bin. Options are passed through (--force, --check, --keep-wheel, --help).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
exec bash packages/backends/node/bin/tarm-setup-node.sh "$@"
