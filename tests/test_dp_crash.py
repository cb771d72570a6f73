#!/usr/bin/env python3
"""The privacy ledger under kill -9, with real node processes.

A city of three (`ward sim up --nodes 3`) runs 200 differentially private
sessions (count, sum, mean, histogram) proposed by node1, while this
script kills a random node with SIGKILL at a random moment of about a third
of them (sometimes the proposer) and restarts it. Afterwards every node's
ledger must hold each session that was released exactly once: every session
whose result reached the caller or any output party (a "result" line in
any node's log) is charged at every party, no session is charged twice,
the ledger matches the audit log (`ward audit --verify`, `ward budget`), and
a query the spent budget cannot pay is refused naming the table and class.

usage: test_dp_crash.py WARD [SESSIONS] [SEED]
Every wait is bounded; every process started is stopped on exit.
"""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

WARD = sys.argv[1]
SESSIONS = int(sys.argv[2]) if len(sys.argv) > 2 else 200
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else int.from_bytes(os.urandom(4), "big")
NODES = 3
EPS = 0.01
DELTA = 1e-7

rng = random.Random(SEED)
tmp = tempfile.mkdtemp(prefix="ward-dp-crash-")
city = os.path.join(tmp, "city")
started = []          # pids this script started (restarted nodes)
fails = 0
checks = 0


def check(desc, ok):
    global fails, checks
    checks += 1
    if not ok:
        fails += 1
        print("FAIL: " + desc, flush=True)


def ward(*args, timeout=30):
    try:
        p = subprocess.run([WARD, *args], capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return 124, "", "timed out"


def node_dir(k):
    return os.path.join(city, "node%d" % k)


def pid_of(k):
    try:
        with open(os.path.join(node_dir(k), "node.pid")) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 0


def alive(pid):
    if pid <= 0:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return ") Z" not in f.read()
    except OSError:
        return False


def start_node(k):
    log = open(os.path.join(node_dir(k), "node.log"), "a")
    p = subprocess.Popen([WARD, "node", "--config", os.path.join(node_dir(k), "node.conf")],
                         stdout=log, stderr=log, start_new_session=True)
    log.close()
    started.append(p)
    with open(os.path.join(node_dir(k), "node.pid"), "w") as f:
        f.write("%d\n" % p.pid)
    return p.pid


def kill9(k):
    pid = pid_of(k)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
        deadline = time.time() + 5
        while alive(pid) and time.time() < deadline:
            time.sleep(0.01)
    for p in started:       # reap our own children
        if p.pid == pid:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


def connected(k):
    rc, out, _ = ward("--node", node_dir(k), "status", "--json", timeout=5)
    if rc != 0:
        return False
    try:
        return json.loads(out)["peers_connected"] == NODES - 1
    except (ValueError, KeyError):
        return False


def wait_all_connected(limit):
    deadline = time.time() + limit
    while time.time() < deadline:
        if all(connected(k) for k in range(1, NODES + 1)):
            return True
        time.sleep(0.1)
    return False


def cleanup():
    ward("sim", "down", "--dir", city, timeout=20)
    for p in started:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
    shutil.rmtree(tmp, ignore_errors=True)


def main():
    t_start = time.time()
    print("dp-crash: seed %d, %d sessions" % (SEED, SESSIONS), flush=True)
    rc, out, err = ward("sim", "up", "--nodes", str(NODES), "--dir", city, timeout=90)
    check("sim up exits 0 (%s)" % err.strip(), rc == 0)
    if rc != 0:
        return
    # The same table on every node, with declared bounds.
    for k in range(1, NODES + 1):
        path = os.path.join(tmp, "trips%d.csv" % k)
        with open(path, "w") as f:
            f.write("ts,v\n")
            for j in range(200):
                f.write("2024-05-%02d %02d:%02d:00,%d\n" % (1 + j % 28, j % 24, j % 60,
                                                            (k * 31 + j * 17) % 101))
        rc, out, err = ward("--node", node_dir(k), "import", "trips", path, "--schema",
                            "v:integer[0,100],ts:timestamp")
        check("import on node%d (%s)" % (k, err.strip()), rc == 0)

    ops = [("count", "trips", []), ("sum", "trips.v", []), ("mean", "trips.v", []),
           ("histogram", "trips.v", ["--group-by", "hour(ts)"])]
    released = {}     # session id -> op, results seen by the caller
    failed = 0
    kills = 0
    proposer_kills = 0
    for i in range(SESSIONS):
        op, target, extra = ops[i % len(ops)]
        cmd = [WARD, "--node", node_dir(1), op, target, "--parties", "all", "--epsilon", str(EPS),
               "--delta", str(DELTA), "--json", *extra]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        victim = 0
        if rng.random() < 0.35:
            time.sleep(rng.random() * 0.03)
            victim = rng.choice([1, 2, 2, 3, 3])
            kill9(victim)
            kills += 1
            proposer_kills += victim == 1
        try:
            out, err = p.communicate(timeout=40)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        if p.returncode == 0:
            try:
                res = json.loads(out)
                sid = res["session"]
                check("session %s answered once" % sid[:16], sid not in released)
                check("a DP result carries its epsilon", res["epsilon"] is not None and
                      0 < res["epsilon"] <= EPS and res["delta"] == DELTA)
                released[sid] = op
            except (ValueError, KeyError) as e:
                check("result is JSON with a session (%s)" % e, False)
        else:
            failed += 1
        if victim:
            time.sleep(rng.random() * 0.3)
            start_node(victim)
            if not wait_all_connected(20):
                check("the city reconnects after node%d's restart" % victim, False)
    # Every node up and connected before reading the ledgers.
    for k in range(1, NODES + 1):
        if not alive(pid_of(k)):
            start_node(k)
    check("all nodes connected at the end", wait_all_connected(30))

    # Sessions that reached an output party, from every node's log.
    finished = set()
    for k in range(1, NODES + 1):
        with open(os.path.join(node_dir(k), "node.log"), errors="replace") as f:
            for line in f:
                m = re.search(r"session ([0-9a-f]{16}) \(\w+ trips[^)]*\): result ", line)
                if m:
                    finished.add(m.group(1))
    for sid in released:
        finished.add(sid[:16])

    spends = {}
    for k in range(1, NODES + 1):
        rc, out, err = ward("--node", node_dir(k), "audit", "--verify", "--json")
        check("node%d: audit --verify exits 0 (%s)" % (k, err.strip()), rc == 0)
        entries = []
        if rc == 0:
            d = json.loads(out)
            check("node%d: the audit chain is intact" % k, d.get("chain_ok", d.get("intact")) is True)
            entries = d.get("entries", [])
        mine = {}
        total = 0.0
        for e in entries:
            if e.get("event") != "spend":
                continue
            det = json.loads(e["detail"])
            check("node%d: session %s charged once" % (k, e["session"][:16]), e["session"] not in mine)
            mine[e["session"]] = det["rho"]
            total += det["rho"]
        spends[k] = mine
        prefixes = {s[:16] for s in mine}
        missing = [s for s in finished if s not in prefixes]
        check("node%d: every released session is charged (%d missing: %s)" %
              (k, len(missing), " ".join(missing[:3])), not missing)
        rc, out, err = ward("--node", node_dir(k), "budget", "--json")
        check("node%d: budget exits 0 (%s)" % (k, err.strip()), rc == 0)
        if rc == 0:
            rows = [t for t in json.loads(out)["tables"] if t["table"] == "trips"]
            check("node%d: one budget row for trips" % k, len(rows) == 1)
            if rows:
                r = rows[0]
                check("node%d: spent rho >= released rho (%g vs %g)" % (k, r["rho_spent"], total),
                      r["rho_spent"] >= total * (1 - 1e-12))
                check("node%d: ledger releases = audit spends" % k,
                      r["table_releases"] == len(mine))
                check("node%d: epsilon_spent within the class" % k,
                      0 < r["epsilon_spent"] <= r["epsilon_total"])

    # Exhaustion: the whole class's epsilon no longer fits.
    rc, out, err = ward("--node", node_dir(1), "count", "trips", "--parties", "all",
                        "--epsilon", "1.05", "--delta", "5e-6")
    check("a query beyond the budget exits 1", rc == 1)
    check("the refusal names the table and class (%s)" % err.strip(),
          "budget of class medium" in err and "table trips" in err and
          err.startswith("ward: error: "))

    charged = {k: len(spends.get(k, {})) for k in spends}
    print("dp-crash: %d sessions, %d answered, %d failed, %d kills (%d of the proposer); "
          "%d sessions reached an output party; spends per node %s; %.1f s" %
          (SESSIONS, len(released), failed, kills, proposer_kills, len(finished),
           " ".join("node%d=%d" % (k, charged[k]) for k in sorted(charged)),
           time.time() - t_start), flush=True)
    check("some sessions succeeded", len(released) >= SESSIONS // 4)
    check("some sessions were interrupted", failed > 0 or kills == 0)
    # An orderly stop; sanitizer builds report leaks and errors in the logs.
    rc, out, err = ward("sim", "down", "--dir", city, timeout=30)
    check("sim down exits 0", rc == 0)
    for k in range(1, NODES + 1):
        with open(os.path.join(node_dir(k), "node.log"), errors="replace") as f:
            text = f.read()
        check("node%d: no sanitizer report in its log" % k,
              "Sanitizer" not in text and "runtime error" not in text)


try:
    main()
finally:
    cleanup()
print("dp-crash: %d checks, %d failed" % (checks, fails))
sys.exit(1 if fails else 0)
