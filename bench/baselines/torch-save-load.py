"""The torch.save / torch.load baseline of `npm run bench` (driven by bench/baselines/torch.ts).

Usage: torch-save-load.py <src> <out> [reps]. Reads a bench tensor set (<src>.json index +
<src>.bin raw bytes) into one torch tensor per entry, then `reps` times: times only torch.save
into <out> plus flush, fsync of the file and of its directory (the durability engram gives),
drops the file from the page cache, and times torch.load. Prints JSON with per-rep lists.
Run with Debian's /usr/bin/python3 and python3-torch (`npm run bench:setup`).
"""
import json
import os
import sys
import time

import torch

DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16, "F64": torch.float64}


def drop_cache(path):
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("1")
        return "drop_caches"
    except OSError:
        pass
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
        return "posix_fadvise(DONTNEED)"
    except OSError:
        return "none (reads may be warm)"


def main():
    src, out = sys.argv[1], sys.argv[2]
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    with open(src + ".json") as f:
        index = json.load(f)
    tensors = {}
    raw = 0
    with open(src + ".bin", "rb", buffering=0) as f:
        for s in index["slots"]:
            buf = bytearray(s["byteLength"])
            f.seek(s["offset"])
            f.readinto(buf)
            tensors[s["name"]] = torch.frombuffer(buf, dtype=DTYPES[s["dtype"]]).reshape(s["shape"])
            raw += s["byteLength"]

    saves, fsyncs, loads, exact, size, method = [], [], [], True, 0, ""
    save_cpu, load_cpu = [], []
    for _ in range(reps):
        os.sync()  # earlier writes' writeback is not this save's cost
        c0 = time.process_time()
        t0 = time.perf_counter()
        with open(out, "wb") as f:
            torch.save(tensors, f)
            f.flush()
            t_written = time.perf_counter()
            os.fsync(f.fileno())
        dfd = os.open(os.path.dirname(os.path.abspath(out)), os.O_RDONLY)
        os.fsync(dfd)
        os.close(dfd)
        t_saved = time.perf_counter()
        save_cpu.append(time.process_time() - c0)
        saves.append(t_saved - t0)
        fsyncs.append(t_saved - t_written)
        size = os.path.getsize(out)

        method = drop_cache(out)
        c0 = time.process_time()
        t0 = time.perf_counter()
        loaded = torch.load(out)
        loads.append(time.perf_counter() - t0)
        load_cpu.append(time.process_time() - c0)
        exact = exact and len(loaded) == len(tensors) and all(torch.equal(loaded[k], v) for k, v in tensors.items())
        del loaded
        os.remove(out)
    print(json.dumps({
        "torch": torch.__version__,
        "rawBytes": raw,
        "fileBytes": size,
        "saveSeconds": saves,
        "fsyncSeconds": fsyncs,
        "loadSeconds": loads,
        "coldCache": method,
        "exact": exact,
        "cpuSeconds": time.process_time(),
        "saveCpuSeconds": save_cpu,
        "loadCpuSeconds": load_cpu,
    }))


if __name__ == "__main__":
    main()
