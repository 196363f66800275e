# shellcheck shell=bash
# Sourced by scripts/demo and tests/run: create or refresh the project virtualenv (.venv) from
# test-requirements.txt, then activate it. Re-installs only when the requirement files change.
# pip's own output goes to .venv/pip-install.log; a line every 15 s says how far it got.
vectorops_venv() {
    local repo venv python stamp want log
    repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    venv="${VECTOROPS_VENV:-$repo/.venv}"
    python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
    stamp="$venv/.requirements.sha256"
    want="$(cat "$repo/requirements.txt" "$repo/test-requirements.txt" | sha256sum | cut -d' ' -f1)"
    if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        echo "[venv] creating $venv with $("$python" --version 2>&1) and installing the pinned test requirements" >&2
        echo "[venv] (about 100 packages, 1 to 5 minutes the first time depending on the network; pip's log: $venv/pip-install.log)" >&2
        "$python" -m venv "$venv"
        log="$venv/pip-install.log"
        : > "$log"
        _vectorops_pip "$log" "$venv/bin/python" -m pip install --upgrade pip || return 1
        _vectorops_pip "$log" "$venv/bin/python" -m pip install -r "$repo/test-requirements.txt" || return 1
        "$venv/bin/python" -m pip check >&2
        echo "$want" > "$stamp"
        echo "[venv] ready: $("$venv/bin/python" -m pip list 2>/dev/null | tail -n +3 | wc -l) packages" >&2
    fi
    # shellcheck disable=SC1091
    . "$venv/bin/activate"
}

# Run a pip command with its output in $1; report progress every 15 s; show the log's end on failure.
_vectorops_pip() {
    local log="$1" pid rc=0 waited=0 fetched first
    shift
    first=$(($(wc -l < "$log") + 1))  # this command's lines only
    "$@" >>"$log" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        sleep 1
        waited=$((waited + 1))
        if [ $((waited % 15)) = 0 ]; then
            fetched=$(tail -n "+$first" "$log" | grep -c '^Collecting ' || true)
            if tail -n "+$first" "$log" | grep -q '^Installing collected packages'; then
                echo "[venv] ${waited}s: installing the ${fetched} packages fetched" >&2
            else
                echo "[venv] ${waited}s: ${fetched} packages fetched so far" >&2
            fi
        fi
    done
    wait "$pid" || rc=$?
    if [ "$rc" != 0 ]; then
        echo "[venv] pip failed (exit $rc); the end of $log:" >&2
        tail -n 30 "$log" >&2
    fi
    return "$rc"
}
