# Sourced by scripts/check and scripts/test: cd to the repository root and pick the Python to use.
# An activated virtualenv wins; otherwise the repository's .venv when present; otherwise python3.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
  PY="$VIRTUAL_ENV/bin/python"
elif [ -x .venv/bin/python ]; then
  PY=.venv/bin/python
else
  PY=python3
fi

section() { printf '\n==== %s ====\n' "$*"; }
