# Shared helpers for the demo and benchmark scripts.

# A free TCP port on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_broker TANSU LOGFILE: starts Tansu on a free port, sets BROKER_PID and BROKERS, waits until it listens.
start_broker() {
    local tansu="$1" log="$2" port
    port="$(free_port)"
    "$tansu" broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
        --storage-engine memory://tansu/ >"$log" 2>&1 &
    BROKER_PID=$!
    BROKERS="127.0.0.1:$port"
    for _ in $(seq 1 150); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "the broker did not start; see $log" >&2
    return 1
}

# stop_pid PID [SECONDS]: SIGTERM, then SIGKILL after the grace period.
stop_pid() {
    local pid="$1" grace="${2:-10}"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 $((grace * 10))); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}
