# Shared by the kill-loop tests (kill_build.sh, kill_renew.sh,
# kill_revoke.sh), after lib.sh: start a command with the test build of the
# module (CS_HOOKS_CPATH: pki.test_hooks, core/journal.h), SIGKILL it at a
# random moment, then check the chain folder as the next run leaves it
# (check_chain.lua). Half the rounds pause before each file takes its name,
# so kills land between the commit and the last name too.
chain=$tmp/chain
seen=$tmp/seen
mkdir -p "$seen"
rounds=${CS_KILL_ROUNDS:-10}
in_window=0
old_kept=0
new_whole=0

journals() {
    ls -A "$chain/pending" 2>/dev/null | grep -c '\.journal$'
}

checked() {
    lua "$repo/tests/e2e/check_chain.lua" "$repo" "$chain" "$seen"
}

# How long a run lasts, in ms, plain and with the pause (each test sets
# them from its command): kills land anywhere from 20 ms to there.
plain_ms=${plain_ms:-400}
paused_ms=${paused_ms:-2000}

# kill_round ROUND WHAT SCRIPT ARGS...: run SCRIPT (a Lua file), kill it at
# a random moment (in the paused rounds: a random moment once a journal is
# open), then check. WHAT names the file whose fingerprint tells
# the old folder from the new.
kill_round() {
    local round=$1 what=$2 delay=0 span=$plain_ms pause ms before after pid
    shift 2
    if [ $((round % 2)) -eq 0 ]; then delay=150000 span=$paused_ms; fi
    ms=$((20 + RANDOM % (span - 20)))
    pause=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
    before=$(sha256sum <"$chain/$what")
    # A plain command, not a function: $! must be the interpreter.
    LUA_CPATH="$CS_HOOKS_CPATH;;" LD_PRELOAD=$lua_preload "$LUA" \
        -e "require('pki').test_hooks.place_delay($delay)" "$@" >"$tmp/k.out" 2>"$tmp/k.err" &
    pid=$!
    if [ "$delay" -gt 0 ]; then
        # Paused rounds: wait for a journal (the window the pause widens),
        # then kill inside it; a random moment alone could miss it on a
        # slow machine (seen once in a fresh chroot: 0 of 10).
        local waited=0
        while [ "$(journals)" -eq 0 ] && [ "$waited" -lt "$span" ] &&
              kill -0 "$pid" 2>/dev/null; do
            sleep 0.01
            waited=$((waited + 10))
        done
        ms=$((waited + RANDOM % 10))
        pause=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
        sleep "0.00$((RANDOM % 10))"
    else
        sleep "$pause"
    fi
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    [ "$(journals)" -gt 0 ] && in_window=$((in_window + 1))
    # a test's own look at what the kill left outside the chain folder
    if declare -F after_kill >/dev/null; then after_kill "$round"; fi
    equal "round $round: integrity" "$(sqlite3 "$chain/ca.db" 'pragma integrity_check')" ok
    check "round $round: the folder after the next run's recovery" checked
    after=$(sha256sum <"$chain/$what")
    if [ "$before" = "$after" ]; then old_kept=$((old_kept + 1)); else new_whole=$((new_whole + 1)); fi
    echo "round $round: pause ${delay}us, killed after ${pause}s: $(cat "$tmp/last.out")"
}

# After the rounds: some kill landed with a journal open, and the command
# still runs to the end.
kill_summary() {
    if [ "$in_window" -gt 0 ]; then ok; else bad "no kill landed while a journal was open"; fi
    echo "kills with a journal open: $in_window of $rounds; old folder $old_kept, new $new_whole"
}
