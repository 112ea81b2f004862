#!/usr/bin/env python3
"""The Python twin of multiproc's benchmarks: every workload of BENCHMARKS.md, measured with
CPython's multiprocessing (stdlib only), printed as one JSON line per workload on stdout.

    python3 twin.py [--reps N] [--warmup N] [--quick] [--list] [FILTER ...]

FILTER selects workloads whose id starts with it. Progress goes to stderr. A workload that fails
prints {"id": ..., "impl": "python", "error": ...} and the run goes on. Each figure is the median
(and min, max) of `reps` timed repetitions after `warmup` untimed ones. time.perf_counter() is
CLOCK_MONOTONIC on Linux, system-wide, so timestamps taken in different processes compare.
"""

import json
import multiprocessing as mp
import os
import statistics
import sys
import time

# --------------------------------------------------------------------------------------------
# targets (module level, so spawn and forkserver can import them)


def empty():
    pass


def square(x):
    return x * x


def cpu_task(n):
    return sum(i * i for i in range(n))


def q_producer(q, barrier, n, payload, out):
    barrier.wait()
    t0 = time.perf_counter()
    for _ in range(n):
        q.put(payload)
    out.send(t0)
    out.close()


def q_consumer(q, barrier, n, out):
    barrier.wait()
    for _ in range(n):
        q.get()
    out.send(time.perf_counter())
    out.close()


def pipe_echo(conn, n, use_bytes):
    if use_bytes:
        for _ in range(n):
            conn.send_bytes(conn.recv_bytes())
    else:
        for _ in range(n):
            conn.send(conn.recv())


def pipe_stream(conn, n, size):
    data = b"x" * size
    for _ in range(n):
        conn.send_bytes(data)
    conn.close()


def pin_to_cpu(k):
    """Keeps this process on the k-th CPU it may run on (counting round), as the Rust side does: two
    processes taking turns on one CPU never contend."""
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[k % len(cpus)]})


def contend(lock_value, barrier, n, cpu, out):
    pin_to_cpu(cpu)
    obj = lock_value.get_obj()
    barrier.wait()
    t0 = time.perf_counter()
    for _ in range(n):
        with lock_value.get_lock():
            obj.value += 1
    out.send((t0, time.perf_counter()))


def event_echo(ping, pong, n):
    for _ in range(n):
        ping.wait()
        ping.clear()
        pong.set()


def sem_echo(ping, pong, n):
    for _ in range(n):
        ping.acquire()
        pong.release()


def array_bulk(arr, out):
    import array as _array

    data = _array.array("d", range(len(arr)))
    t0 = time.perf_counter()
    with arr.get_lock():
        arr[:] = data
    out.send((time.perf_counter() - t0) * 1e3)


def array_per_element(arr, out):
    n = len(arr)
    t0 = time.perf_counter()
    with arr.get_lock():
        for i in range(n):
            arr[i] = float(i)
    out.send((time.perf_counter() - t0) * 1e3)


def span(intervals):
    """How long processes that each report (start, end) on the shared clock took together: from the
    first start to the last end, so a process that ran alone while the other waited to be scheduled
    does not count as contention."""
    return max(e for _, e in intervals) - min(s for s, _ in intervals)


def manager_updates(d, key, n, barrier, cpu, out):
    pin_to_cpu(cpu)
    barrier.wait()
    t0 = time.perf_counter()
    for i in range(n):
        d[key] = i
    out.send((t0, time.perf_counter()))


# --------------------------------------------------------------------------------------------
# harness

OPTS = {"reps": 5, "warmup": 1, "quick": False}


def size(full, quick):
    return quick if OPTS["quick"] else full


def measure(sample):
    for _ in range(OPTS["warmup"]):
        sample()
    return [sample() for _ in range(max(1, OPTS["reps"]))]


def stats(samples):
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples)}


def figure(wid, unit, better, n, samples, extra=None):
    out = {"id": wid, "impl": "python", "unit": unit, "better": better, "n": n, "samples": samples}
    out.update(stats(samples))
    out["extra"] = {k: stats(v) for k, v in (extra or {}).items()}
    return out


def run_and_join(procs):
    try:
        for p in procs:
            p.start()
    finally:
        for p in procs:
            p.join()


# --------------------------------------------------------------------------------------------
# workloads


def spawn_seq(method):
    def w():
        ctx = mp.get_context(method)
        n = size(40 if method == "spawn" else 200, 10)
        # Python's spawn starts about 14 processes a second here: fewer, and two repetitions.
        reps = 2 if method == "spawn" and not OPTS["quick"] else None

        def sample():
            t0 = time.perf_counter()
            for _ in range(n):
                p = ctx.Process(target=empty)
                p.start()
                p.join()
            return n / (time.perf_counter() - t0)

        if reps:
            samples = [sample() for _ in range(reps)]
        else:
            samples = measure(sample)
        return figure(f"spawn_seq/{method}", "proc/s", "higher", n, samples)

    return w


def spawn_conc(method):
    def w():
        ctx = mp.get_context(method)
        batches = size(2 if method == "spawn" else 12, 1)

        def sample():
            t0 = time.perf_counter()
            for _ in range(batches):
                ps = [ctx.Process(target=empty) for _ in range(16)]
                run_and_join(ps)
            return batches * 16 / (time.perf_counter() - t0)

        samples = [sample() for _ in range(2)] if method == "spawn" and not OPTS["quick"] else measure(sample)
        return figure(f"spawn_conc/{method}", "proc/s", "higher", batches * 16, samples)

    return w


def queue_workload(wid, payload, n_full, simple=False, producers=1, consumers=1):
    def w():
        n = size(n_full, max(1000, n_full // 50))
        per_p, per_c = n // producers, n // consumers
        rates, mbs = [], []

        def sample():
            q = mp.SimpleQueue() if simple else mp.Queue()
            barrier = mp.Barrier(producers + consumers)
            pipes, procs = [], []
            for _ in range(producers):
                r, s = mp.Pipe(duplex=False)
                pipes.append(("p", r))
                procs.append(mp.Process(target=q_producer, args=(q, barrier, per_p, payload, s)))
            for _ in range(consumers):
                r, s = mp.Pipe(duplex=False)
                pipes.append(("c", r))
                procs.append(mp.Process(target=q_consumer, args=(q, barrier, per_c, s)))
            for p in procs:
                p.start()
            starts = [r.recv() for k, r in pipes if k == "p"]
            ends = [r.recv() for k, r in pipes if k == "c"]
            for p in procs:
                p.join()
            dt = max(ends) - min(starts)
            rates.append(n / dt)
            mbs.append(n * len(payload) / dt / 1e6 if isinstance(payload, bytes) else 0.0)
            return n / dt

        for _ in range(OPTS["warmup"]):
            sample()
        rates.clear()
        mbs.clear()
        samples = [sample() for _ in range(max(1, OPTS["reps"]))]
        extra = {"MB/s": mbs} if isinstance(payload, bytes) else None
        return figure(wid, "items/s", "higher", n, samples, extra)

    return w


def pipe_rtt(use_bytes):
    def w():
        n = size(20_000, 2_000)
        runs = []

        def sample():
            a, b = mp.Pipe()
            p = mp.Process(target=pipe_echo, args=(b, n, use_bytes))
            p.start()
            msg = b"x" * 8 if use_bytes else 12345
            best = float("inf")
            t0 = time.perf_counter()
            for _ in range(n):
                r = time.perf_counter()
                if use_bytes:
                    a.send_bytes(msg)
                    a.recv_bytes()
                else:
                    a.send(msg)
                    a.recv()
                best = min(best, time.perf_counter() - r)
            mean = (time.perf_counter() - t0) / n * 1e6
            p.join()
            runs.append(best * 1e6)
            return mean

        for _ in range(OPTS["warmup"]):
            sample()
        runs.clear()
        samples = [sample() for _ in range(max(1, OPTS["reps"]))]
        wid = "pipe_rtt/bytes8" if use_bytes else "pipe_rtt/typed"
        return figure(wid, "µs", "lower", n, samples, {"best_rtt_us": runs})

    return w


def pipe_stream_workload(wid, msg_size, duplex, n_full):
    def w():
        n = size(n_full, max(100, n_full // 20))
        mbs = []

        def sample():
            if duplex:
                a, b = mp.Pipe(duplex=True)
            else:
                a, b = mp.Pipe(duplex=False)
            p = mp.Process(target=pipe_stream, args=(b, n, msg_size))
            p.start()
            b.close()
            t0 = time.perf_counter()
            for _ in range(n):
                a.recv_bytes()
            dt = time.perf_counter() - t0
            p.join()
            mbs.append(n * msg_size / dt / 1e6)
            return n / dt

        for _ in range(OPTS["warmup"]):
            sample()
        mbs.clear()
        samples = [sample() for _ in range(max(1, OPTS["reps"]))]
        return figure(wid, "msg/s", "higher", n, samples, {"MB/s": mbs})

    return w


def lock_2proc():
    n = size(100_000, 10_000)

    def sample():
        v = mp.Value("q", 0)
        barrier = mp.Barrier(2)
        pipes, ends, procs = [], [], []
        for k in range(2):
            r, s = mp.Pipe(duplex=False)
            pipes.append(r)
            ends.append(s)
            procs.append(mp.Process(target=contend, args=(v, barrier, n, k, s)))
        for p in procs:
            p.start()
        for w in ends:
            w.close()  # ours: a child that dies is then an EOFError here, not a hang
        together = span([r.recv() for r in pipes])
        for p in procs:
            p.join()
        if v.value != 2 * n:
            raise RuntimeError(f"lost updates: {v.value} of {2 * n}")
        return 2 * n / together

    return figure("lock_contention/2proc", "ops/s", "higher", 2 * n, measure(sample))


def lock_1proc():
    n = size(100_000, 10_000)

    def sample():
        v = mp.Value("q", 0)
        barrier = mp.Barrier(1)
        r, s = mp.Pipe(duplex=False)
        p = mp.Process(target=contend, args=(v, barrier, n, 0, s))
        p.start()
        s.close()  # ours: a child that dies is then an EOFError here, not a hang
        dt = span([r.recv()])
        p.join()
        return n / dt

    return figure("lock_contention/1proc", "ops/s", "higher", n, measure(sample))


def rtt_workload(wid, kind):
    def w():
        n = size(10_000, 1_000)
        bests = []

        def sample():
            if kind == "event":
                ping, pong = mp.Event(), mp.Event()
                p = mp.Process(target=event_echo, args=(ping, pong, n))
            else:
                ping, pong = mp.Semaphore(0), mp.Semaphore(0)
                p = mp.Process(target=sem_echo, args=(ping, pong, n))
            p.start()
            best = float("inf")
            t0 = time.perf_counter()
            for _ in range(n):
                r = time.perf_counter()
                if kind == "event":
                    ping.set()
                    pong.wait()
                    pong.clear()
                else:
                    ping.release()
                    pong.acquire()
                best = min(best, time.perf_counter() - r)
            mean = (time.perf_counter() - t0) / n * 1e6
            p.join()
            bests.append(best * 1e6)
            return mean

        for _ in range(OPTS["warmup"]):
            sample()
        bests.clear()
        samples = [sample() for _ in range(max(1, OPTS["reps"]))]
        return figure(wid, "µs", "lower", n, samples, {"best_rtt_us": bests})

    return w


def array_workload(wid, target):
    def w():
        n = size(1_000_000, 100_000)

        def sample():
            arr = mp.Array("d", n)
            r, s = mp.Pipe(duplex=False)
            p = mp.Process(target=target, args=(arr, s))
            p.start()
            ms = r.recv()
            p.join()
            return ms

        return figure(wid, "ms", "lower", n, measure(sample))

    return w


def pool_map_chunk1():
    n = size(20_000, 2_000)
    with mp.Pool(2) as pool:
        pool.map(square, range(100))

        def sample():
            t0 = time.perf_counter()
            pool.map(square, range(n), chunksize=1)
            return n / (time.perf_counter() - t0)

        return figure("pool_map_chunk1", "tasks/s", "higher", n, measure(sample))


def pool_map_default():
    n = size(100_000, 10_000)
    with mp.Pool(2) as pool:
        pool.map(square, range(100))

        def sample():
            t0 = time.perf_counter()
            pool.map(square, range(n))
            return n / (time.perf_counter() - t0)

        return figure("pool_map_default", "tasks/s", "higher", n, measure(sample))


def pool_apply_rtt():
    n = size(2_000, 200)
    bests = []
    with mp.Pool(2) as pool:
        pool.apply(square, (1,))

        def sample():
            best = float("inf")
            t0 = time.perf_counter()
            for x in range(n):
                r = time.perf_counter()
                pool.apply_async(square, (x,)).get()
                best = min(best, time.perf_counter() - r)
            bests.append(best * 1e6)
            return (time.perf_counter() - t0) / n * 1e6

        for _ in range(OPTS["warmup"]):
            sample()
        bests.clear()
        samples = [sample() for _ in range(max(1, OPTS["reps"]))]
        return figure("pool_apply_rtt", "µs", "lower", n, samples, {"best_rtt_us": bests})


def pool_startup():
    def sample():
        t0 = time.perf_counter()
        pool = mp.Pool(2)
        pool.apply(square, (3,))
        pool.close()
        pool.join()
        return (time.perf_counter() - t0) * 1e3

    return figure("pool_startup", "ms", "lower", 1, measure(sample))


def pool_cpu():
    tasks = [size(200_000, 20_000)] * 64
    serial, parallel = [], []

    def sample():
        # As the Rust side: both workers warm before the clock, the serial run right after.
        with mp.Pool(2) as pool:
            pool.apply(square, (1,))
            pool.map(cpu_task, tasks[:16])
            t0 = time.perf_counter()
            pool.map(cpu_task, tasks)
            p = time.perf_counter() - t0
        t0 = time.perf_counter()
        for t in tasks:
            cpu_task(t)
        s = time.perf_counter() - t0
        serial.append(s * 1e3)
        parallel.append(p * 1e3)
        return s / p

    for _ in range(OPTS["warmup"]):
        sample()
    serial.clear()
    parallel.clear()
    samples = [sample() for _ in range(max(1, OPTS["reps"]))]
    return figure("pool_cpu", "x", "higher", len(tasks), samples, {"serial_ms": serial, "pool_ms": parallel})


def manager_dict_rtt():
    n = size(5_000, 500)
    with mp.Manager() as m:
        d = m.dict()

        def sample():
            t0 = time.perf_counter()
            for i in range(n):
                d["k"] = i
            return (time.perf_counter() - t0) / n * 1e6

        return figure("manager_dict/rtt", "µs", "lower", n, measure(sample))


def manager_dict_2proc():
    n = size(5_000, 500)
    with mp.Manager() as m:
        d = m.dict()

        def sample():
            barrier = mp.Barrier(2)
            pipes, ends, procs = [], [], []
            for k in range(2):
                r, s = mp.Pipe(duplex=False)
                pipes.append(r)
                ends.append(s)
                procs.append(mp.Process(target=manager_updates, args=(d, f"key{k}", n, barrier, k, s)))
            for p in procs:
                p.start()
            for w in ends:
                w.close()  # ours: a child that dies is then an EOFError here, not a hang
            together = span([r.recv() for r in pipes])
            for p in procs:
                p.join()
            return 2 * n / together

        return figure("manager_dict/2proc", "updates/s", "higher", 2 * n, measure(sample))


WORKLOADS = [
    ("spawn_seq/spawn", spawn_seq("spawn")),
    ("spawn_seq/fork", spawn_seq("fork")),
    ("spawn_seq/forkserver", spawn_seq("forkserver")),
    ("spawn_conc/spawn", spawn_conc("spawn")),
    ("spawn_conc/fork", spawn_conc("fork")),
    ("spawn_conc/forkserver", spawn_conc("forkserver")),
    ("queue_8b", queue_workload("queue_8b", 12345, 100_000)),
    ("queue_1k", queue_workload("queue_1k", b"x" * 1024, 100_000)),
    ("queue_64k", queue_workload("queue_64k", b"x" * 65536, 10_000)),
    ("queue_1m", queue_workload("queue_1m", b"x" * 1048576, 1_000)),
    ("queue_2p2c_8b", queue_workload("queue_2p2c_8b", 12345, 100_000, producers=2, consumers=2)),
    ("queue_2p2c_1k", queue_workload("queue_2p2c_1k", b"x" * 1024, 100_000, producers=2, consumers=2)),
    ("simplequeue_8b", queue_workload("simplequeue_8b", 12345, 100_000, simple=True)),
    ("simplequeue_1k", queue_workload("simplequeue_1k", b"x" * 1024, 100_000, simple=True)),
    ("pipe_rtt/typed", pipe_rtt(False)),
    ("pipe_rtt/bytes8", pipe_rtt(True)),
    ("pipe_1k/socketpair", pipe_stream_workload("pipe_1k/socketpair", 1024, True, 200_000)),
    ("pipe_1k/pipe", pipe_stream_workload("pipe_1k/pipe", 1024, False, 200_000)),
    ("pipe_1m/socketpair", pipe_stream_workload("pipe_1m/socketpair", 1048576, True, 2_000)),
    ("pipe_1m/pipe", pipe_stream_workload("pipe_1m/pipe", 1048576, False, 2_000)),
    ("lock_contention/2proc", lock_2proc),
    ("lock_contention/1proc", lock_1proc),
    ("event_rtt", rtt_workload("event_rtt", "event")),
    ("sem_rtt", rtt_workload("sem_rtt", "sem")),
    ("array_write/bulk", array_workload("array_write/bulk", array_bulk)),
    ("array_write/per_element", array_workload("array_write/per_element", array_per_element)),
    ("pool_map_chunk1", pool_map_chunk1),
    ("pool_map_default", pool_map_default),
    ("pool_apply_rtt", pool_apply_rtt),
    ("pool_startup", pool_startup),
    ("pool_cpu", pool_cpu),
    ("manager_dict/rtt", manager_dict_rtt),
    ("manager_dict/2proc", manager_dict_2proc),
]


def main(argv):
    filters = []
    it = iter(argv)
    for a in it:
        if a == "--quick":
            OPTS.update(quick=True, reps=2, warmup=0)
        elif a == "--reps":
            OPTS["reps"] = int(next(it))
        elif a == "--warmup":
            OPTS["warmup"] = int(next(it))
        elif a == "--list":
            for wid, _ in WORKLOADS:
                print(wid)
            return 0
        elif not a.startswith("--"):
            filters.append(a)
    for wid, fn in WORKLOADS:
        if filters and not any(wid.startswith(f) for f in filters):
            continue
        print(f"bench: {wid} (python)", file=sys.stderr, flush=True)
        try:
            out = fn()
        except Exception as e:  # one workload failing must not end the run
            out = {"id": wid, "impl": "python", "error": f"{type(e).__name__}: {e}"}
        print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
