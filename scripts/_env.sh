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
quiet=--quiet
if [ ! -x .venv/bin/python ]; then
  echo "First run: creating the virtual environment .venv with $("$PYTHON" --version)" >&2
  "$PYTHON" -m venv .venv
  quiet=  # show what is being installed, the first time
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ clients/python/pyproject.toml -nt "$stamp" ]; then
  echo "Installing Passway${extras:+ with its $extras tools} and its dependencies into .venv" \
    "(about a minute the first time; later runs skip this)..." >&2
  {
    .venv/bin/python -m pip install $quiet --upgrade pip "setuptools>=77"  # the build pyproject.toml needs
    # Editable and pure Python: an edit takes effect at once (scripts/compile builds the
    # compiled hot path in place, as a wheel has it; scripts/compile --clean removes it).
    PASSWAY_PURE_PYTHON=1 .venv/bin/python -m pip install $quiet -e ".${extras:+[$extras]}"
    if [ -n "$extras" ]; then
      # The client library (clients/python), which the test suite also covers.
      .venv/bin/python -m pip install $quiet -e ./clients/python
    fi
  } >&2
  touch "$stamp"
  echo "Installed. Run 'source .venv/bin/activate' to use the passway command directly." >&2
fi
