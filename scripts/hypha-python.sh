#!/usr/bin/env bash
# The Python in which real Hypha runs: the tier of tests that rests every Hypha claim on Python Hypha itself.
#
#   scripts/hypha-python.sh install   pip-installs the pinned hypha and hypha-rpc into .local/hypha/venv (once; a
#                                     second call with the same pins does nothing). Where pip cannot reach PyPI it
#                                     says so in one line, records why in .local/hypha/unavailable and exits 0: the
#                                     tier then skips with that reason (WSO_TEST_PYTHON_HYPHA_REQUIRED=1 fails it).
#   scripts/hypha-python.sh path      prints the interpreter (exit 0), or the reason there is none (stderr, exit 1).
#
# WSO_HYPHA_PYTHON=/path/to/python takes an existing Python in which `import hypha, hypha_rpc` works instead (a
# user's own virtual environment); nothing is installed then.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$ROOT/.local/hypha
VENV=$DIR/venv
PINS=$ROOT/scripts/hypha-requirements.txt
UNAVAILABLE=$DIR/unavailable

log() { printf 'hypha-python: %s\n' "$*" >&2; }

imports() { "$1" -c 'import hypha, hypha_rpc' >/dev/null 2>&1; }

configured() {
  [ -n "${WSO_HYPHA_PYTHON:-}" ] || return 1
  imports "$WSO_HYPHA_PYTHON" || { echo "WSO_HYPHA_PYTHON=$WSO_HYPHA_PYTHON cannot import hypha and hypha_rpc" >&2; exit 1; }
  printf '%s\n' "$WSO_HYPHA_PYTHON"
}

installed() { [ -f "$DIR/pins" ] && cmp -s "$DIR/pins" "$PINS" && imports "$VENV/bin/python"; }

install() {
  configured >/dev/null && return 0
  installed && return 0
  mkdir -p "$DIR"
  rm -f "$UNAVAILABLE" "$DIR/pins"
  local python
  python=$(command -v python3) || { echo "no python3 on PATH to make a virtual environment with" > "$UNAVAILABLE"; log "$(cat "$UNAVAILABLE")"; return 0; }
  [ -x "$VENV/bin/python" ] || "$python" -m venv "$VENV" >/dev/null 2>&1 \
    || { echo "python3 -m venv failed (on Debian: apt-get install python3-venv)" > "$UNAVAILABLE"; log "$(cat "$UNAVAILABLE")"; return 0; }
  log "installing $(grep -v '^#' "$PINS" | tr '\n' ' ')into $VENV (a few minutes the first time)"
  # A registry that answers "no" fails in milliseconds; --retries 1 keeps a silent one from holding the suite up.
  if ! "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet --timeout 20 --retries 1 -r "$PINS" >"$DIR/pip.log" 2>&1; then
    local why
    if why=$(grep -m1 -oE "\[Errno [^]]*\] [^'\"]*|Read timed out|Connection refused" "$DIR/pip.log"); then
      echo "pip could not reach PyPI ($why), so Python Hypha is not installed; see .local/hypha/pip.log" > "$UNAVAILABLE"
    else
      echo "pip could not install the pins of scripts/hypha-requirements.txt ($(tail -n 1 "$DIR/pip.log" | cut -c1-200)); see .local/hypha/pip.log" > "$UNAVAILABLE"
    fi
    log "$(cat "$UNAVAILABLE")"
    return 0
  fi
  imports "$VENV/bin/python" || { echo "pip installed hypha but 'import hypha, hypha_rpc' fails; see .local/hypha/pip.log" > "$UNAVAILABLE"; log "$(cat "$UNAVAILABLE")"; return 0; }
  cp "$PINS" "$DIR/pins"
  log "ready: $("$VENV/bin/python" -c 'import hypha; print("hypha", hypha.__version__)')"
}

path() {
  configured && return 0
  if imports "$VENV/bin/python" 2>/dev/null; then printf '%s\n' "$VENV/bin/python"; return 0; fi
  if [ -f "$UNAVAILABLE" ]; then cat "$UNAVAILABLE" >&2; else echo "no Python Hypha: run scripts/hypha-python.sh install (or set WSO_HYPHA_PYTHON)" >&2; fi
  return 1
}

case ${1:-} in
  install) install ;;
  path) path ;;
  *) echo "usage: scripts/hypha-python.sh install|path" >&2; exit 2 ;;
esac
