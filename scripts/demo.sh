#!/usr/bin/env bash
# linebeat demo: a private Mosquitto, three simulated machines, one agent and
# the server, all on loopback.  Prints the board's URL; Ctrl-C stops
# everything it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

scripts/deps.sh
build build -DLB_WERROR=ON

work=$(mktemp -d /tmp/linebeat-demo.XXXXXX)
pids=()
cleanup() {
    trap - EXIT INT TERM
    echo
    echo "stopping (pids ${pids[*]:-none})"
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill "${pids[i]}" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    echo "logs and data kept in $work"
}
trap cleanup EXIT INT TERM

mqtt_port=${LB_MQTT_PORT:-$(free_port)}
http_port=${LB_HTTP_PORT:-$(free_port)}

cat >"$work/mosquitto.conf" <<CONF
listener $mqtt_port 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 0
CONF
/usr/sbin/mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
pids+=($!)
wait_port "$mqtt_port" || { echo "mosquitto did not start; see $work/mosquitto.log"; exit 1; }

cat >"$work/server.ini" <<CONF
[server]
db = $work/linebeat.db
http_bind = 127.0.0.1
http_port = $http_port
[mqtt]
url = tcp://127.0.0.1:$mqtt_port
CONF
# The web needs a login: a demo admin with a fresh random password, and a
# read-only board link for a TV (docs/web.md).
demo_pw=$(head -c 12 /dev/urandom | base64 | tr -d '/+=' | cut -c1-14)
echo "$demo_pw" | build/server/linebeat-server -c "$work/server.ini" \
    --add-user admin --role admin >/dev/null
tv_path=$(build/server/linebeat-server -c "$work/server.ini" --add-board-link "Demo TV")
build/server/linebeat-server -c "$work/server.ini" -f >"$work/server.log" 2>&1 &
pids+=($!)

# Three machines: a fast press, a moulding machine with 16-bit counters
# that wrap, and a packer that stops now and then.
sims=("press-1 sim 1200 0.02 120 20" "mould-2 sim16 2500 0.05 300 40" "packer-3 sim 800 0.01 60 15")
machines=""
for s in "${sims[@]}"; do
    read -r name profile cycle scrap mtbs mtts <<<"$s"
    port=$(free_port)
    build/devices/sim/linebeat-sim --port "$port" --profile "devices/profiles/$profile.ini" \
        --cycle-ms "$cycle" --scrap-ratio "$scrap" --mtbs "$mtbs" --mtts "$mtts" \
        --seed "$port" >"$work/$name.log" 2>&1 &
    pids+=($!)
    wait_port "$port" || { echo "simulator $name did not start; see $work/$name.log"; exit 1; }
    machines+="
[machine $name]
profile = $profile
host = 127.0.0.1
port = $port
ideal_cycle_ms = $cycle
interval_ms = 1000
"
done

cat >"$work/agent.ini" <<CONF
[agent]
id = demo-cell
site = demo
state_dir = $work/agent-state
run_dir = $work/agent-state
profiles_dir = $PWD/devices/profiles
[mqtt]
url = tcp://127.0.0.1:$mqtt_port
[spool]
commit_ms = 1000
$machines
CONF
build/agent/linebeat-agent -c "$work/agent.ini" -f >"$work/agent.log" 2>&1 &
pids+=($!)
wait_port "$http_port" || { echo "server did not start; see $work/server.log"; exit 1; }

# Plant data a real site would enter once: a line with three shifts on
# every day, and two orders running, so the board shows order progress and
# each shift's OEE from the first minute (the API, as an admin would).
LB_URL="http://127.0.0.1:$http_port" LB_PW="$demo_pw" python3 - <<'PY' ||
import json, os, time, urllib.request

url, jar = os.environ["LB_URL"], {}


def call(path, method="GET", body=None):
    h = {"Content-Type": "application/json"}
    if "cookie" in jar:
        h["Cookie"], h["X-CSRF-Token"] = jar["cookie"], jar["csrf"]
    req = urllib.request.Request(url + path, method=method, headers=h,
                                 data=json.dumps(body).encode() if body else None)
    with urllib.request.urlopen(req, timeout=10) as r:
        if path == "/api/v1/login":
            jar["cookie"] = r.headers["Set-Cookie"].split(";", 1)[0]
        return json.loads(r.read() or b"null")


jar["csrf"] = call("/api/v1/login", "POST", {"user": "admin",
                                             "password": os.environ["LB_PW"]})["csrf"]
want = {"press-1", "mould-2", "packer-3"}
for _ in range(60):  # the agent's first commit lists the machines
    if want <= {m["id"] for m in call("/api/v1/machines")}:
        break
    time.sleep(0.5)
line = call("/api/v1/lines", "POST", {"name": "Hall 1"})["id"]
for m in sorted(want):
    call("/api/v1/machines/" + m, "PUT", {"line_id": line})
for wd in range(1, 8):
    for name, a, b in (("Early", "06:00", "14:00"), ("Late", "14:00", "22:00"),
                       ("Night", "22:00", "06:00")):
        call("/api/v1/shifts", "POST", {"line_id": line, "name": name, "weekday": wd,
                                        "start": a, "end": b,
                                        "valid_from": time.strftime("%Y-%m-%d",
                                                                    time.gmtime(time.time() - 86400))})
for number, qty, m in (("WO-1001", 500, "press-1"), ("WO-1002", 200, "mould-2")):
    o = call("/api/v1/orders", "POST", {"number": number, "quantity": qty})
    call("/api/v1/orders/%d/start" % o["id"], "POST", {"machine": m})
PY
    echo "demo: could not enter the plant data (see $work/server.log); the board still fills"

cat <<MSG

  linebeat demo is running.

  board:   http://127.0.0.1:$http_port/   (user admin, password $demo_pw)
  TV:      http://127.0.0.1:$http_port$tv_path   (no login)
  API:     http://127.0.0.1:$http_port/api/v1/machines   (after POST /api/v1/login)
  broker:  mqtt://127.0.0.1:$mqtt_port
           watch it: mosquitto_sub -h 127.0.0.1 -p $mqtt_port -t 'linebeat/#' -v
  files:   $work (logs, configs, database)

  Press Ctrl-C to stop.
MSG
wait
