"""Court bundles: ``custody bundle verify`` beside the BagIt checkers, and
``custody bundle create`` of a few messages from chats of growing size.

Usage::

    .venv/bin/python bench/bundle.py [--size-mib 1024] [--small-files 2000]
                                     [--sizes 10000,100000,1000000]
                                     [--repeat 3] [--parts verify,create]
                                     [--profile auto] [--update docs/benchmarks.md] [--keep]

Everything is measured in one run on this machine, with GNU time (else ``wait4``): wall
time, CPU time and peak RSS of every process, reported as ratios; nothing here is a timed
test. Generated data lives in a fresh folder under ``$TMPDIR`` (else ``/tmp``), deleted at
the end unless ``--keep`` is given.

1. Verify. A case holds one file of ``--size-mib`` MiB of random bytes (streamed to disk)
   and ``--small-files`` files of 1-4 KiB, added with ``custody add`` (one command for the
   small ones). ``custody bundle create --select FILE`` discloses all of them; the zip is
   then extracted to a folder. On the same bag, each command is run once untimed (the
   page cache is then warm), then in 3 interleaved rounds (medians reported):
   ``custody bundle verify OUT.zip`` (reads the zip in place), and in the extracted folder
   ``sha256sum -c manifest-sha256.txt``, ``sha512sum -c manifest-sha512.txt`` and
   ``bagit.py --validate DIR`` (bagit-python, which hashes every file with both manifests'
   algorithms). The issue's target: custody faster than ``bagit.py`` and ``sha256sum -c``.
2. Creation. For each of ``--sizes``, a WhatsApp export of that many messages (the
   generator of bench/chat.py) is imported into its own case (setup: its time is given
   only as context), then ``custody bundle create`` discloses 10 messages spread evenly
   through the chat (``--message <import id>:<seq>``), 3 times (median). The issue's
   target: the time follows what is disclosed, not the size of the case. When the largest
   size takes over 1.5x the smallest's time (``--profile auto``), one more creation of the
   largest is run under ``cProfile`` and its top costs are reported.

``custody`` runs with ``CUSTODY_UNSAFE_FAST_KDF=1`` in a fresh ``CUSTODY_HOME``: the key's
KDF is a fixed cost per signing command, measured in bench/run.py.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from chat import (
    CPU_RESOLUTION,
    ZONE,
    ExportStats,
    Profile,
    generate_export,
    profile_tables,
    ratio,
    read_profile,
    secs,
)
from common import (
    MB,
    MIB,
    BaseRun,
    Sample,
    cleaned_up,
    custody_cmd,
    custody_env,
    hashing_software,
    machine_info,
    mb,
    measure,
    median_sample,
    note_progress,
    peer_env,
    section_markers,
    shared_machine_note,
    table,
    write_section,
)
from run import make_random_file

SCRIPT = "bench/bundle.py"
BEGIN, END = section_markers(SCRIPT)
BAGIT = Path(sys.executable).parent / "bagit.py"
DISCLOSED = 10  # messages disclosed from each chat
PROPORTIONAL_LIMIT = 1.5  # largest / smallest creation time still called "flat"
ISSUE_REFERENCE = {"bagit.py --validate": 1.70, "sha256sum -c": 1.98}  # seconds, from the issue


# --------------------------------------------------------------------------- verify


@dataclass
class VerifyResult:
    """The verify part: its setup (context) and the interleaved rounds."""

    size: int  # the big file
    small_files: int
    small_bytes: int
    write_seconds: float
    add_big: Sample
    add_small: Sample
    create: Sample
    created: dict[str, Any]
    unzip_seconds: float
    payload_files: int
    payload_bytes: int
    checked: dict[str, Any]
    rounds: dict[str, list[Sample]]

    def median(self, name: str) -> Sample:
        return median_sample(self.rounds[name])


def write_small_files(folder: Path, count: int, seed: int = 23) -> int:
    """``count`` files of 1-4 KiB of random bytes in ``folder``; their total size."""
    rng = random.Random(seed)
    folder.mkdir()
    total = 0
    for i in range(count):
        n = rng.randint(1024, 4096)
        (folder / f"note-{i:05d}.bin").write_bytes(os.urandom(n))
        total += n
    return total


def verify_commands(bundle: Path, bag: Path) -> dict[str, list[str]]:
    """The commands compared, by the label the report gives them."""
    return {
        "custody bundle verify OUT.zip": [*custody_cmd(), "bundle", "verify", str(bundle)],
        "sha256sum -c manifest-sha256.txt": ["env", "-C", str(bag), "sha256sum", "-c",
                                             "manifest-sha256.txt"],
        "sha512sum -c manifest-sha512.txt": ["env", "-C", str(bag), "sha512sum", "-c",
                                             "manifest-sha512.txt"],
        "bagit.py --validate DIR": [str(BAGIT), "--validate", str(bag)],
    }  # fmt: skip


def bench_verify(work: Path, size_mib: int, small_files: int, repeat: int) -> VerifyResult:
    cmd = custody_cmd()
    env = custody_env(work / "home-verify")
    case = work / "case-verify"
    measure([*cmd, "init", str(case), "--name", "Verify", "--operator", "Bench"], env)
    big = work / "evidence.bin"
    note_progress(f"writing {size_mib} MiB of random data to {big}")
    write_seconds = make_random_file(big, size_mib * MIB)
    small = work / "small"
    small_bytes = write_small_files(small, small_files)
    note_progress("custody add of the big file, then of the small ones (one command)")
    add_big = measure([*cmd, "add", str(big), "--case", str(case), "--json"], env)
    names = sorted(str(p) for p in small.iterdir())
    add_small = measure([*cmd, "add", *names, "--case", str(case), "--json"], env)
    entries = [int(a["entry"]) for s in (add_big, add_small) for a in json.loads(s.out)["added"]]
    select = work / "select.json"
    select.write_text(json.dumps({"artifacts": entries}), encoding="utf-8")
    bundle = work / "bundle.zip"
    note_progress(f"custody bundle create of {len(entries):,} artifacts")
    create = measure(
        [*cmd, "bundle", "create", str(bundle), "--select", str(select), "--case", str(case),
         "--json"],
        env,
    )  # fmt: skip
    shutil.rmtree(case)  # the bag is all that is measured from here on
    shutil.rmtree(small)
    big.unlink()
    bag = work / "bag"
    note_progress(f"extracting {bundle.name} to {bag}")
    start = time.perf_counter()
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(bag)
    unzip_seconds = time.perf_counter() - start
    payload = [p for p in (bag / "data").rglob("*") if p.is_file()]
    manifest = (bag / "manifest-sha256.txt").read_text(encoding="utf-8").splitlines()
    assert len(manifest) == len(payload), "manifest-sha256.txt lists every payload file"
    commands = verify_commands(bundle, bag)
    peers = peer_env()
    note_progress("one untimed run of each (warms the page cache)")
    warm = measure([*cmd, "bundle", "verify", str(bundle), "--json"], env)
    checked = json.loads(warm.out)
    for name, c in commands.items():
        measure(c, env if name.startswith("custody") else peers)
    rounds: dict[str, list[Sample]] = {name: [] for name in commands}
    for r in range(repeat):
        note_progress(f"round {r + 1}/{repeat}: {', '.join(commands)}")
        for name, c in commands.items():
            rounds[name].append(measure(c, env if name.startswith("custody") else peers))
    return VerifyResult(
        size=size_mib * MIB,
        small_files=small_files,
        small_bytes=small_bytes,
        write_seconds=write_seconds,
        add_big=add_big,
        add_small=add_small,
        create=create,
        created=json.loads(create.out),
        unzip_seconds=unzip_seconds,
        payload_files=len(payload),
        payload_bytes=sum(p.stat().st_size for p in payload),
        checked=checked,
        rounds=rounds,
    )


# --------------------------------------------------------------------------- creation


@dataclass
class CreateResult:
    """One chat size: the import (setup) and the creations of a 10-message bundle."""

    export: ExportStats
    imported: Sample
    import_id: str
    messages: int
    ids: list[str]
    creates: list[Sample]
    created: dict[str, Any]
    bundle_size: int
    verify: Sample

    @property
    def create(self) -> Sample:
        return median_sample(self.creates)


def spread_ids(import_id: str, count: int, n: int = DISCLOSED) -> list[str]:
    """``n`` message ids spread evenly from the first message to the last."""
    seqs = sorted({round(i * (count - 1) / (n - 1)) for i in range(n)})
    return [f"{import_id}:{seq}" for seq in seqs]


def create_cmd(out: Path, case: Path, ids: Sequence[str]) -> list[str]:
    """``custody bundle create`` arguments (after the program) disclosing ``ids``."""
    picks = [arg for mid in ids for arg in ("--message", mid)]
    return ["bundle", "create", str(out), *picks, "--case", str(case), "--json"]


def bench_create(work: Path, count: int, repeat: int) -> tuple[CreateResult, Path]:
    """Import a ``count``-message chat into a fresh case, then time the bundles; the case."""
    cmd = custody_cmd()
    env = custody_env(work / "home-create")
    export = work / f"WhatsApp Chat with Family {count}.txt"
    note_progress(f"writing a {count:,}-message export")
    stats = generate_export(export, count)
    case = work / f"case-{count}"
    measure([*cmd, "init", str(case), "--name", "Chat", "--operator", "Bench"], env)
    note_progress(f"  custody import ({mb(stats.size)}, setup)")
    imported = measure(
        [*cmd, "import", str(export), "--case", str(case), "--timezone", ZONE, "--json"], env
    )
    export.unlink()
    result = json.loads(imported.out)
    import_id, messages = str(result["import_id"]), int(result["messages"])
    note_progress(f"    {imported.wall:.1f} s; import {import_id}, {messages:,} messages")
    ids = spread_ids(import_id, messages)
    creates: list[Sample] = []
    out = work / f"bundle-{count}-0.zip"
    for r in range(repeat):
        out = work / f"bundle-{count}-{r}.zip"
        creates.append(measure([*cmd, *create_cmd(out, case, ids)], env))
        note_progress(
            f"  bundle create {r + 1}/{repeat}: {creates[-1].wall:.2f} s, "
            f"peak RSS {creates[-1].rss / MB:.0f} MB"
        )
    verify = measure([*cmd, "bundle", "verify", str(out)], env)
    return CreateResult(
        export=stats,
        imported=imported,
        import_id=import_id,
        messages=messages,
        ids=ids,
        creates=creates,
        created=json.loads(creates[-1].out),
        bundle_size=out.stat().st_size,
        verify=verify,
    ), case


def profile_create(work: Path, case: Path, ids: Sequence[str], top: int) -> tuple[Profile, Sample]:
    """One more creation from ``case`` under cProfile."""
    out = work / "create.prof"
    note_progress("profiling one bundle create with cProfile")
    sample = measure(
        [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "custody",
         *create_cmd(work / "bundle-profiled.zip", case, ids)],
        custody_env(work / "home-create"),
    )  # fmt: skip
    return read_profile(out, top), sample


# --------------------------------------------------------------------------- report


@dataclass
class Run(BaseRun):
    verify: VerifyResult | None = None
    creates: list[CreateResult] = field(default_factory=list)
    profile: Profile | None = None
    profiled: Sample | None = None


def yes(ok: bool) -> str:
    return f"**{'yes' if ok else 'no'}**"


def render(run: Run) -> str:
    lines = [
        BEGIN,
        "## Court bundles",
        "",
        "<!-- Generated by bench/bundle.py; edit the generator, not this section. -->",
        "",
        "`custody bundle verify` side by side with the BagIt checkers a recipient would "
        "otherwise run on the same bag, and `custody bundle create` of 10 messages from "
        "chats of growing size (issue targets: verify faster than `bagit.py` and "
        "`sha256sum -c`; creation time proportional to what is disclosed, not to the case).",
        "",
        "```sh",
        f".venv/bin/python bench/bundle.py {' '.join(run.args.argv)}".rstrip(),
        "```",
        "",
        *table(["", ""], list(run.machine.items())),
        shared_machine_note(run) + "), so CPU times are given with the wall times."
        " `custody` ran with `CUSTODY_UNSAFE_FAST_KDF=1` in a fresh `CUSTODY_HOME` (the "
        "scrypt unlock of signing commands is a fixed cost, measured above; `bundle verify` "
        "needs no key).",
    ]
    if run.verify is not None:
        lines += _verify_lines(run.verify)
    if run.creates:
        lines += _create_lines(run)
    if run.profile is not None and run.profiled is not None:
        lines += _profile_lines(run.profile, run.profiled, run.creates[-1], run.args.profile_top)
    lines += ["", END, ""]
    return "\n".join(lines)


def _verify_lines(v: VerifyResult) -> list[str]:
    mib = v.size // MIB
    files = v.small_files + 1
    c = v.median("custody bundle verify OUT.zip")
    lines = [
        "",
        f"### Verifying a bag of {mib:,} MiB + {v.small_files:,} small files",
        "",
        f"Setup: one file of {mib:,} MiB of random bytes (written in "
        f"{secs(v.write_seconds)}) and {v.small_files:,} files of 1-4 KiB "
        f"({mb(v.small_bytes)}) added to one case, then a bundle disclosing all "
        f"{files:,} artifacts (`--select` with their entry numbers). The bag holds "
        f"{v.payload_files:,} payload files ({mb(v.payload_bytes)}: each artifact, its "
        "details record and a disclosure record for each, plus keys and log proofs); the "
        f"zip is {mb(int(v.created['size']))}, its members stored. Setup times, one run each:",
        "",
        *table(
            ["step", "wall", "CPU (user+sys)", "peak RSS"],
            [
                [
                    f"`custody add` of the {mib:,} MiB file",
                    secs(v.add_big.wall),
                    secs(v.add_big.cpu),
                    mb(v.add_big.rss),
                ],
                [
                    f"`custody add` of the {v.small_files:,} small files (one command)",
                    secs(v.add_small.wall),
                    secs(v.add_small.cpu),
                    mb(v.add_small.rss),
                ],
                [
                    f"`custody bundle create --select` ({files:,} artifacts)",
                    secs(v.create.wall),
                    secs(v.create.cpu),
                    mb(v.create.rss),
                ],
                ["extract the zip (Python `zipfile`, in-process)", secs(v.unzip_seconds), "-", "-"],
            ],
        ),
        "Each command ran once untimed (page cache warm), then in "
        f"{len(v.rounds[next(iter(v.rounds))])} interleaved rounds; median wall and CPU "
        "time, highest peak RSS. `custody bundle verify` reads the zip in place and checks "
        "both manifests (SHA-256 and SHA-512), the tag manifests, the signatures, the log "
        "proofs and every unit; the others run in the extracted folder. `bagit.py "
        "--validate` (one process, its default) hashes every file with both manifests' "
        "algorithms and checks the tag manifests and completeness; `sha256sum -c` and "
        "`sha512sum -c` check one manifest each and nothing else. custody hashes each file "
        "once, SHA-512 on a second thread beside SHA-256 (`custody.hashing.hash_stream`): "
        "its wall time counts on a second core being free, so on a loaded machine its CPU "
        "time is the fairer comparison.",
        "",
        "| command | wall | CPU (user+sys) | throughput | peak RSS | custody / this: wall | CPU |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in v.rounds:
        s = v.median(name)
        lines.append(
            f"| `{name}` | {secs(s.wall)} | {secs(s.cpu)} | "
            f"{v.payload_bytes / MB / s.wall:.0f} MB/s | {mb(s.rss)} | "
            f"{ratio(c.wall, s.wall)} | {ratio(c.cpu, s.cpu, CPU_RESOLUTION)} |"
        )
    checked = v.checked.get("checked", {})
    counts = ", ".join(f"{n:,} {what.replace('_', ' ')}" for what, n in checked.items())
    bagit, sha = v.median("bagit.py --validate DIR"), v.median("sha256sum -c manifest-sha256.txt")
    lines += [
        "",
        f"`custody bundle verify` found the bundle verified: "
        f"{yes(v.checked.get('verified') is True)} ({counts}; "
        f"{len(v.checked.get('findings', []))} findings). Every peer accepted the bag (exit 0).",
        "",
        "Targets (the issue's reference figures for 1 GiB + 2,000 files: `bagit.py` "
        f"{ISSUE_REFERENCE['bagit.py --validate']:.2f} s, `sha256sum -c` "
        f"{ISSUE_REFERENCE['sha256sum -c']:.2f} s):",
        "",
        f"- faster than `bagit.py --validate`: {yes(c.wall < bagit.wall)} "
        f"({secs(c.wall)} against {secs(bagit.wall)}, {ratio(c.wall, bagit.wall)}).",
        f"- faster than `sha256sum -c`: {yes(c.wall < sha.wall)} "
        f"({secs(c.wall)} against {secs(sha.wall)}, {ratio(c.wall, sha.wall)}).",
        "",
        f"In CPU time custody used {ratio(c.cpu, bagit.cpu)} that of `bagit.py` and "
        f"{ratio(c.cpu, sha.cpu)} that of `sha256sum -c`. Here the peers took "
        f"{ratio(bagit.wall, ISSUE_REFERENCE['bagit.py --validate'])} (`bagit.py`) and "
        f"{ratio(sha.wall, ISSUE_REFERENCE['sha256sum -c'])} (`sha256sum -c`) the wall "
        "time of the issue's figures: this machine, with its load, is slower than the one "
        "they come from; the ratios are what carry over.",
    ]
    return lines


def _create_lines(run: Run) -> list[str]:
    rows = []
    for r in run.creates:
        c, units = r.create, r.created.get("units", {})
        rows.append(
            [f"{r.messages:,}", mb(r.export.size), secs(r.imported.wall), mb(r.imported.rss),
             secs(c.wall), secs(c.cpu), mb(c.rss),
             f"{int(units['disclosed']):,} / {int(units['withheld']):,}",
             f"{r.bundle_size / 1000:.1f} kB", secs(r.verify.wall)]
        )  # fmt: skip
    small, big = run.creates[0], run.creates[-1]
    s, b = small.create, big.create
    grows = b.wall / s.wall
    per = (b.wall - s.wall) / (big.messages - small.messages) * 1e6
    lines = [
        "",
        f"### Creating a bundle of {DISCLOSED} messages",
        "",
        "For each size, a generated WhatsApp export (the generator of bench/chat.py) "
        "imported into its own case (setup: `custody import --timezone Europe/Berlin`, one "
        f"run, given as context), then `custody bundle create` with {DISCLOSED} `--message "
        "<import id>:<seq>` spread evenly from the first message to the last, "
        f"{len(small.creates)} times (median wall and CPU, highest peak RSS; each run "
        "appends one export entry to the case log). The bundle of the last run was then "
        "checked with `custody bundle verify` (one run).",
        "",
        *table(
            [
                "messages in the case",
                "export",
                "import (setup)",
                "import peak RSS",
                "bundle create",
                "CPU",
                "peak RSS",
                "units disclosed / withheld",
                "bundle size",
                "bundle verify",
            ],
            rows,
        ),
        f"From {small.messages:,} to {big.messages:,} messages in the case "
        f"({big.messages / small.messages:.0f}x), the same {DISCLOSED} messages disclosed: "
        f"wall {secs(s.wall)} → {secs(b.wall)} ({grows:.1f}x), CPU {secs(s.cpu)} → "
        f"{secs(b.cpu)} ({b.cpu / s.cpu:.1f}x), peak RSS {mb(s.rss)} → {mb(b.rss)} "
        f"({b.rss / s.rss:.1f}x); {per:.1f} µs and "
        f"{(b.rss - s.rss) / (big.messages - small.messages):.0f} bytes of peak RSS for "
        "each further message in the case, none of them disclosed.",
        "",
        f"- Time proportional to what is disclosed (largest case within "
        f"{PROPORTIONAL_LIMIT:g}x the smallest's time): {yes(grows <= PROPORTIONAL_LIMIT)}.",
    ]
    return lines


def _profile_lines(profile: Profile, sample: Sample, big: CreateResult, top: int) -> list[str]:
    lines = [
        "",
        "### Where the creation's time goes",
        "",
        f"One more `custody bundle create` of the same {DISCLOSED} messages from the "
        f"{big.messages:,}-message case, under `cProfile` (`python -m cProfile -m custody "
        f"bundle create …`): {secs(sample.wall)} wall with the profiler's overhead "
        f"({ratio(sample.wall, big.create.wall)} the unprofiled run), {profile.total:.1f} s "
        "of profiled time. Deterministic profiling over-weights code called once per "
        "message against C code; the shares are a guide. Own time (these add up to 100 %):",
        "",
    ]
    return lines + profile_tables(
        profile,
        top,
        "Cumulative time (the function and everything it calls; frames that only call the "
        "command, the CLI's and click's, are left out; shares overlap):",
        "Own time summed per source file:",
    )


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--size-mib", type=int, default=1024, help="the big file of the bag")
    p.add_argument("--small-files", type=int, default=2000, help="small files in the bag")
    p.add_argument(
        "--sizes",
        default="10000,100000,1000000",
        help="messages in each chat, comma-separated, smallest first",
    )
    p.add_argument("--repeat", type=int, default=3, help="rounds of each measurement (median)")
    p.add_argument("--parts", default="verify,create", help="verify, create or both")
    p.add_argument(
        "--profile",
        choices=("auto", "always", "never"),
        default="auto",
        help=f"profile one creation from the largest chat (auto: when it takes over "
        f"{PROPORTIONAL_LIMIT:g}x the smallest's time)",
    )
    p.add_argument("--profile-top", type=int, default=15, help="functions listed")
    p.add_argument("--update", type=Path, help="write the section into this Markdown file")
    p.add_argument("--keep", action="store_true", help="keep the generated data")
    args = p.parse_args(argv)
    args.argv = list(argv)
    try:
        args.sizes = [int(s) for s in args.sizes.split(",")]
    except ValueError:
        p.error("--sizes: comma-separated numbers of messages")
    args.parts = set(args.parts.split(","))
    if not args.parts <= {"verify", "create"}:
        p.error("--parts: verify, create or both")
    if min(args.sizes) < DISCLOSED or args.sizes != sorted(args.sizes) or args.repeat < 1:
        p.error(f"need --sizes of at least {DISCLOSED}, smallest first, and --repeat >= 1")
    if args.size_mib < 1 or args.small_files < 1:
        p.error("need --size-mib >= 1 and --small-files >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if "verify" in args.parts and not BAGIT.exists():
        sys.exit(f"{BAGIT} is missing: install bagit into this environment")
    work = Path(tempfile.mkdtemp(prefix="custody-bench-bundle-"))
    need = 3 * args.size_mib * MIB + 200 * MB if "verify" in args.parts else 0
    if shutil.disk_usage(work).free < need:
        shutil.rmtree(work)
        sys.exit(f"{work.parent} has under {need / 1e9:.1f} GB free: lower --size-mib")
    software = hashing_software(work) | {"bagit-python": version("bagit")}
    run = Run(args, machine_info(software, hash_flags=True), datetime.now(UTC))
    run.load.append(os.getloadavg())
    t0 = time.perf_counter()
    note_progress(f"working in {work}")
    with cleaned_up(work, args.keep):
        # fill the byte-code cache (PYTHONPYCACHEPREFIX is <work>/pycache), untimed
        measure([*custody_cmd(), "--help"], custody_env(work / "home-help"))
        if "verify" in args.parts:
            run.verify = bench_verify(work, args.size_mib, args.small_files, args.repeat)
            if not args.keep:
                shutil.rmtree(work / "bag")
        case = work
        for count in args.sizes if "create" in args.parts else []:
            result, case = bench_create(work, count, args.repeat)
            run.creates.append(result)
            if count != args.sizes[-1] and not args.keep:
                shutil.rmtree(case)
        if run.creates:
            grows = run.creates[-1].create.wall > PROPORTIONAL_LIMIT * run.creates[0].create.wall
            if args.profile == "always" or (args.profile == "auto" and grows):
                run.profile, run.profiled = profile_create(
                    work, case, run.creates[-1].ids, args.profile_top
                )
    run.seconds = time.perf_counter() - t0
    run.load.append(os.getloadavg())
    write_section(render(run), args.update, SCRIPT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
