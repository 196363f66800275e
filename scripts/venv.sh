# shellcheck shell=bash
# Sourced by scripts/demo and tests/run: create or refresh the project virtualenv (.venv) from
# test-requirements.txt, then activate it. Re-installs only when the requirement files change.
vectorops_venv() {
    local repo venv python stamp want
    repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    venv="${VECTOROPS_VENV:-$repo/.venv}"
    python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
    stamp="$venv/.requirements.sha256"
    want="$(cat "$repo/requirements.txt" "$repo/test-requirements.txt" | sha256sum | cut -d' ' -f1)"
    if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        echo "[venv] installing test requirements into $venv (first run takes a few minutes)" >&2
        "$python" -m venv "$venv"
        # (grep: some machines carry a pip.conf with unreachable extra indexes; pip warns per package)
        "$venv/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location 'file:" >&2 || true
        "$venv/bin/python" -m pip install -q -r "$repo/test-requirements.txt" 2>&1 \
            | grep -v "^WARNING: Location 'file:" >&2 || true
        "$venv/bin/python" -m pip check >&2
        echo "$want" > "$stamp"
    fi
    # shellcheck disable=SC1091
    . "$venv/bin/activate"
}
