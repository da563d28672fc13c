"""fork() after csoftmax ran on several threads.

GNU OpenMP's worker threads do not survive fork(): a child whose parent had
started them waited for them forever in its first multi-threaded call
(os.fork, multiprocessing's "fork" start method, the Linux default before
Python 3.14). A child forked after a parallel region now runs on one thread
(config()["forked_single_thread"], get_num_threads() == 1) and gives the same
results; a child of a parent that never started a team keeps its threads.

Each case runs in a fresh interpreter (the parent), which forks; a child that
hangs is killed after a timeout and the case fails.
"""
import json
import os
import subprocess
import sys
import textwrap

import pytest

import csoftmax

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() on this platform"),
    pytest.mark.skipif(not csoftmax.config()["openmp"], reason="built without OpenMP"),
]

COMMON = """
import json, os, signal, sys, time
import numpy as np
import csoftmax

x = np.random.default_rng(0).standard_normal((4096, 1024)).astype(np.float32)
csoftmax.set_num_threads(1)
want = csoftmax.softmax(x).tobytes()  # one thread: the same bits as any number
csoftmax.set_num_threads(0)


def child_report():
    got = csoftmax.softmax(x).tobytes()
    return {"equal": got == want, "threads": csoftmax.get_num_threads(),
            "forked_single_thread": csoftmax.config()["forked_single_thread"]}


def fork_and_wait(timeout=20.0):
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            os.write(write_end, json.dumps(child_report()).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            with os.fdopen(read_end, "rb") as f:
                return json.loads(f.read() or b"null")
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    os.close(read_end)
    return "hung"
"""


def run_parent(body):
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    env.pop("CSOFTMAX_NUM_THREADS", None)
    code = COMMON + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_child_forked_after_a_parallel_region_runs_on_one_thread():
    result = run_parent("""
        assert csoftmax.get_num_threads() == 2
        csoftmax.softmax(x)  # a team of two threads starts here
        parent_flag = csoftmax.config()["forked_single_thread"]
        print(json.dumps({"parent_flag": parent_flag, "child": fork_and_wait()}))
    """)
    assert result["parent_flag"] is False
    child = result["child"]
    assert child != "hung", "the forked child hung in its first multi-threaded call"
    assert child == {"equal": True, "threads": 1, "forked_single_thread": True}


def test_child_of_a_parent_without_a_team_keeps_its_threads():
    result = run_parent("""
        print(json.dumps({"child": fork_and_wait()}))  # the parent only ran on one thread
    """)
    assert result["child"] == {"equal": True, "threads": 2, "forked_single_thread": False}


def test_multiprocessing_fork_pool_after_a_parallel_region():
    result = run_parent("""
        import multiprocessing as mp

        def job(i):
            return csoftmax.softmax(x).tobytes() == want and csoftmax.get_num_threads() == 1

        csoftmax.softmax(x)
        with mp.get_context("fork").Pool(2) as pool:
            try:
                answers = pool.map_async(job, range(4)).get(timeout=30)
            except mp.TimeoutError:
                answers = "hung"
        print(json.dumps({"answers": answers}))
    """)
    assert result["answers"] == [True, True, True, True]
