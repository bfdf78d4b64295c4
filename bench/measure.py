#!/usr/bin/env python3
"""Runs a shell pipeline and prints its wall seconds and CPU seconds (user + system of every process
of the pipeline, the dump tool, zstd and the shell included), e.g. `0.93 1.71`.

usage: bench/measure.py 'pg_dump -Fc -Z0 -d db | zstd -1 -T2 -q > f && sync f'
       bench/measure.py --pid PID   prints PID's CPU seconds so far, its reaped children included
       bench/measure.py --await-idle PID CORES WINDOW MAX
                                    waits until PID (reaped children included) used less than CORES cores
                                    over WINDOW seconds, at most MAX seconds: exit 0 once it did, 1 if not
       bench/measure.py --await-backup PORT TOKEN PATH [verified]
                                    waits, by long polls of PATH on localhost:PORT over one kept-alive
                                    connection, until the backup it shows is done or failed (with `verified`:
                                    until its restore test ended, or it failed), then prints its JSON
       bench/measure.py --tree PID  prints the CPU seconds so far of PID and every live process under it, reaped
                                    children included: a database server's, its backends and background
                                    processes with it
       bench/measure.py --backup PORT TOKEN PATH PID [untested | SERVER]
                                    asks for a backup (POST PATH), waits by long polls until it is listed
                                    done, then until its restore test ended (not with `untested`: 0 0), and
                                    prints `wall cpu size verify_wall verify_cpu id jit verify_server`: the two
                                    spans' wall seconds and PID's CPU seconds (reaped children included) over
                                    each, the CPU seconds of PID's JIT compiler threads over the first, and
                                    those of the scratch server whose pid is SERVER (--tree) over the second
                                    (0 without SERVER); exits non-zero with the backup's JSON if it failed
The pipeline runs with pipefail: a failed dump fails the benchmark.
"""
import http.client
import json
import os
import resource
import subprocess
import sys
import time


def process_cpu(pid):
    # /proc/PID/stat fields 14-17: utime, stime, cutime, cstime in clock ticks; the command name
    # (field 2) may hold spaces, so fields are counted after its closing parenthesis
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def tree_cpu(pid):
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parent = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            total += process_cpu(current)
        except OSError:
            continue  # exited meanwhile: its CPU is now its parent's, counted there unless read before
        todo.extend(children.get(current, []))
    return total


def jit_cpu(pid):
    # the C1 and C2 compiler threads ("C1 CompilerThre", as /proc shortens their names): with two cores the
    # JVM runs one of each and keeps them, so none of their CPU leaves with an exited thread
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if "CompilerThre" in stat[stat.index("(") + 1:stat.rindex(")")]:
            total += sum(int(v) for v in stat.rsplit(")", 1)[1].split()[11:13])
    return total / os.sysconf("SC_CLK_TCK")


if sys.argv[1] == "--pid":
    print(f"{process_cpu(int(sys.argv[2])):.2f}")
    sys.exit(0)
if sys.argv[1] == "--tree":
    print(f"{tree_cpu(int(sys.argv[2])):.2f}")
    sys.exit(0)
if sys.argv[1] == "--await-idle":
    pid, cores, window, most = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
    end = time.monotonic() + most
    while time.monotonic() < end:
        before = process_cpu(pid)
        time.sleep(window)
        if process_cpu(pid) - before < cores * window:
            sys.exit(0)
    sys.exit(1)
def await_backup(connection, token, path, until):
    """Long polls of PATH over CONNECTION until the backup is failed, done, or (until="verified") tested."""
    # the gateway answers when the backup's view changes, so nothing is asked while the dump runs (a curl
    # every 50 ms, then a GET every 50 ms, took CPU from the dump being measured, on the same two cores),
    # and the end is seen the moment it is listed
    etag = None
    while True:
        headers = {"Authorization": "Bearer " + token}
        if etag:
            headers["If-None-Match"] = etag
        connection.request("GET", path + ("?wait=30" if etag else ""), headers=headers)
        response = connection.getresponse()
        body = response.read().decode()
        if response.status == 304:
            continue
        if response.status != 200:
            sys.exit(f"GET {path}: {response.status} {body}")
        etag, view = response.getheader("ETag"), json.loads(body)
        if view["status"] == "failed" or (view["status"] == "done" and (until == "ended" or view.get("verified") is not None)):
            return view, body
        if not etag:
            time.sleep(0.05)


if sys.argv[1] == "--await-backup":
    port, token, path = int(sys.argv[2]), sys.argv[3], sys.argv[4]
    until = sys.argv[5] if len(sys.argv) > 5 else "ended"
    print(await_backup(http.client.HTTPConnection("localhost", port, timeout=120), token, path, until)[1])
    sys.exit(0)
if sys.argv[1] == "--backup":
    # one process from the request to the end of the restore test, started before either is timed: each
    # Python start-up (a third of a second of CPU through a version manager's shims) taken inside the span
    # came off the two cores the dump runs on, which the stock pipe's row never paid
    port, token, path, pid = int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
    connection = http.client.HTTPConnection("localhost", port, timeout=120)
    headers = {"Authorization": "Bearer " + token}
    j0, c0, t0 = jit_cpu(pid), process_cpu(pid), time.monotonic()
    connection.request("POST", path, headers=headers)
    response = connection.getresponse()
    body = response.read().decode()
    if response.status not in (200, 201, 202):
        sys.exit(f"POST {path}: {response.status} {body}")
    backup_id = json.loads(body)["id"]
    view, body = await_backup(connection, token, f"{path}/{backup_id}", "ended")
    t1, c1, j1 = time.monotonic(), process_cpu(pid), jit_cpu(pid)
    if view["status"] != "done":
        sys.exit(f"backup {backup_id} failed: {body}")
    if sys.argv[6:] == ["untested"]:
        print(f"{t1 - t0:.3f} {c1 - c0:.2f} {view['size']} 0 0 {backup_id} {j1 - j0:.2f} 0")
        sys.exit(0)
    server = int(sys.argv[6]) if sys.argv[6:] else None
    s1 = tree_cpu(server) if server else 0.0
    tested, body = await_backup(connection, token, f"{path}/{backup_id}", "verified")
    t2, c2 = time.monotonic(), process_cpu(pid)
    s2 = tree_cpu(server) if server else 0.0
    if tested.get("verified") is not True:
        print(f"restore test of backup {backup_id} failed: {body}", file=sys.stderr)
    print(f"{t1 - t0:.3f} {c1 - c0:.2f} {view['size']} {t2 - t1:.3f} {c2 - c1:.2f} {backup_id} {j1 - j0:.2f} {s2 - s1:.2f}")
    sys.exit(0)
before = resource.getrusage(resource.RUSAGE_CHILDREN)
t0 = time.monotonic()
subprocess.run(["bash", "-o", "pipefail", "-c", sys.argv[1]], check=True)
wall = time.monotonic() - t0
after = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
print(f"{wall:.3f} {cpu:.2f}")
