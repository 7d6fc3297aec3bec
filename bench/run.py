"""custody benchmarks: speed and memory side by side with the tools a user would otherwise use.

Usage::

    .venv/bin/python bench/run.py [--size-mib 1024] [--entries 100000] [--out docs/benchmarks.md]

Everything is measured in one run on this machine and reported as ratios against the peer
(``sha256sum``, ``sha512sum``, ``dd conv=fsync``, ``python -c pass``); nothing here is a
timed test. Generated data lives in a temporary folder (under ``$TMPDIR``, else ``/tmp``)
that is deleted at the end unless ``--keep`` is given.

Parts (``--parts``):

* ``files``: a file of random bytes; ``custody add``, ``custody verify`` and
  ``custody verify --deep`` against ``sha256sum``/``sha512sum`` on the same file, wall and
  CPU time and peak RSS of every process.
* ``startup``: ``custody --help`` against ``python -c pass`` (median of ``--startup-runs``).
* ``log``: a case log of ``--entries`` entries built in-process through the library, the
  durable append rate, ``custody log verify`` at 10 %, 50 % and 100 % of the entries, and
  inclusion proofs from the stored tree with the number of node reads each needs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import (
    MB,
    MIB,
    PASSPHRASE,
    BaseRun,
    Sample,
    cleaned_up,
    custody_cmd,
    custody_env,
    hashing_software,
    load_text,
    machine_info,
    mb,
    measure,
    median_sample,
    note_progress,
    peer_env,
    section_markers,
    table,
)
from custody import keys, locker, log, merkle, note, seen, signing
from custody.case import Case
from custody.logtree import TreeStore

VERIFY_TARGET = 2.0
MEMORY_LIMIT = 100 * MB
PARTS = ("files", "startup", "log")


# --------------------------------------------------------------------------- files


@dataclass
class FileResults:
    size: int
    repeat: int
    write_seconds: float
    warm: Sample
    sha256sum: Sample
    sha512sum: Sample
    add_rounds: int
    dd_fsync: Sample
    add_real: Sample
    add_fast: Sample
    tiny_add_real: Sample
    tiny_add_fast: Sample
    verify: Sample
    deep: Sample
    init_real: Sample
    init_fast: Sample
    digests_match: bool


def make_random_file(path: Path, size: int) -> float:
    """Write ``size`` random bytes in 1 MiB chunks and fsync; seconds taken."""
    start = time.perf_counter()
    with path.open("wb") as fh:
        left = size
        while left:
            n = min(left, MIB)
            fh.write(os.urandom(n))
            left -= n
        fh.flush()
        os.fsync(fh.fileno())
    return time.perf_counter() - start


def bench_files(work: Path, size_mib: int, repeat: int) -> FileResults:
    cmd = custody_cmd()
    peers = peer_env()
    homes = {"real": work / "home-real", "fast": work / "home-fast"}
    envs = {k: custody_env(h, fast_kdf=k == "fast") for k, h in homes.items()}
    cases = {k: work / f"case-{k}" for k in homes}
    measure([*cmd, "--help"], envs["real"])  # fill the byte-code cache, untimed
    inits: dict[str, Sample] = {}
    for kind in homes:
        note_progress(f"custody init ({kind} KDF)")
        inits[kind] = measure(
            [*cmd, "init", str(cases[kind]), "--name", "Benchmark", "--operator", "Bench"],
            envs[kind],
        )

    src = work / "evidence.bin"
    note_progress(f"writing {size_mib} MiB of random data to {src}")
    write_seconds = make_random_file(src, size_mib * MIB)
    size = src.stat().st_size

    note_progress("warming the page cache with one sha256sum (not counted)")
    warm = measure(["sha256sum", str(src)], peers)

    copy = work / "copy.bin"
    dd_cmd = ["dd", f"if={src}", f"of={copy}", "bs=1M", "conv=fsync", "status=none"]
    add_rounds = min(repeat, 3)
    dds: list[Sample] = []
    adds: dict[str, list[Sample]] = {k: [] for k in homes}
    for r in range(add_rounds):
        note_progress(
            f"add round {r + 1}/{add_rounds}: dd conv=fsync, custody add (real, fast KDF)"
        )
        dds.append(measure(dd_cmd, peers))
        copy.unlink()
        for kind in homes:
            case = cases[kind] if r == 0 else work / f"case-{kind}-{r}"
            if r:  # a fresh case each round, made with the same key; kept only for round 1
                measure([*cmd, "init", str(case), "--name", "Round", "--operator", "Bench"],
                        envs[kind])  # fmt: skip
            adds[kind].append(measure([*cmd, "add", str(src), "--case", str(case), "--json"],
                                      envs[kind]))  # fmt: skip
            if r:
                shutil.rmtree(case)
    digest = json.loads(adds["real"][0].out)["added"][0]["sha256"]

    tiny: dict[str, list[Sample]] = {k: [] for k in homes}
    for kind in homes:
        for i in range(3):
            small = work / f"tiny-{kind}-{i}.txt"
            small.write_bytes(f"a small file, number {i}\n".encode() * 40)
            tiny[kind].append(
                measure([*cmd, "add", str(small), "--case", str(cases[kind])], envs[kind])
            )

    rounds: dict[str, list[Sample]] = {"sha256sum": [], "verify": [], "sha512sum": [], "deep": []}
    for r in range(repeat):
        note_progress(f"round {r + 1}/{repeat}: sha256sum, verify, sha512sum, verify --deep")
        rounds["sha256sum"].append(measure(["sha256sum", str(src)], peers))
        rounds["verify"].append(measure([*cmd, "verify", str(cases["real"])], envs["real"]))
        rounds["sha512sum"].append(measure(["sha512sum", str(src)], peers))
        rounds["deep"].append(measure([*cmd, "verify", "--deep", str(cases["real"])], envs["real"]))
    sha256 = median_sample(rounds["sha256sum"])
    return FileResults(
        size=size,
        repeat=repeat,
        write_seconds=write_seconds,
        warm=warm,
        sha256sum=sha256,
        sha512sum=median_sample(rounds["sha512sum"]),
        add_rounds=add_rounds,
        dd_fsync=median_sample(dds),
        add_real=median_sample(adds["real"]),
        add_fast=median_sample(adds["fast"]),
        tiny_add_real=median_sample(tiny["real"]),
        tiny_add_fast=median_sample(tiny["fast"]),
        verify=median_sample(rounds["verify"]),
        deep=median_sample(rounds["deep"]),
        init_real=inits["real"],
        init_fast=inits["fast"],
        digests_match=sha256.out.split()[0] == digest == warm.out.split()[0],
    )


# --------------------------------------------------------------------------- start-up


@dataclass
class StartupResults:
    runs: int
    samples: dict[str, Sample]
    modules: list[str]


STARTUP_CASES: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "custody --help": [*custody_cmd(), "--help"],
    "python -c 'import custody.cli'": [sys.executable, "-c", "import custody.cli"],
    "python -c 'import typer'": [sys.executable, "-c", "import typer"],
    "python -c 'import rich.console'": [sys.executable, "-c", "import rich.console"],
    "python -c 'import cryptography…ed25519'": [
        sys.executable,
        "-c",
        "import cryptography.hazmat.primitives.asymmetric.ed25519",
    ],
}


def bench_startup(work: Path, runs: int) -> StartupResults:
    env = custody_env(work / "home-startup", fast_kdf=True)
    samples: dict[str, Sample] = {}
    for label, cmd in STARTUP_CASES.items():
        note_progress(f"start-up: {label} x{runs}")
        measure(cmd, env)  # compile caches, warm the page cache
        samples[label] = median_sample([measure(cmd, env) for _ in range(runs)])
    probe = (
        "import sys; before = set(sys.modules); import custody.cli; "
        "print(' '.join(sorted({m.split('.')[0] for m in set(sys.modules) - before})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    third_party = {"typer", "rich", "cryptography", "platformdirs", "rfc8785", "jsonschema",
                   "warcio", "playwright", "exifread", "nacl", "shellingham", "click"}  # fmt: skip
    return StartupResults(runs, samples, [m for m in loaded if m in third_party])


# --------------------------------------------------------------------------- log


class CountingTreeStore(TreeStore):
    """A :class:`TreeStore` that counts node reads (one ``pread`` each)."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.reads = 0

    def node(self, level: int, index: int) -> bytes:
        self.reads += 1
        return super().node(level, index)


@contextlib.contextmanager
def counting_fsyncs() -> Iterator[list[int]]:
    """Count ``os.fsync`` calls made inside the block (custody._fs looks it up at call time)."""
    real = os.fsync
    counter = [0]

    def fsync(fd: Any) -> None:
        counter[0] += 1
        real(fd)

    os.fsync = fsync
    try:
        yield counter
    finally:
        os.fsync = real


def add_like_subject() -> dict[str, Any]:
    """The subject of an ``add`` entry: two well-formed commitments (same bytes as a real add)."""
    return {
        "artifact": "sha256:" + os.urandom(32).hex(),
        "details": "sha256:" + os.urandom(32).hex(),
    }


@dataclass
class ProofStats:
    size: int
    proofs: int
    median_us: float
    p99_us: float
    max_reads: int
    mean_reads: float
    max_length: int
    root_reads: int


@dataclass
class LogPoint:
    size: int
    checkpoints: int
    log_bytes: int
    verify: Sample
    proofs: ProofStats


@dataclass
class CommandRate:
    entries: int
    seconds: float
    fsyncs: int
    start_size: int

    @property
    def rate(self) -> float:
        return self.entries / self.seconds


@dataclass
class LogResults:
    batch: int
    repeat: int
    per_command: CommandRate
    per_command_late: CommandRate
    per_command_verify: Sample
    empty_verify: Sample
    per_command_size: int
    batched_entries: int
    batched_seconds: float
    batched_fsyncs: int
    points: list[LogPoint] = field(default_factory=list)

    @property
    def batched_rate(self) -> float:
        return self.batched_entries / self.batched_seconds


def one_entry_commands(case: Case, signer: signing.Signer, home: Path, count: int) -> CommandRate:
    """``count`` single-entry transactions, each as one command does it: lock, append
    (fsync), tree update, checkpoint signed and written twice, checkpoint remembered."""
    start_size = TreeStore(case.tree).level_count(0)
    with counting_fsyncs() as fsyncs:
        start = time.perf_counter()
        for _ in range(count):
            with log.appending(case, signer) as app:
                app.append("add", add_like_subject())
            seen.remember(home, case.case_id, case.checkpoint.read_bytes())
        seconds = time.perf_counter() - start
    return CommandRate(count, seconds, fsyncs[0], start_size)


def proof_stats(case: Case, size: int, limit: int) -> ProofStats:
    store = CountingTreeStore(case.tree)
    try:
        root = merkle.root(store, size)
        root_reads = store.reads
        signed = note.parse_checkpoint(case.checkpoint.read_bytes())
        assert signed.size == size and signed.root == root, "stored tree disagrees with checkpoint"
        if size <= limit:
            indices = list(range(size))
        else:
            rng = random.Random(size)
            indices = [0, size - 1, *(rng.randrange(size) for _ in range(limit - 2))]
        times: list[float] = []
        reads: list[int] = []
        longest = 0
        for index in indices:
            store.reads = 0
            t0 = time.perf_counter_ns()
            proof = merkle.inclusion_proof(store, index, size)
            times.append((time.perf_counter_ns() - t0) / 1000)
            reads.append(store.reads)
            longest = max(longest, len(proof))
            leaf = store.node(0, index)
            assert merkle.verify_inclusion(leaf, index, size, proof, root), f"bad proof {index}"
    finally:
        store.close()
    times.sort()
    return ProofStats(
        size=size,
        proofs=len(indices),
        median_us=statistics.median(times),
        p99_us=times[min(len(times) - 1, int(len(times) * 0.99))],
        max_reads=max(reads),
        mean_reads=statistics.fmean(reads),
        max_length=longest,
        root_reads=root_reads,
    )


def bench_log(
    work: Path, entries: int, batch: int, per_command: int, proofs: int, repeat: int
) -> LogResults:
    home = work / "home-log"
    note_progress("log: generating a key (real scrypt KDF, once)")
    signer = keys.generate_key(home, PASSPHRASE)
    operator = keys.Operator("Bench")
    cmd = custody_cmd()
    env = custody_env(home, fast_kdf=False)

    note_progress(f"log: {per_command} one-entry commands on a new case")
    small = locker.create_case(
        work / "log-per-command", name="Per-command appends", operator=operator, signer=signer,
        home=home,
    )  # fmt: skip
    early = one_entry_commands(small, signer, home, per_command)
    small_size = per_command + 1
    small_verify = median_sample(
        [measure([*cmd, "log", "verify", "--case", str(small.root)], env) for _ in range(repeat)]
    )

    case = locker.create_case(
        work / "log-scale", name="Log scale", operator=operator, signer=signer, home=home
    )
    size = 1  # the init entry
    note_progress("log: custody log verify of the 1-entry case (fixed cost)")
    empty = median_sample(
        [measure([*cmd, "log", "verify", "--case", str(case.root)], env) for _ in range(repeat)]
    )
    milestones = sorted({m for m in (entries // 10, entries // 2, entries) if m > size})
    results = LogResults(
        batch=batch,
        repeat=repeat,
        per_command=early,
        per_command_late=early,
        per_command_verify=small_verify,
        empty_verify=empty,
        per_command_size=small_size,
        batched_entries=0,
        batched_seconds=0.0,
        batched_fsyncs=0,
    )
    for target in milestones:
        note_progress(f"log: appending to {target} entries in transactions of {batch}")
        with counting_fsyncs() as fsyncs:
            start = time.perf_counter()
            while size < target:
                n = min(batch, target - size)
                with log.appending(case, signer) as app:
                    for _ in range(n):
                        app.append("add", add_like_subject())
                size += n
            results.batched_seconds += time.perf_counter() - start
        results.batched_fsyncs += fsyncs[0]
        note_progress(f"log: custody log verify at {size} entries")
        verify = median_sample(
            [
                measure([*cmd, "log", "verify", "--case", str(case.root), "--json"], env)
                for _ in range(repeat)
            ]
        )
        checked = json.loads(verify.out)["checked"]
        assert checked.get("entries") == size == checked.get("signatures"), checked
        note_progress(f"log: inclusion proofs at {size} entries")
        results.points.append(
            LogPoint(
                size=size,
                checkpoints=len(list(case.checkpoints.iterdir())),
                log_bytes=case.entries.stat().st_size,
                verify=verify,
                proofs=proof_stats(case, size, proofs),
            )
        )
    results.batched_entries = size - 1
    late_count = max(1, min(per_command, 200))
    note_progress(f"log: {late_count} one-entry commands on the {size}-entry case")
    results.per_command_late = one_entry_commands(case, signer, home, late_count)
    return results


# --------------------------------------------------------------------------- report


def secs(s: float) -> str:
    return f"{s:.3f} s" if s < 10 else f"{s:.1f} s"


def ms(s: float) -> str:
    return f"{s * 1000:.0f} ms"


def rate(size: int, s: float) -> str:
    return f"{size / MIB / s:,.0f} MiB/s"


def yes(ok: bool) -> str:
    return "**yes**" if ok else "**no**"


@dataclass
class Run(BaseRun):
    files: FileResults | None = None
    startup: StartupResults | None = None
    log: LogResults | None = None


def render_files(f: FileResults) -> tuple[list[str], list[str]]:
    size_text = f"{f.size / MIB:,.0f} MiB"
    rows = [
        ("`sha256sum FILE`", f.sha256sum, "peer"),
        ("`custody verify CASE`", f.verify, "SHA-256 of the artifact + log, signatures, tree"),
        ("`sha512sum FILE`", f.sha512sum, "peer"),
        ("`custody verify --deep CASE`", f.deep, "SHA-256 and SHA-512 (two threads) + the above"),
        ("`dd bs=1M conv=fsync` (copy)", f.dd_fsync, "peer: a durable copy by hand"),
        ("`custody add FILE` (real KDF)", f.add_real, "copy + fsync + SHA-256 + SHA-512 + log"),
        ("`custody add FILE` (fast KDF)", f.add_fast, "same, `CUSTODY_UNSAFE_FAST_KDF=1` key"),
        ("`custody add` 1 KiB file (real KDF)", f.tiny_add_real, "baseline: KDF + start-up"),
        ("`custody add` 1 KiB file (fast KDF)", f.tiny_add_fast, "baseline: start-up"),
    ]
    body = table(
        ["command", "wall", "CPU (user+sys)", "throughput", "peak RSS", "what it does"],
        [
            (
                name,
                secs(s.wall),
                secs(s.cpu),
                rate(f.size, s.wall) if "1 KiB" not in name else "-",
                mb(s.rss),
                what,
            )
            for name, s, what in rows
        ],
    )
    peer_add = f.dd_fsync.wall + f.sha256sum.wall + f.sha512sum.wall
    ratios = [
        ("`sha256sum` / `custody verify`", f.sha256sum.wall / f.verify.wall,
         f.sha256sum.cpu / f.verify.cpu, f"target ≥ {VERIFY_TARGET:g}"),
        ("`sha512sum` / `custody verify --deep`", f.sha512sum.wall / f.deep.wall,
         f.sha512sum.cpu / f.deep.cpu, ""),
        ("(`sha256sum` + `sha512sum`) / `custody verify --deep`",
         (f.sha256sum.wall + f.sha512sum.wall) / f.deep.wall,
         (f.sha256sum.cpu + f.sha512sum.cpu) / f.deep.cpu, "both digests, as --deep gives"),
        ("(`dd conv=fsync` + `sha256sum` + `sha512sum`) / `custody add` (real KDF)",
         peer_add / f.add_real.wall,
         (f.dd_fsync.cpu + f.sha256sum.cpu + f.sha512sum.cpu) / f.add_real.cpu,
         "the same work done by hand"),
    ]  # fmt: skip
    body += table(
        ["ratio (> 1: custody is faster)", "wall", "CPU", "note"],
        [(name, f"{w:.2f}x", f"{c:.2f}x", why) for name, w, c, why in ratios],
    )
    kdf_rss = f.tiny_add_real.rss - f.tiny_add_fast.rss
    file_rss = f.add_real.rss - f.tiny_add_real.rss
    body += [
        f"File: {size_text} of random bytes, written and fsynced in {secs(f.write_seconds)} "
        f"before the run. Every figure is one process measured on its own; the rows that were "
        f"repeated (`sha256sum`, `sha512sum`, `custody verify`, `custody verify --deep`) ran "
        f"in {f.repeat} interleaved round(s) and show the median wall and CPU time and the "
        f"highest peak RSS. `dd` and the two `custody add` rows ran in {f.add_rounds} "
        "interleaved round(s) of their own, each add into a fresh case (a second add of the "
        "same file into one case is different work); they are bound by the disk, whose "
        "write speed varies from run to run on this VM.",
        "",
        "Page cache: warm. The file was fsynced after writing and then read once by "
        f"`sha256sum` ({secs(f.warm.wall)}, not counted) before anything was timed, and the "
        "case's copy is read by `custody verify` right after `custody add` wrote it, so no "
        "command here waited for the disk to read; `dd conv=fsync` and `custody add` did "
        "wait for theirs to write. Dropping the page cache needs root and is not reliable on "
        "a shared VM, so cold-cache figures are not given: cold, both sides are bounded by "
        "the disk and the ratios move towards 1.",
        "",
        f"Digests: the SHA-256 printed by `custody add --json` equals `sha256sum`'s: "
        f"{yes(f.digests_match)}.",
        "",
        f"Memory: `custody add` with the real KDF peaks at {mb(f.add_real.rss)}, "
        f"{mb(kdf_rss)} of which is the scrypt key derivation (N = 2^17, r = 8: 128 MiB by "
        f"design, whatever the file size; compare the 1 KiB adds). The file itself adds "
        f"{mb(max(file_rss, 0))} over a 1 KiB add. With the fast test KDF the same add peaks "
        f"at {mb(f.add_fast.rss)}. `custody verify` needs no key and peaks at "
        f"{mb(f.verify.rss)}, `--deep` at {mb(f.deep.rss)}.",
        "",
        f"`custody init`: {secs(f.init_real.wall)} with the real KDF (key generation), "
        f"{secs(f.init_fast.wall)} with the fast one.",
        "",
    ]
    verdicts = [
        f"`custody verify` against `sha256sum` on the same {size_text} file: "
        f"{f.sha256sum.wall / f.verify.wall:.2f}x the speed in wall time "
        f"({f.sha256sum.cpu / f.verify.cpu:.2f}x in CPU time). At least "
        f"{VERIFY_TARGET:g}x faster: {yes(f.sha256sum.wall / f.verify.wall >= VERIFY_TARGET)}.",
        f"Peak memory of `custody verify` ({mb(f.verify.rss)}) and `--deep` ({mb(f.deep.rss)}) "
        f"under 100 MB: {yes(max(f.verify.rss, f.deep.rss) < MEMORY_LIMIT)}. "
        f"`custody add` under 100 MB: {yes(f.add_real.rss < MEMORY_LIMIT)} with the real "
        f"KDF ({mb(f.add_real.rss)}: the 128 MiB of scrypt, not the file), "
        f"{yes(f.add_fast.rss < MEMORY_LIMIT)} with the fast KDF ({mb(f.add_fast.rss)}). "
        f"Memory does not grow with the file: the {size_text} add needs "
        f"{mb(max(file_rss, 0))} more than a 1 KiB add.",
    ]
    return body, verdicts


def render_startup(s: StartupResults) -> tuple[list[str], list[str]]:
    base = s.samples["python -c pass"]
    rows = [
        (f"`{label}`", ms(x.wall), f"+{ms(x.wall - base.wall)}", mb(x.rss))
        for label, x in s.samples.items()
    ]
    body = table(["command", "median wall", "over `python -c pass`", "peak RSS"], rows)
    help_ = s.samples["custody --help"]
    body += [
        f"Median of {s.runs} runs each after one untimed run (byte-code caches warm). "
        f"Third-party packages imported by `import custody.cli`: "
        f"{', '.join(f'`{m}`' for m in s.modules) or 'none'}.",
        "",
    ]
    verdicts = [
        f"CLI start-up: `custody --help` takes {ms(help_.wall)}, "
        f"{help_.wall / base.wall:.1f}x `python -c pass` ({ms(base.wall)}).",
    ]
    return body, verdicts


def render_log(lr: LogResults) -> tuple[list[str], list[str]]:
    body = [
        "Entries are `add` entries with two random, well-formed commitments: the same size "
        "and shape as real ones (about "
        f"{lr.points[-1].log_bytes // max(lr.points[-1].size, 1)} bytes a line), signed with "
        "a real Ed25519 key, appended through `custody.log.appending` in-process. Their "
        "artifacts do not exist, so only `custody log verify` (entries, signatures, chain, "
        "tree, checkpoints) is meaningful on this case.",
        "",
        "### Append rate (durable)",
        "",
    ]
    pc, late = lr.per_command, lr.per_command_late
    body += table(
        ["how", "entries", "log size at start", "entries/s", "fsyncs per entry"],
        [
            ("one entry per transaction, as one command does it", f"{pc.entries:,}",
             f"{pc.start_size:,}", f"{pc.rate:,.0f}", f"{pc.fsyncs / pc.entries:.1f}"),
            ("the same, on the full log", f"{late.entries:,}", f"{late.start_size:,}",
             f"{late.rate:,.0f}", f"{late.fsyncs / late.entries:.1f}"),
            (f"{lr.batch:,} entries per transaction (each entry fsynced)",
             f"{lr.batched_entries:,}", "1", f"{lr.batched_rate:,.0f}",
             f"{lr.batched_fsyncs / lr.batched_entries:.2f}"),
        ],
    )  # fmt: skip
    body += [
        "A one-entry transaction is what every logging command does after its own work "
        "(`custody.log.appending` with one `append`, then `custody.seen.remember`): take the "
        "lock, append the signed entry and fsync it, bring the stored tree up to date, sign "
        "a checkpoint and write it to `log/checkpoint` and `log/checkpoints/<size>`, and "
        "remember it in the custody home. The fsync column counts every `os.fsync` made "
        "(files and folders). A `custody add` of one file also stores the artifact, its "
        "details record and two disclosures, unlocks the key and starts Python; see the "
        "1 KiB adds above for that end-to-end cost.",
        "",
        *(
            [
                f"The fsyncs a one-entry command makes grow with the log: "
                f"{pc.fsyncs / pc.entries:.1f} an entry on average while the new log grew to "
                f"{pc.start_size + pc.entries:,} entries, {late.fsyncs / late.entries:.1f} at "
                f"{late.start_size:,} entries.",
                "",
            ]
            if late.fsyncs / late.entries > pc.fsyncs / pc.entries + 0.5
            else []
        ),
        "### `custody log verify` and inclusion proofs",
        "",
    ]
    base = lr.empty_verify.wall

    def marginal(wall: float, size: int) -> float:
        """Seconds an entry beyond the fixed cost of verifying a one-entry log."""
        return (wall - base) / max(size - 1, 1)

    rows = [
        (
            f"{p.size:,}",
            f"{p.checkpoints:,}",
            f"{p.log_bytes / MB:.1f} MB",
            secs(p.verify.wall),
            f"{marginal(p.verify.wall, p.size) * 1e6:.0f} µs",
            mb(p.verify.rss),
            f"{p.proofs.median_us:.0f} µs / {p.proofs.p99_us:.0f} µs",
            f"{p.proofs.max_length}",
            f"{p.proofs.mean_reads:.1f} / {p.proofs.max_reads}",
            f"{math.log2(p.size):.1f}",
        )
        for p in lr.points
    ]
    body += table(
        ["entries", "checkpoints", "log file", "`log verify` wall", "per entry (beyond fixed)",
         "`log verify` peak RSS", "proof median / p99", "proof hashes (max)",
         "node reads mean / max", "log2 n"],
        rows,
    )  # fmt: skip
    first, last = lr.points[0], lr.points[-1]
    cost_first, cost_last = (
        marginal(first.verify.wall, first.size),
        marginal(last.verify.wall, last.size),
    )
    per_cp = marginal(lr.per_command_verify.wall, lr.per_command_size)
    body += [
        f"Fixed cost: `custody log verify` of the freshly created one-entry case takes "
        f"{secs(base)} (Python start-up, imports, one entry and one checkpoint); the "
        "per-entry column is (wall - that) / (entries - 1). Every `custody log verify` figure "
        f"is the median of {lr.repeat} run(s) (peak RSS: the highest).",
        "",
        f"Proofs: {', '.join(f'{p.proofs.proofs:,}' for p in lr.points)} inclusion proofs "
        "(every index up to `--proofs`, else a seeded sample with the first and last) "
        "generated in-process from the stored tree (`custody.logtree.TreeStore`, one `pread` "
        "per node read, counted by wrapping `TreeStore.node`) with "
        "`custody.merkle.inclusion_proof`, each checked with `merkle.verify_inclusion` "
        "against the root of the signed checkpoint. Computing that root took "
        f"{', '.join(str(p.proofs.root_reads) for p in lr.points)} node reads. A proof "
        "reads one stored node per proof hash, except where its sibling is the incomplete "
        "right edge of the tree, which is read as the complete subtrees it is made of (one "
        "per 1 bit of n at most); so reads exceed the proof length by a few, and both grow "
        "with log2 n, not with n.",
        "",
        f"Growth: from {first.size:,} to {last.size:,} entries ({last.size / first.size:.0f}x), "
        f"`custody log verify` went from {secs(first.verify.wall)} to "
        f"{secs(last.verify.wall)} ({last.verify.wall / first.verify.wall:.1f}x); the cost per "
        f"entry beyond the fixed cost went from {cost_first * 1e6:.0f} µs to "
        f"{cost_last * 1e6:.0f} µs. Its peak RSS went from {mb(first.verify.rss)} to "
        f"{mb(last.verify.rss)}: the verifier reads the whole log file into memory and keeps "
        "every line, leaf hash and tree level, so its memory grows with the log too.",
        "",
        f"Checkpoints: the big log has one checkpoint per {lr.batch:,} entries. A log written "
        "one entry per command has a checkpoint per entry, and every checkpoint is verified "
        f"(parsed, signature checked, root recomputed): the {lr.per_command_size:,}-entry case "
        f"built one entry per command verified in {secs(lr.per_command_verify.wall)}, "
        f"{per_cp * 1e6:.0f} µs an entry beyond the fixed cost against "
        f"{cost_last * 1e6:.0f} µs in the big log.",
        "",
    ]
    linear = 0.5 <= cost_last / cost_first <= 1.5
    reads_bound = all(p.proofs.max_reads <= 2 * math.ceil(math.log2(p.size)) for p in lr.points)
    flat = 1 / 2 <= late.rate / pc.rate <= 2
    verdicts = [
        f"Durable append rate: {pc.rate:,.0f} entries/s one entry per command on a new log, "
        f"{late.rate:,.0f}/s on the {late.start_size:,}-entry log "
        f"({'within 2x of each other' if flat else 'more than 2x apart'}; "
        f"{pc.fsyncs / pc.entries:.1f} and {late.fsyncs / late.entries:.1f} fsyncs an entry); "
        f"{lr.batched_rate:,.0f} entries/s in transactions of {lr.batch:,} "
        f"({lr.batched_fsyncs / lr.batched_entries:.2f} fsyncs an entry). All are bound by "
        "fsync latency on this disk.",
        f"`custody log verify` at {last.size:,} entries: {secs(last.verify.wall)}, peak RSS "
        f"{mb(last.verify.rss)}. Cost per entry beyond the fixed cost: "
        f"{cost_first * 1e6:.0f} µs at {first.size:,} entries, {cost_last * 1e6:.0f} µs at "
        f"{last.size:,}; linear growth (within ±50 %): {yes(linear)}. Its peak memory "
        f"grows with the log too: under 100 MB at {last.size:,} entries: "
        f"{yes(last.verify.rss < MEMORY_LIMIT)}.",
        f"Inclusion proofs stay O(log n): at most {last.proofs.max_reads} node reads (mean "
        f"{last.proofs.mean_reads:.1f}) and {last.proofs.median_us:.0f} µs median at "
        f"{last.size:,} entries, against {first.proofs.max_reads} at {first.size:,}; every "
        f"proof within 2·⌈log2 n⌉ reads: {yes(reads_bound)}.",
    ]
    return body, verdicts


def render(run: Run) -> str:
    a = run.args
    lines = [
        "# Benchmarks",
        "",
        "<!-- Generated by bench/run.py; edit the generator, not this file. -->",
        "",
        "Speed and memory of custody side by side with the tools a user would otherwise use, "
        "measured in one run on one machine and reported as ratios. These are not tests: "
        "nothing in the test suite is timed.",
        "",
        "## How to run",
        "",
        "```sh",
        ".venv/bin/python bench/run.py                       # print the report",
        ".venv/bin/python bench/run.py --out docs/benchmarks.md",
        ".venv/bin/python bench/run.py --size-mib 64 --entries 5000 --parts files,log  # quick",
        "```",
        "",
        "Options: `--size-mib` (file size, default 1024), `--entries` (log size, default "
        "100000), `--batch` (entries per append transaction while building the log), "
        "`--per-command` (one-entry transactions to time), `--repeat` (rounds of the file "
        "measurements), `--log-repeat` (runs of each `custody log verify`), `--startup-runs`, "
        "`--proofs` (inclusion proofs per log size), "
        "`--parts`, `--keep`. Generated data goes to a fresh folder under `$TMPDIR` (else "
        "`/tmp`) and is deleted at the end; it needs about four times the file size free. "
        "Processes are measured one at a time with GNU time "
        "(`/usr/bin/time`, Debian package `time`) when present, else `wait4(2)`: wall time, "
        "user + system CPU time, and peak resident set size (RSS). MB is 10^6 bytes, MiB "
        "2^20.",
        "",
        "`custody` commands run with `CUSTODY_PASSPHRASE` set and a fresh `CUSTODY_HOME`. "
        "Commands that sign unlock the key with the scrypt KDF it was made with: rows marked "
        "*real KDF* use the default (N = 2^17, r = 8, 128 MiB, several hundred ms by design); "
        "rows marked *fast KDF* use a key made with `CUSTODY_UNSAFE_FAST_KDF=1` (N = 2^12), "
        "the test-suite setting, never for real cases. `custody verify` needs no key.",
        "",
        "## Machine",
        "",
        *table(["", ""], [(k, v) for k, v in run.machine.items()]),
        f"Run on {run.started.strftime('%Y-%m-%d %H:%M UTC')}, {run.seconds / 60:.1f} minutes "
        f"in all, with `{' '.join(['bench/run.py', *sys.argv[1:]])}`. This is a shared "
        "virtual machine with other work running beside the benchmark (load average "
        f"{load_text(run.load[0])} at the start, "
        f"{load_text(run.load[-1])} at the end, over 1 / 5 / 15 "
        "minutes): wall times include time taken by other processes and guests, which is "
        "why CPU times are given too and why repeated figures are medians.",
        "",
    ]
    verdicts: list[str] = []
    if run.files is not None:
        body, v = render_files(run.files)
        lines += [f"## A {run.files.size / MIB:,.0f} MiB file: add and verify", "", *body]
        verdicts += v
    if run.startup is not None:
        body, v = render_startup(run.startup)
        lines += ["## CLI start-up", "", *body]
        verdicts += v
    if run.log is not None and run.log.points:
        body, v = render_log(run.log)
        lines += [f"## A log of {run.log.points[-1].size:,} entries", "", *body]
        verdicts += v
    lines += ["## Conclusions", "", *(f"- {v}" for v in verdicts), ""]
    skipped = [p for p in PARTS if p not in a.parts]
    if skipped:
        lines += [f"Not run this time: {', '.join(skipped)}.", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--size-mib", type=int, default=1024, help="size of the evidence file")
    p.add_argument("--entries", type=int, default=100_000, help="entries in the big log")
    p.add_argument("--batch", type=int, default=1000, help="entries per append transaction")
    p.add_argument("--per-command", type=int, default=1000, help="one-entry transactions")
    p.add_argument("--repeat", type=int, default=5, help="rounds of the file measurements")
    p.add_argument("--log-repeat", type=int, default=3, help="runs of each log verify")
    p.add_argument("--startup-runs", type=int, default=10, help="runs per start-up command")
    p.add_argument("--proofs", type=int, default=100_000, help="inclusion proofs per log size")
    p.add_argument("--parts", default=",".join(PARTS), help="comma-separated: files,startup,log")
    p.add_argument("--out", type=Path, help="write the Markdown report here (else stdout)")
    p.add_argument("--json", type=Path, help="also write the raw figures as JSON here")
    p.add_argument("--keep", action="store_true", help="keep the generated data")
    args = p.parse_args(argv)
    args.parts = [s.strip() for s in args.parts.split(",") if s.strip()]
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        p.error(f"unknown parts: {', '.join(sorted(unknown))}")
    if args.entries < 20 or min(args.size_mib, args.repeat, args.log_repeat, args.per_command) < 1:
        p.error("--entries must be at least 20, the other sizes at least 1")
    return args


def to_jsonable(obj: Any) -> Any:
    if hasattr(obj, "__dataclass_fields__"):
        return {k: to_jsonable(getattr(obj, k)) for k in obj.__dataclass_fields__}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, argparse.Namespace):
        return to_jsonable(vars(obj))
    return obj


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    work = Path(tempfile.mkdtemp(prefix="custody-bench-"))
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    software = hashing_software(work, stat_fallback=True)
    machine = machine_info(
        software, hash_flags=True, changes="with uncommitted changes in the working tree:"
    )
    run = Run(args=args, machine=machine, started=started)
    run.load.append(os.getloadavg())
    note_progress(f"working in {work}")
    steps: list[tuple[str, Callable[[], None]]] = [
        ("files", lambda: setattr(run, "files", bench_files(work, args.size_mib, args.repeat))),
        ("startup", lambda: setattr(run, "startup", bench_startup(work, args.startup_runs))),
        ("log", lambda: setattr(run, "log", bench_log(
            work, args.entries, args.batch, args.per_command, args.proofs, args.log_repeat))),
    ]  # fmt: skip
    with cleaned_up(work, args.keep):
        for name, step in steps:
            if name in args.parts:
                step()
    run.seconds = time.perf_counter() - t0
    run.load.append(os.getloadavg())
    report = render(run)
    if args.out is not None:
        args.out.write_text(report + _kept_sections(args.out), encoding="utf-8")
        note_progress(f"wrote {args.out}")
    else:
        sys.stdout.write(report)
    if args.json is not None:
        args.json.write_text(json.dumps(to_jsonable(run), indent=2, default=str) + "\n")
    return 0


def _kept_sections(path: Path) -> str:
    """The sections other benchmarks own (between their begin/end markers), kept on rewrite."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    kept = []
    for name in ("bench/chat.py", "bench/capture.py"):
        begin, end = section_markers(name)
        if begin in text and end in text:
            kept.append(text[text.index(begin) : text.index(end) + len(end)])
    return "".join("\n" + section + "\n" for section in kept)


if __name__ == "__main__":
    sys.exit(main())
