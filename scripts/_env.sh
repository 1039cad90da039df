# Shared by scripts/*: make (or reuse) the virtual environment in .venv with Passway installed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  for candidate in python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null 2>&1; then PYTHON="$candidate"; break; fi
  done
fi
"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11), "Passway needs Python 3.11 or newer"'
extras="${PASSWAY_EXTRAS:-}"
stamp=".venv/.passway-installed${extras:+-$extras}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ clients/python/pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".${extras:+[$extras]}"
  if [ -n "$extras" ]; then
    # The client library (clients/python) for its tests.
    .venv/bin/python -m pip install --quiet -e ./clients/python
  fi
  touch "$stamp"
fi
