"""fields: one value at a time and in batches, random and deterministic
modes and the blind index, from Rust, C and Python, on 1 and N threads,
against cryptography's AESGCM, AESSIV and Fernet, Tink's AEAD and
deterministic AEAD and Python's hmac. The figure is nanoseconds per value;
the reference of a row is the peer doing the same job from Python
(cryptography AESGCM for random mode, AESSIV for deterministic mode, hmac
for the blind index), and the Rust call for a C call."""

from __future__ import annotations

from typing import List, Optional

from .common import Context, Job, RowSpec, Sample, json_lines, row_key, run_process
from .files import thread_counts

GROUP = "fields"

# case in a worker's output -> (tool, case label, reference case label)
PY_CASES = {
    "strongroom/encrypt/single": ("strongroom Python", "random encrypt, single calls", "AESGCM encrypt"),
    "strongroom/decrypt/single": ("strongroom Python", "random decrypt, single calls", "AESGCM decrypt"),
    "strongroom/deterministic/single": ("strongroom Python", "deterministic encrypt, single calls", "AESSIV encrypt"),
    "strongroom/blind-index/single": ("strongroom Python", "blind index, single calls", "HMAC-SHA-256"),
    "strongroom/encrypt/batch": ("strongroom Python", "random encrypt, batch", "AESGCM encrypt"),
    "strongroom/decrypt/batch": ("strongroom Python", "random decrypt, batch", "AESGCM decrypt"),
    "strongroom/deterministic/batch": ("strongroom Python", "deterministic encrypt, batch", "AESSIV encrypt"),
    "strongroom/blind-index/batch": ("strongroom Python", "blind index, batch", "HMAC-SHA-256"),
    "cryptography/aesgcm-encrypt": ("cryptography", "AESGCM encrypt", "AESGCM encrypt"),
    "cryptography/aesgcm-decrypt": ("cryptography", "AESGCM decrypt", "AESGCM decrypt"),
    "cryptography/aessiv-encrypt": ("cryptography", "AESSIV encrypt", "AESSIV encrypt"),
    "cryptography/aessiv-decrypt": ("cryptography", "AESSIV decrypt", "AESSIV decrypt"),
    "cryptography/fernet-encrypt": ("cryptography", "Fernet encrypt", "AESGCM encrypt"),
    "cryptography/fernet-decrypt": ("cryptography", "Fernet decrypt", "AESGCM decrypt"),
    "tink/aead-encrypt": ("Tink", "AEAD AES256_GCM encrypt", "AESGCM encrypt"),
    "tink/aead-decrypt": ("Tink", "AEAD AES256_GCM decrypt", "AESGCM decrypt"),
    "tink/daead-encrypt": ("Tink", "deterministic AEAD AES256_SIV encrypt", "AESSIV encrypt"),
    "hmac/sha256": ("Python hmac", "HMAC-SHA-256", "HMAC-SHA-256"),
}

RUST_CASES = {
    "random/encrypt/single": ("random encrypt, single calls", "AESGCM encrypt"),
    "random/decrypt/single": ("random decrypt, single calls", "AESGCM decrypt"),
    "random/encrypt/batch": ("random encrypt, batch", "AESGCM encrypt"),
    "random/decrypt/batch": ("random decrypt, batch", "AESGCM decrypt"),
    "deterministic/encrypt/single": ("deterministic encrypt, single calls", "AESSIV encrypt"),
    "deterministic/encrypt/batch": ("deterministic encrypt, batch", "AESSIV encrypt"),
    "deterministic/decrypt/single": ("deterministic decrypt, single calls", "AESSIV decrypt"),
    "deterministic/decrypt/batch": ("deterministic decrypt, batch", "AESSIV decrypt"),
    "blind-index/single": ("blind index, single calls", "HMAC-SHA-256"),
    "blind-index/batch": ("blind index, batch", "HMAC-SHA-256"),
}

REF_TOOL = {"AESGCM encrypt": "cryptography", "AESGCM decrypt": "cryptography", "AESSIV encrypt": "cryptography",
            "AESSIV decrypt": "cryptography",
            "HMAC-SHA-256": "Python hmac"}


def where(size: int, threads: int) -> str:
    return f"{size} B, {threads} thread{'s' if threads > 1 else ''}"


def ref_key(ref_case: str, size: int) -> str:
    return row_key(REF_TOOL[ref_case], ref_case, where(size, 1))


def run(ctx: Context) -> None:
    n = ctx.sizes["field_n"][0]
    jobs: List[Job] = []
    for size in ctx.sizes["fields"]:
        for t in thread_counts():
            jobs += _python(ctx, size, n, t)
            jobs += _rust(ctx, size, n, t)
        jobs += _c(ctx, size, n)
    ctx.run_rounds(GROUP, jobs)


def _key(ctx: Context, tool: str, case: str, size: int, threads: int, ref: Optional[str], version: str,
         note: str = "") -> str:
    return ctx.add(RowSpec(GROUP, tool, case, size, "bytes", "ns", ref, version, threads, where(size, threads), note))


def _python(ctx: Context, size: int, n: int, threads: int) -> List[Job]:
    if "!" in ctx.versions.get("py:strongroom", "!"):
        ctx.skip(GROUP, "strongroom Python", "the package does not import")
        return []
    batches_only = threads > 1
    # Single calls in Python hold the GIL: one thread says it all.
    py_n = max(1000, n // 4)

    def job() -> List[Sample]:
        argv = [ctx.python, "-m", "harness.pyworker", "fields", str(size), str(py_n)]
        if batches_only:
            argv.append("--batches-only")
        _, peak, out = run_process(argv, env={"STRONGROOM_THREADS": str(threads)}, capture=True,
                                   cwd=ctx.repo / "benches")
        samples = []
        for rec in json_lines(out):
            tool, case, ref = PY_CASES[rec["case"]]
            version = ctx.versions.get({"strongroom Python": "py:strongroom", "cryptography": "py:cryptography",
                                        "Tink": "py:tink"}.get(tool, "python"), "")
            key = _key(ctx, tool, case, size, threads, ref_key(ref, size), version)
            samples.append(Sample(key, rec["seconds"] / rec["ops"] * 1e9, peak))
        return samples
    return [job]


def _rust(ctx: Context, size: int, n: int, threads: int) -> List[Job]:
    probe = ctx.bins.get("probe")
    if not probe:
        ctx.skip(GROUP, "strongroom Rust", "the benchmark binary did not build")
        return []

    def job() -> List[Sample]:
        _, peak, out = run_process([str(probe), "fields", "--bytes", str(size), "--n", str(n),
                                    "--threads", str(threads)], capture=True)
        samples = []
        for rec in json_lines(out):
            if threads > 1 and "batch" not in rec["case"]:
                continue  # single calls run on the calling thread
            case, ref = RUST_CASES[rec["case"]]
            key = _key(ctx, "strongroom Rust", case, size, threads, ref_key(ref, size),
                       ctx.versions.get("strongroom", ""), "benches/rust/strongroom_bench.rs")
            samples.append(Sample(key, rec["seconds"] / rec["ops"] * 1e9, peak))
        return samples
    return [job]


def _c(ctx: Context, size: int, n: int) -> List[Job]:
    c_bin, r_bin = ctx.bins.get("c_field_bench"), ctx.bins.get("rust_field_bench")
    if not c_bin or not r_bin:
        ctx.skip(GROUP, "strongroom C API", "the C field benchmark did not build (gcc, pkg-config)")
        return []
    labels = {"single_encrypt": "text encrypt, single calls", "single_decrypt": "text decrypt, single calls",
              "batch_encrypt": "text encrypt, batch of 10 000"}

    def runner(binary: str, lang: str) -> Job:
        def job() -> List[Sample]:
            _, _, out = run_process([binary, str(n), str(size)], capture=True,
                                    env={"STRONGROOM_THREADS": "1"})
            samples = []
            for line in out.splitlines():
                parts = line.split()
                if len(parts) != 4 or parts[0] != lang:
                    continue
                case = labels[parts[1]]
                ref = row_key("strongroom Rust (same calls as C)", case, where(size, 1))
                tool = "strongroom C API" if lang == "c" else "strongroom Rust (same calls as C)"
                key = _key(ctx, tool, case, size, 1, ref, ctx.versions.get("strongroom", ""),
                           "benches/c_api/field_bench.c" if lang == "c" else "benches/c_api/field_bench.rs")
                samples.append(Sample(key, float(parts[2])))
            return samples
        return job
    return [runner(str(c_bin), "c"), runner(str(r_bin), "rust")]

