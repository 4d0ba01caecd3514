# Copyright: sparkops.llm maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Memory copy bandwidth, standard library + ctypes only.

Host: one thread per core, each copying between its own two buffers with ctypes.memmove
(a foreign call, so the GIL is released and all cores copy at once).
GPU: cudaMemcpy device-to-device through libcudart, timed with CUDA events.

Both count bytes read plus bytes written (2 x size per copy), which is how STREAM-style
"copy" figures and the Spark's ~273 GB/s LPDDR5x figure compare.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import threading
import time

MIB = 1024 * 1024

CUDA_MEMCPY_DEVICE_TO_DEVICE = 3

CUDART_CANDIDATES = (
    "/usr/local/cuda/lib64/libcudart.so",
    "/usr/local/cuda/lib64/libcudart.so.13",
    "/usr/local/cuda/lib64/libcudart.so.12",
    "/usr/local/cuda/targets/*/lib/libcudart.so",
    "/usr/local/cuda/targets/*/lib/libcudart.so.13",
    "/usr/local/cuda/targets/*/lib/libcudart.so.12",
    "/usr/local/cuda-*/targets/*/lib/libcudart.so.*",
    "/usr/lib/*-linux-gnu/libcudart.so.*",
)


class CudaUnavailable(RuntimeError):
    """No usable CUDA runtime (library missing, no device, or an API call failed)."""


# ---------------------------------------------------------------------------------------------
# pure arithmetic


def copy_gbps(bytes_per_copy, copies, seconds):
    """GB/s (10^9) counting read + write: 2 x bytes_per_copy x copies / seconds."""
    if seconds <= 0:
        raise ValueError(f"elapsed time must be positive, got {seconds}")
    return 2.0 * bytes_per_copy * copies / seconds / 1e9


def threshold_failure(kind, measured_gbps, required_gbps):
    """Message when measured < required (None when fine or no threshold)."""
    if not required_gbps or measured_gbps is None:
        return None
    if measured_gbps >= required_gbps:
        return None
    return (
        f"{kind} memory bandwidth {measured_gbps:.1f} GB/s is below the required "
        f"{required_gbps:.1f} GB/s (min_{kind}_gbps); check other load on the machine, "
        "power mode and memory configuration, or lower the threshold"
    )


def iterations_for_budget(bytes_per_copy, assumed_gbps, budget_s, minimum=1, maximum=50):
    """Timed iterations that fit ``budget_s`` at an assumed bandwidth (bounds run time)."""
    per_copy_s = 2.0 * bytes_per_copy / (assumed_gbps * 1e9)
    n = int(budget_s / per_copy_s) if per_copy_s > 0 else maximum
    return max(minimum, min(maximum, n))


# ---------------------------------------------------------------------------------------------
# host


def measure_host(buffer_mib=256, threads=0, iterations=0, time_budget_s=3.0):
    """Copy ``buffer_mib`` per thread between two private buffers, all threads at once.

    iterations=0 picks a count that fits ``time_budget_s`` from a warm-up measurement.
    """
    threads = threads or os.cpu_count() or 1
    if buffer_mib <= 0:
        raise ValueError(f"buffer_mib must be positive, got {buffer_mib}")
    # buffer_mib is the total source size, split over threads (each also has a destination)
    size = max(int(buffer_mib * MIB) // threads, 4096)
    bufs = [
        (ctypes.create_string_buffer(size), ctypes.create_string_buffer(size))
        for _ in range(threads)
    ]
    # touch every page so page faults are not timed
    for src, dst in bufs:
        ctypes.memset(src, 1, size)
        ctypes.memset(dst, 0, size)

    def run(n):
        barrier = threading.Barrier(threads + 1)

        def worker(src, dst):
            barrier.wait()
            for _ in range(n):
                ctypes.memmove(dst, src, size)

        pool = [threading.Thread(target=worker, args=pair) for pair in bufs]
        for t in pool:
            t.start()
        barrier.wait()
        start = time.perf_counter()
        for t in pool:
            t.join()
        return time.perf_counter() - start

    warm = run(1)
    if not iterations:
        per_iter = max(warm, 1e-6)
        iterations = max(1, min(100, int(time_budget_s / per_iter)))
    elapsed = run(iterations)
    total_bytes = size * threads
    return {
        "gbps": round(copy_gbps(total_bytes, iterations, elapsed), 2),
        "method": (
            f"host: {threads} threads x ctypes.memmove, {total_bytes / MIB:.0f} MiB total "
            f"({size / MIB:.1f} MiB per thread) x {iterations}, read+write counted"
        ),
        "bytes": total_bytes,
        "iterations": iterations,
        "threads": threads,
        "seconds": round(elapsed, 4),
    }


# ---------------------------------------------------------------------------------------------
# GPU


def find_cudart(explicit=None):
    """Path (or soname) of libcudart to load, or None."""
    if explicit:
        return explicit if os.path.exists(explicit) else None
    name = ctypes.util.find_library("cudart")
    if name:
        return name
    for pattern in CUDART_CANDIDATES:
        hits = sorted(glob.glob(pattern), reverse=True)
        if hits:
            return hits[0]
    return None


class _Cudart:
    def __init__(self, path):
        try:
            self.lib = ctypes.CDLL(path)
        except OSError as exc:
            raise CudaUnavailable(f"cannot load {path}: {exc}") from exc
        lib = self.lib
        lib.cudaGetErrorString.restype = ctypes.c_char_p
        lib.cudaGetErrorString.argtypes = [ctypes.c_int]
        lib.cudaMalloc.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_size_t]
        lib.cudaFree.argtypes = [ctypes.c_void_p]
        lib.cudaMemcpy.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        lib.cudaMemset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
        lib.cudaEventCreate.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
        lib.cudaEventRecord.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        lib.cudaEventSynchronize.argtypes = [ctypes.c_void_p]
        lib.cudaEventElapsedTime.argtypes = [
            ctypes.POINTER(ctypes.c_float),
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.cudaEventDestroy.argtypes = [ctypes.c_void_p]
        lib.cudaGetDeviceCount.argtypes = [ctypes.POINTER(ctypes.c_int)]
        lib.cudaRuntimeGetVersion.argtypes = [ctypes.POINTER(ctypes.c_int)]

    def check(self, rc, what):
        if rc != 0:
            msg = self.lib.cudaGetErrorString(rc)
            text = msg.decode() if msg else "unknown error"
            raise CudaUnavailable(f"{what} failed: {text} (cudaError {rc})")


def measure_gpu(buffer_mib=1024, iterations=0, cudart_path=None, time_budget_s=3.0):
    """Device-to-device cudaMemcpy bandwidth. Raises CudaUnavailable when it cannot run."""
    path = find_cudart(cudart_path)
    if not path:
        raise CudaUnavailable(
            "no CUDA runtime: libcudart not found (looked in the loader path, "
            "/usr/local/cuda/lib64 and /usr/local/cuda/targets/*/lib)"
        )
    rt = _Cudart(path)
    lib = rt.lib
    count = ctypes.c_int(0)
    rt.check(lib.cudaGetDeviceCount(ctypes.byref(count)), "cudaGetDeviceCount")
    if count.value < 1:
        raise CudaUnavailable("no CUDA device visible to the runtime")
    version = ctypes.c_int(0)
    lib.cudaRuntimeGetVersion(ctypes.byref(version))
    size = int(buffer_mib * MIB)
    src, dst = ctypes.c_void_p(), ctypes.c_void_p()
    start_ev, stop_ev = ctypes.c_void_p(), ctypes.c_void_p()
    try:
        rt.check(lib.cudaMalloc(ctypes.byref(src), size), f"cudaMalloc({size})")
        rt.check(lib.cudaMalloc(ctypes.byref(dst), size), f"cudaMalloc({size})")
        rt.check(lib.cudaMemset(src, 1, size), "cudaMemset")
        rt.check(lib.cudaEventCreate(ctypes.byref(start_ev)), "cudaEventCreate")
        rt.check(lib.cudaEventCreate(ctypes.byref(stop_ev)), "cudaEventCreate")

        def timed(n):
            rt.check(lib.cudaEventRecord(start_ev, None), "cudaEventRecord")
            for _ in range(n):
                rt.check(lib.cudaMemcpy(dst, src, size, CUDA_MEMCPY_DEVICE_TO_DEVICE), "cudaMemcpy")
            rt.check(lib.cudaEventRecord(stop_ev, None), "cudaEventRecord")
            rt.check(lib.cudaEventSynchronize(stop_ev), "cudaEventSynchronize")
            ms = ctypes.c_float(0)
            rt.check(
                lib.cudaEventElapsedTime(ctypes.byref(ms), start_ev, stop_ev),
                "cudaEventElapsedTime",
            )
            return ms.value / 1000.0

        warm = timed(1)
        if not iterations:
            iterations = max(2, min(200, int(time_budget_s / max(warm, 1e-6))))
        elapsed = timed(iterations)
        rt.check(lib.cudaDeviceSynchronize(), "cudaDeviceSynchronize")
    finally:
        for ev in (start_ev, stop_ev):
            if ev.value:
                lib.cudaEventDestroy(ev)
        for ptr in (src, dst):
            if ptr.value:
                lib.cudaFree(ptr)
    rv = version.value
    return {
        "gbps": round(copy_gbps(size, iterations, elapsed), 2),
        "method": (
            f"gpu: libcudart cudaMemcpy D2D, events, {size / MIB:.0f} MiB x {iterations}, "
            f"read+write counted ({os.path.basename(path)}, runtime {rv // 1000}.{rv % 1000 // 10})"
        ),
        "bytes": size,
        "iterations": iterations,
        "seconds": round(elapsed, 4),
        "device_count": count.value,
        "cudart": path,
    }
