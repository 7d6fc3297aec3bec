"""Helpers shared by the benchmarks (bench/run.py, bench/chat.py, bench/capture.py).

The scripts run as ``.venv/bin/python bench/X.py``, which puts this folder first on
``sys.path``, so they import this module as ``common``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from custody.case import Case
    from custody.signing import Signer

ROOT = Path(__file__).resolve().parents[1]
MB = 1_000_000
MIB = 1 << 20
TIME_BIN = Path("/usr/bin/time")
PASSPHRASE = "benchmark passphrase, not a secret"  # noqa: S105 (throw-away keys)


def note_progress(message: str) -> None:
    """Progress on stderr (stdout is the report when no output file is given)."""
    stamp = datetime.now(UTC).strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- processes


@dataclass(frozen=True, slots=True)
class Sample:
    """One finished process: wall seconds, CPU seconds (user + system), peak RSS in bytes."""

    wall: float
    cpu: float
    rss: int
    out: str


def run_timed(cmd: Sequence[str], env: dict[str, str]) -> tuple[Sample, int, str]:
    """Run ``cmd`` to completion: its sample, exit code and standard error.

    GNU time (``/usr/bin/time``) when installed, else ``wait4`` on the child. Linux carries
    a process's peak RSS across ``exec``, so the ``wait4`` figure is an upper bound that
    includes the size of this (forking) Python process; GNU time forks from a process of
    about 1 MB and gives the command's own peak.
    """
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as scratch,
    ):
        timing = Path(scratch) / "time"
        use_time = TIME_BIN.exists()
        full = [str(TIME_BIN), "-f", "%U %S %M", "-o", str(timing), *cmd] if use_time else cmd
        start = time.perf_counter()
        proc = subprocess.Popen(full, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, errors = out.read().decode(), err.read().decode(errors="replace")
        if use_time:
            fields = timing.read_text(encoding="ascii").split()[-3:]
            cpu, rss = float(fields[0]) + float(fields[1]), int(fields[2]) * 1024
        else:
            cpu, rss = usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024
    return Sample(wall, cpu, rss, text), code, errors


def check_exit(cmd: Sequence[str], code: int, errors: str, ok: Sequence[int] = (0,)) -> None:
    """Raise ``RuntimeError`` (with the end of stderr) when ``code`` is not in ``ok``."""
    if code not in ok:
        raise RuntimeError(f"{' '.join(cmd)} exited {code}: {errors.strip()[-2000:]}")


def measure(cmd: Sequence[str], env: dict[str, str]) -> Sample:
    """Run ``cmd`` to completion; its wall time, CPU time and peak RSS (see :func:`run_timed`).

    Raises:
        RuntimeError: the command failed.
    """
    sample, code, errors = run_timed(cmd, env)
    check_exit(cmd, code, errors)
    return sample


def median_sample(samples: Sequence[Sample]) -> Sample:
    """Median wall and CPU time; the highest peak RSS seen."""
    return Sample(
        statistics.median(s.wall for s in samples),
        statistics.median(s.cpu for s in samples),
        max(s.rss for s in samples),
        samples[-1].out,
    )


def custody_cmd() -> list[str]:
    """The installed ``custody`` console script next to this interpreter, else ``-m``."""
    script = Path(sys.executable).parent / "custody"
    return [str(script)] if script.exists() else [sys.executable, "-m", "custody"]


def clean_env() -> dict[str, str]:
    """This process's environment without any ``CUSTODY_`` variable."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CUSTODY_")}


def custody_env(home: Path, *, fast_kdf: bool = True) -> dict[str, str]:
    """The environment of every custody subprocess: its own home and a passphrase, and
    the fast (test) KDF unless ``fast_kdf`` is false.

    Byte-code caches go to ``<work>/pycache`` (``PYTHONPYCACHEPREFIX``), so Python starts as
    it does after a normal install even where ``PYTHONDONTWRITEBYTECODE`` is set, and
    nothing is written into the source tree.
    """
    env = clean_env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(home.parent / "pycache")
    env["CUSTODY_HOME"] = str(home)
    env["CUSTODY_PASSPHRASE"] = PASSPHRASE
    if fast_kdf:
        env["CUSTODY_UNSAFE_FAST_KDF"] = "1"
    return env


def peer_env() -> dict[str, str]:
    """The environment of the peer tools: no custody variables, the C locale."""
    return clean_env() | {"LC_ALL": "C"}


# --------------------------------------------------------------------------- machine


def first_line(cmd: Sequence[str]) -> str:
    """The first non-blank line ``cmd`` prints, else ``unknown``."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    lines = [ln.strip() for ln in proc.stdout.splitlines() if ln.strip()]
    return lines[0] if lines else "unknown"


CHANGES_IN = "with uncommitted changes in"


def code_version(changes: str = CHANGES_IN) -> str:
    """custody's version and the commit measured (and whether src/ had local changes,
    listed after ``changes``)."""
    from custody import __version__

    commit = first_line(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    status = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()
    changed = [line[3:] for line in status if line[3:]]
    if not changed:
        return f"custody {__version__}, commit {commit}"
    shown = ", ".join(f"`{c}`" for c in changed[:4]) + (", ..." if len(changed) > 4 else "")
    return f"custody {__version__}, commit {commit}, {changes} {shown}"


def hashing_software(work: Path, *, stat_fallback: bool = False) -> dict[str, str]:
    """The hash implementations compared and the filesystem of the work folder."""
    fstype = first_line(["findmnt", "-n", "-o", "FSTYPE", "-T", str(work)])
    if stat_fallback and fstype == "unknown":
        fstype = first_line(["stat", "-f", "-c", "%T", str(work)])
    return {
        "hashlib backend": ssl.OPENSSL_VERSION,
        "coreutils": first_line(["sha256sum", "--version"]),
        "work folder filesystem": fstype,
    }


def machine_info(
    software: dict[str, str], *, hash_flags: bool = False, changes: str = CHANGES_IN
) -> dict[str, str]:
    """The machine table: CPUs, RAM, kernel, Python, then ``software``, the code measured
    and how processes are timed (``hash_flags``: also the CPU's SHA/AVX flags)."""
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    model = next(
        (ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if ln.startswith("model name")),
        platform.processor() or "unknown",
    )
    meminfo = Path("/proc/meminfo").read_text(encoding="ascii").split()
    ram_kib = int(meminfo[meminfo.index("MemTotal:") + 1])
    info = {"cpus (nproc)": str(len(os.sched_getaffinity(0))), "cpu model": model}
    if hash_flags:
        flags_line = next((ln for ln in cpuinfo.splitlines() if ln.startswith("flags")), "")
        flags = set(flags_line.split(":", 1)[-1].split())
        accel = [name for name in ("sha_ni", "avx2", "avx512f") if name in flags]
        info["cpu hash flags"] = ", ".join(accel) or "none of sha_ni/avx2/avx512f"
    return info | {
        "ram": f"{ram_kib / (1 << 20):.1f} GiB",
        "kernel": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        **software,
        "code measured": code_version(changes),
        "process timing": "GNU time (/usr/bin/time)"
        if TIME_BIN.exists()
        else "wait4(2) (peak RSS is an upper bound: it includes the forking Python process)",
    }


def in_process_case(work: Path) -> tuple[Path, Signer, Case]:
    """A home with a fast-KDF key and a case made with it, for work done in this process:
    ``(home, signer, case)``."""
    os.environ["CUSTODY_UNSAFE_FAST_KDF"] = "1"  # read when the key is made
    from custody import keys, locker

    home = work / "home-phases"
    signer = keys.generate_key(home, PASSPHRASE)
    case = locker.create_case(
        work / "case-phases", name="Phases", operator=keys.Operator("Bench"), signer=signer,
        home=home,
    )  # fmt: skip
    return home, signer, case


# --------------------------------------------------------------------------- the run


@dataclass
class BaseRun:
    """What every benchmark run records besides its own figures."""

    args: argparse.Namespace
    machine: dict[str, str]
    started: datetime
    seconds: float = 0.0
    load: list[tuple[float, float, float]] = field(default_factory=list)


@contextlib.contextmanager
def cleaned_up(work: Path, keep: bool) -> Iterator[None]:
    """Delete ``work`` when the block ends (however it ends), unless ``keep``."""
    try:
        yield
    finally:
        if keep:
            note_progress(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------- report


def mb(n: int) -> str:
    return f"{n / MB:.1f} MB"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table and the blank line after it."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def load_text(load: Sequence[float]) -> str:
    """A load-average triple as ``1.00 / 2.00 / 3.00``."""
    return " / ".join(f"{x:.2f}" for x in load)


def shared_machine_note(run: BaseRun) -> str:
    """When and how long the run took, and the load on the shared machine (an open
    parenthesis: the caller ends the sentence)."""
    return (
        f"Run on {run.started:%Y-%m-%d %H:%M} UTC, {run.seconds / 60:.1f} minutes in all. "
        "A shared virtual machine with other work beside the benchmark (load average "
        f"{load_text(run.load[0])} at the start, {load_text(run.load[-1])} at the end, "
        "over 1 / 5 / 15 minutes"
    )


def section_markers(script: str) -> tuple[str, str]:
    """The comments around the section ``script`` owns in docs/benchmarks.md."""
    return f"<!-- {script}: begin -->", f"<!-- {script}: end -->"


def update_doc(path: Path, section: str, script: str) -> None:
    """Replace the section of ``script`` in ``path`` (between its markers), else append it."""
    begin, end = section_markers(script)
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def write_section(section: str, update: Path | None, script: str) -> None:
    """Write ``section`` into ``update`` (see :func:`update_doc`), else to stdout."""
    if update is not None:
        update_doc(update, section, script)
        note_progress(f"updated {update}")
    else:
        sys.stdout.write(section)
