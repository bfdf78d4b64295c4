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


if sys.argv[1] == "--pid":
    print(f"{process_cpu(int(sys.argv[2])):.2f}")
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
if sys.argv[1] == "--await-backup":
    # a long poll over one connection: the gateway answers when the backup's view changes, so nothing is
    # asked while the dump runs (a curl every 50 ms, then a GET every 50 ms, took CPU from the dump being
    # measured, on the same two cores), and the end is seen the moment it is listed
    port, token, path = int(sys.argv[2]), sys.argv[3], sys.argv[4]
    until = sys.argv[5] if len(sys.argv) > 5 else "ended"
    connection = http.client.HTTPConnection("localhost", port, timeout=120)
    etag, view = None, None
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
            print(body)
            sys.exit(0)
        if not etag:
            time.sleep(0.05)
before = resource.getrusage(resource.RUSAGE_CHILDREN)
t0 = time.monotonic()
subprocess.run(["bash", "-o", "pipefail", "-c", sys.argv[1]], check=True)
wall = time.monotonic() - t0
after = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
print(f"{wall:.3f} {cpu:.2f}")
