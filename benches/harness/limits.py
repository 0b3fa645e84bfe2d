"""limits: the ceilings under the other groups, measured in the same run:
raw AES-256-GCM of the default engine (seal and open, 64 KiB pieces, out
of place) and memory copy bandwidth, on 1 and N threads. The reference is
the copy on the same number of threads: how close encryption comes to
moving the bytes."""

from __future__ import annotations

from typing import List

from .common import Context, Job, RowSpec, Sample, json_lines, row_key, run_process
from .files import thread_counts

GROUP = "limits"


def run(ctx: Context) -> None:
    probe = ctx.bins.get("probe")
    if not probe:
        ctx.skip(GROUP, "all", "the benchmark binary did not build")
        return
    mib = ctx.sizes["limits_mib"][0]
    jobs: List[Job] = []
    for t in thread_counts():
        where = f"{t} thread{'s' if t > 1 else ''}"
        ref = row_key("memory copy", "copy", where)

        def aead(t: int = t, where: str = where, ref: str = ref) -> List[Sample]:
            _, peak, out = run_process([str(probe), "aead", "--mib", str(mib), "--threads", str(t)], capture=True)
            samples = []
            for rec in json_lines(out):
                op, engine = rec["case"].split("/", 1)
                key = ctx.add(RowSpec(GROUP, f"AES-256-GCM ({engine})", op, rec["bytes"], "bytes", "s", ref,
                                      ctx.versions.get("strongroom", ""), t, where, "64 KiB pieces, out of place"))
                samples.append(Sample(key, rec["seconds"], peak))
            return samples

        def copy(t: int = t, where: str = where, ref: str = ref) -> List[Sample]:
            _, peak, out = run_process([str(probe), "memcpy", "--mib", str(mib), "--threads", str(t)], capture=True)
            rec = json_lines(out)[0]
            key = ctx.add(RowSpec(GROUP, "memory copy", "copy", rec["bytes"], "bytes", "s", ref, "", t, where,
                                  "copy_from_slice, 64 KiB pieces"))
            return [Sample(key, rec["seconds"], peak)]
        jobs += [aead, copy]
    ctx.run_rounds(GROUP, jobs)
