#!/usr/bin/env bash
# Install everything the project needs on a fresh machine, idempotently:
#   uv (from PyPI), the locked Python environment in .venv (bytecode compiled),
#   and the local Kafka broker's jars (Maven Central, via pipeline/kafka/pom.xml).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv
  export PATH="$HOME/.local/bin:$PATH"
fi
command -v java >/dev/null || { echo "Java 17+ is required to run the local Kafka broker" >&2; exit 1; }
command -v mvn >/dev/null || { echo "Maven is required to fetch the Kafka broker" >&2; exit 1; }

# --frozen: install exactly the lock file; --compile-bytecode: these machines set
# PYTHONDONTWRITEBYTECODE=1, without it every Airflow/GX import recompiles from source.
uv sync --frozen --compile-bytecode --python 3.11 --quiet
.venv/bin/python -m pipeline kafka fetch >/dev/null

# Headless Chromium for the dashboard's browser test (Debian's package), only when missing.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium; } >/dev/null \
    || echo "could not install chromium: the dashboard browser test will fail" >&2
fi
