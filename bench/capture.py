"""custody capture of a local page, side by side with the plain headless Chromium a user
would otherwise run.

Usage::

    .venv/bin/python bench/capture.py [--rounds 3] [--batch 20] [--jobs 2]
                                      [--update docs/benchmarks.md]

Serves ``examples/web`` with a ``ThreadingHTTPServer`` on 127.0.0.1 (in this process, on
its own thread) and measures, in one run, with GNU time (else ``wait4``) wall time, CPU
time and peak RSS of every process:

* ``custody capture URL --allow-private --json`` into a case (WARC of every exchange,
  full-page screenshot, PDF, DOM, text, provenance, one signed entry);
* Chromium's own ``chromium --headless --no-sandbox --disable-gpu --screenshot`` and
  ``--print-to-pdf`` of the same URL (the plain browser: no WARC, no sealing), and
  ``--dump-dom``;
* a bare Playwright run with the same browser doing the page actions custody does,
  without recording (load, scroll to the bottom, wait for the network to be quiet,
  full-page screenshot, PDF): the comparison issue 3 sets its target against;
* when pywb is installed in ``.venv-peers``: the same Chromium screenshot and PDF made
  through pywb's recording proxy (``wayback --proxy-record``), which writes a WARC;
* a batch of ``--batch`` URLs (20 by default, as issue 3 asks; the same page under
  different query strings) with ``custody capture --batch FILE --jobs 2 --timeout 20``,
  against the Chromium screenshot + PDF of each URL run two at a time. The per-page
  timeout bounds the batch (a page that never settles costs at most 20 s plus its
  snapshots, and is PARTIAL); the local page settles in well under a second.

It also times the phases of ``--rounds`` captures run in-process (progress callbacks).
``custody`` runs with ``CUSTODY_UNSAFE_FAST_KDF=1`` in a fresh ``CUSTODY_HOME``: the
key's KDF is a fixed cost per command, measured in bench/run.py. Nothing here is a
timed test. Generated data lives under ``$TMPDIR`` (else ``/tmp``) and is deleted.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import common
from common import (
    ROOT,
    BaseRun,
    clean_env,
    cleaned_up,
    custody_cmd,
    custody_env,
    first_line,
    in_process_case,
    mb,
    note_progress,
    section_markers,
    shared_machine_note,
    table,
    write_section,
)

SITE = ROOT / "examples" / "web"
PEERS_VENV = ROOT / ".venv-peers"
VIEWPORT = (1280, 800)
TARGET = 1.5  # issue 3: capture at most 1.5x a bare Playwright run
BATCH = 20  # issue 3: a batch of 20 URLs
BATCH_TIMEOUT = 20  # seconds per page in the batch (custody capture --timeout): a bound
SCRIPT = "bench/capture.py"
BEGIN, END = section_markers(SCRIPT)


# --------------------------------------------------------------------------- processes


@dataclass(frozen=True, slots=True)
class Sample(common.Sample):
    """One finished process: wall seconds, CPU seconds (user + system), peak RSS in bytes,
    exit code.

    For a process tree (Chromium), CPU time counts the children waited for; peak RSS is
    the largest single process of the tree, not their sum.
    """

    code: int = 0


def measure(cmd: Sequence[str], env: dict[str, str], ok: Sequence[int] = (0,)) -> Sample:
    """Run ``cmd`` to completion; its wall time, CPU time, peak RSS and exit code.

    Raises:
        RuntimeError: the command exited with a code not in ``ok``.
    """
    sample, code, errors = common.run_timed(cmd, env)
    common.check_exit(cmd, code, errors, ok)
    return Sample(sample.wall, sample.cpu, sample.rss, sample.out, code)


def median_sample(samples: Sequence[Sample]) -> Sample:
    """Median wall and CPU time; the highest peak RSS and exit code seen."""
    m = common.median_sample(samples)
    return Sample(m.wall, m.cpu, m.rss, m.out, max(s.code for s in samples))


def machine_info(chromium: Path) -> dict[str, str]:
    software = {
        "chromium": f"{first_line([str(chromium), '--version'])} ({chromium})",
        "playwright (driver)": first_line([sys.executable, "-m", "playwright", "--version"]),
    }
    info = common.machine_info(software)
    wayback = PEERS_VENV / "bin" / "wayback"
    if wayback.exists():
        info["pywb"] = first_line([str(wayback), "--version"])
    return info


# --------------------------------------------------------------------------- the site


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 (a free port) on a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="bench-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- the peers


def chromium_cmd(chromium: Path, profile: Path, action: str, url: str) -> list[str]:
    """Plain headless Chromium: one action (``--screenshot=…``, ``--print-to-pdf=…``,
    ``--dump-dom``), a fresh profile, the viewport custody uses."""
    return [
        str(chromium),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={profile}",
        f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}",
        action,
        url,
    ]


BARE_PLAYWRIGHT = """
import asyncio, sys, time
from playwright.async_api import async_playwright

STEP = ("() => { window.scrollBy(0, window.innerHeight); return window.scrollY + "
        "window.innerHeight >= document.documentElement.scrollHeight - 2; }")

async def main(exe, url, out):
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=exe, headless=True, args=["--no-sandbox", "--disable-gpu"])
        context = await browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
        page = await context.new_page()
        inflight, last = set(), [time.monotonic()]
        def start(r):
            inflight.add(r); last[0] = time.monotonic()
        def end(r):
            inflight.discard(r); last[0] = time.monotonic()
        page.on("request", start)
        page.on("requestfinished", end)
        page.on("requestfailed", end)
        async def quiet(settle, budget):
            stop = time.monotonic() + budget
            while time.monotonic() < stop:
                if not inflight and time.monotonic() - last[0] >= settle:
                    return
                await asyncio.sleep(0.05)
        await page.goto(url, wait_until="load")
        for _ in range(20):
            bottom = await page.evaluate(STEP)
            await quiet(0.5, 2.0)
            if bottom:
                break
        await page.evaluate("() => window.scrollTo(0, 0)")
        await quiet(0.5, 60.0)
        png = await page.screenshot(full_page=True, type="png")
        pdf = await page.pdf(print_background=True)
        await context.close()
        await browser.close()
    with open(out + ".png", "wb") as f:
        f.write(png)
    with open(out + ".pdf", "wb") as f:
        f.write(pdf)

asyncio.run(main(*sys.argv[1:4]))
""".replace("WIDTH", str(VIEWPORT[0])).replace("HEIGHT", str(VIEWPORT[1]))


@dataclass
class Pywb:
    """A running pywb recording proxy (``wayback --proxy-record``)."""

    proc: subprocess.Popen[bytes]
    port: int
    root: Path
    started: float  # seconds until it accepted connections

    def warcs(self) -> list[Path]:
        return sorted((self.root / "collections" / "bench" / "archive").glob("*.warc*"))


def start_pywb(work: Path) -> Pywb | None:
    """Start pywb's recording proxy from ``.venv-peers`` (None when pywb is not there)."""
    bin_dir = PEERS_VENV / "bin"
    if not (bin_dir / "wayback").exists() or not (bin_dir / "wb-manager").exists():
        return None
    root = work / "pywb"
    root.mkdir()
    env = clean_env()
    subprocess.run([str(bin_dir / "wb-manager"), "init", "bench"], cwd=root, env=env,
                   check=True, capture_output=True)  # fmt: skip
    port = free_port()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(bin_dir / "wayback"), "--proxy", "bench", "--proxy-record", "-p", str(port),
         "-b", "127.0.0.1", "-t", "8"],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return Pywb(proc, port, root, time.perf_counter() - start)
        if proc.poll() is not None:
            return None
        time.sleep(0.1)
    proc.terminate()
    proc.wait(10)
    return None


def stop_pywb(pywb: Pywb) -> None:
    pywb.proc.terminate()
    try:
        pywb.proc.wait(10)
    except subprocess.TimeoutExpired:
        pywb.proc.kill()
        pywb.proc.wait(10)


def count_warc_records(paths: Sequence[Path]) -> dict[str, int]:
    """WARC-Type counts of the records in ``paths`` (with warcio from .venv)."""
    from warcio.archiveiterator import ArchiveIterator

    counts: dict[str, int] = {}
    for path in paths:
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                counts[record.rec_type] = counts.get(record.rec_type, 0) + 1
    return counts


# --------------------------------------------------------------------------- phases


@dataclass
class PhaseRun:
    phases: dict[str, float]  # seconds spent in each phase
    total: float
    status: str
    counts: dict[str, int]


def in_process_phases(work: Path, url: str, rounds: int) -> list[PhaseRun]:
    """``rounds`` captures of ``url`` in this process, each with its own browser (as the
    CLI does), timing the phases through the progress callback."""
    from custody.capture.options import CaptureOptions
    from custody.capture.progress import Phase, Progress
    from custody.capture.web import capture_page

    home, signer, case = in_process_case(work)
    options = CaptureOptions(allow_private=True)
    runs: list[PhaseRun] = []
    for _ in range(rounds):
        marks: list[tuple[str, float]] = []

        def seen(report: Progress, marks: list[tuple[str, float]] = marks) -> None:
            if not marks or marks[-1][0] != report.phase.value:
                marks.append((report.phase.value, time.perf_counter()))

        start = time.perf_counter()
        result = capture_page(case, url, options, signer=signer, home=home, progress=seen)
        end = time.perf_counter()
        phases: dict[str, float] = {}
        for (name, t), (_, t_next) in zip(
            marks, [*marks[1:], (Phase.DONE.value, end)], strict=True
        ):
            if name != Phase.DONE.value:
                phases[name] = phases.get(name, 0.0) + t_next - t
        if marks:
            phases[Phase.STARTING.value] = (
                phases.get(Phase.STARTING.value, 0.0) + marks[0][1] - start
            )
        runs.append(PhaseRun(phases, end - start, result.status.value, dict(result.counts)))
    return runs


# --------------------------------------------------------------------------- the run


@dataclass
class Run(BaseRun):
    url: str = ""
    single: dict[str, Sample] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)  # artifact bytes of one capture
    capture_json: dict[str, Any] = field(default_factory=dict)
    batch: dict[str, Sample] = field(default_factory=dict)
    batch_json: dict[str, Any] = field(default_factory=dict)
    pywb_started: float | None = None
    pywb_records: dict[str, int] = field(default_factory=dict)
    phases: list[PhaseRun] = field(default_factory=list)
    outputs_ok: dict[str, bool] = field(default_factory=dict)


CUSTODY_ONE = "custody capture URL --allow-private"
SHOT = "chromium --headless --screenshot"
PDF = "chromium --headless --print-to-pdf"
DOM = "chromium --headless --dump-dom"
BARE = "bare Playwright: load, scroll, settle, screenshot, PDF"
PYWB_SHOT = "pywb --proxy-record + chromium --screenshot"
PYWB_PDF = "pywb --proxy-record + chromium --print-to-pdf"


def _check_png(path: Path) -> bool:
    return path.exists() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _check_pdf(path: Path) -> bool:
    return path.exists() and path.read_bytes()[:5] == b"%PDF-"


def bench_single(work: Path, run: Run, chromium: Path, pywb: Pywb | None) -> None:
    url, rounds = run.url, run.args.rounds
    cmd, peers = custody_cmd(), clean_env()
    env = custody_env(work / "home")
    case = work / "case"
    measure([*cmd, "init", str(case), "--name", "Capture", "--operator", "Bench"], env)
    proxy_args = []
    if pywb is not None:
        proxy_args = [
            f"--proxy-server=http://127.0.0.1:{pywb.port}",
            "--proxy-bypass-list=<-loopback>",
        ]
    samples: dict[str, list[Sample]] = {}

    def take(name: str, sample: Sample) -> None:
        samples.setdefault(name, []).append(sample)

    note_progress("one untimed run of each row (page cache, byte-code, fonts, pywb)")
    warm = work / "warm"
    measure(chromium_cmd(chromium, warm / "s", f"--screenshot={warm}.png", url), peers)
    measure(chromium_cmd(chromium, warm / "p", f"--print-to-pdf={warm}.pdf", url), peers)
    measure(chromium_cmd(chromium, warm / "d", "--dump-dom", url), peers)
    measure([sys.executable, "-c", BARE_PLAYWRIGHT, str(chromium), url, str(warm)], peers)
    if pywb is not None:
        base = chromium_cmd(chromium, warm / "w", f"--screenshot={warm}-w.png", url)
        measure([*base[:-2], *proxy_args, *base[-2:]], peers)
    measure([*cmd, "capture", url, "--allow-private", "--case", str(case), "--json"], env, (0, 7))
    shutil.rmtree(warm, ignore_errors=True)
    for r in range(rounds):
        note_progress(f"single URL, round {r + 1}/{rounds}")
        sample = measure(
            [*cmd, "capture", url, "--allow-private", "--case", str(case), "--json"], env, (0, 7)
        )
        take(CUSTODY_ONE, sample)
        run.capture_json = json.loads(sample.out)
        prof = work / f"profile-{r}"
        shot, pdf = work / f"shot-{r}.png", work / f"page-{r}.pdf"
        take(SHOT, measure(chromium_cmd(chromium, prof / "s", f"--screenshot={shot}", url), peers))
        take(PDF, measure(chromium_cmd(chromium, prof / "p", f"--print-to-pdf={pdf}", url), peers))
        dom = measure(chromium_cmd(chromium, prof / "d", "--dump-dom", url), peers)
        take(DOM, dom)
        bare = work / f"bare-{r}"
        take(BARE, measure([sys.executable, "-c", BARE_PLAYWRIGHT, str(chromium), url, str(bare)],
                           peers))  # fmt: skip
        run.outputs_ok["chromium screenshot is a PNG"] = _check_png(shot)
        run.outputs_ok["chromium PDF is a PDF"] = _check_pdf(pdf)
        run.outputs_ok["chromium DOM holds the post"] = "post 48213" in dom.out
        run.outputs_ok["bare Playwright wrote a PNG and a PDF"] = _check_png(
            Path(f"{bare}.png")
        ) and _check_pdf(Path(f"{bare}.pdf"))
        if pywb is not None:
            pshot, ppdf = work / f"pywb-{r}.png", work / f"pywb-{r}.pdf"
            base = chromium_cmd(chromium, prof / "ws", f"--screenshot={pshot}", url)
            take(PYWB_SHOT, measure([*base[:-2], *proxy_args, *base[-2:]], peers))
            base = chromium_cmd(chromium, prof / "wp", f"--print-to-pdf={ppdf}", url)
            take(PYWB_PDF, measure([*base[:-2], *proxy_args, *base[-2:]], peers))
            run.outputs_ok["pywb-proxied screenshot is a PNG"] = _check_png(pshot)
        shutil.rmtree(prof, ignore_errors=True)
    run.single = {k: median_sample(v) for k, v in samples.items()}
    capture = run.capture_json["captures"][0]
    run.sizes = {k: int(a["size"]) for k, a in capture["artifacts"].items()}
    if pywb is not None:
        time.sleep(1.0)  # pywb writes its records as each response completes
        run.pywb_records = count_warc_records(pywb.warcs())


def bench_batch(work: Path, run: Run, chromium: Path) -> None:
    n, jobs = run.args.batch, run.args.jobs
    urls = [f"{run.url}?n={i}" for i in range(n)]
    listing = work / "urls.txt"
    listing.write_text("\n".join(urls) + "\n", encoding="utf-8")
    cmd = custody_cmd()
    env = custody_env(work / "home")
    case = work / "case-batch"
    measure([*cmd, "init", str(case), "--name", "Batch", "--operator", "Bench"], env)
    note_progress(f"batch of {n} URLs, --jobs {jobs}")
    sample = measure(
        [*cmd, "capture", "--batch", str(listing), "--jobs", str(jobs), "--allow-private",
         "--timeout", str(BATCH_TIMEOUT), "--case", str(case), "--json"],
        env,
        (0, 7),
    )  # fmt: skip
    run.batch[f"custody capture --batch ({n} URLs) --jobs {jobs}"] = sample
    run.batch_json = json.loads(sample.out)

    note_progress(f"peer batch: chromium screenshot + PDF of {n} URLs, {jobs} at a time")
    peers = clean_env()

    def one(i: int) -> tuple[Sample, Sample]:
        prof = work / f"batch-profile-{i}"
        url = urls[i]
        shot = measure(chromium_cmd(chromium, prof / "s", f"--screenshot={prof}.png", url), peers)
        pdf = measure(chromium_cmd(chromium, prof / "p", f"--print-to-pdf={prof}.pdf", url), peers)
        return shot, pdf

    start = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        pairs = list(pool.map(one, range(n)))
    wall = time.perf_counter() - start
    cpu = sum(a.cpu + b.cpu for a, b in pairs)
    rss = max(max(a.rss, b.rss) for a, b in pairs)
    run.batch[f"chromium --screenshot + --print-to-pdf, {n} URLs, {jobs} at a time"] = Sample(
        wall, cpu, rss, ""
    )


# --------------------------------------------------------------------------- report


def secs(s: float) -> str:
    return f"{s:.2f} s"


def render(run: Run) -> str:
    s = run.single
    c = s[CUSTODY_ONE]
    rounds = run.args.rounds
    plain = s[SHOT].wall + s[PDF].wall
    lines = [
        BEGIN,
        "## Web capture",
        "",
        "<!-- Generated by bench/capture.py; edit the generator, not this section. -->",
        "",
        "`custody capture` of a local page, side by side with the plain headless Chromium a "
        "user would otherwise run for a screenshot and a PDF (no WARC, no sealing), a bare "
        "Playwright run doing custody's page actions without recording (issue 3's yardstick: "
        f"capture at most {TARGET}x its time), and pywb's recording proxy where installed.",
        "",
        "```sh",
        f".venv/bin/python bench/capture.py {' '.join(run.args.argv)}".rstrip(),
        "```",
        "",
        *table(["", ""], list(run.machine.items())),
        shared_machine_note(run) + "; the end figure includes this benchmark's own batch, "
        "two Chromiums at once on the machine's CPUs). `custody` ran with "
        "`CUSTODY_UNSAFE_FAST_KDF=1` in a fresh `CUSTODY_HOME` (the scrypt unlock with the "
        "real KDF adds a fixed ~0.45 s and 129 MB per command: see the 1 KiB adds above) "
        "and `--json`.",
        "",
        f"The page: `examples/web` (an HTML post, a style sheet, a JPEG; "
        f"{sum(p.stat().st_size for p in SITE.iterdir()) / 1000:.1f} kB) served by "
        "`http.server.ThreadingHTTPServer` on 127.0.0.1 from a thread of the benchmark "
        f"process, at `{run.url}`. Every Chromium run gets a fresh `--user-data-dir` (no "
        f"HTTP cache carried over) and `--window-size={VIEWPORT[0]},{VIEWPORT[1]}`, "
        "custody's viewport. Each row ran once untimed first, then "
        f"{rounds} interleaved round(s); the table shows the median wall and CPU time and "
        "the highest peak RSS. CPU time of a process tree counts every child process "
        "waited for (Chromium's renderer, GPU and utility processes); peak RSS is that of "
        "the largest single process, not the tree's sum.",
        "",
        "### One URL",
        "",
        "| command | wall | CPU (user+sys) | peak RSS | custody / this: wall | CPU "
        "| what it makes |",
        "|---|---|---|---|---|---|---|",
    ]
    what = {
        CUSTODY_ONE: "a WARC of every exchange, screenshot (full page), PDF, DOM, text and "
        "provenance, stored, committed and sealed in one signed entry",
        SHOT: "a PNG of the viewport",
        PDF: "a PDF",
        DOM: "the DOM on stdout",
        BARE: "a full-page PNG and a PDF",
        PYWB_SHOT: "a PNG, and a WARC written by pywb",
        PYWB_PDF: "a PDF, and a WARC written by pywb",
    }
    for name, sample in s.items():
        lines.append(
            f"| `{name}` | {secs(sample.wall)} | {secs(sample.cpu)} | {mb(sample.rss)} | "
            f"{c.wall / sample.wall:.1f}x | {c.cpu / sample.cpu:.1f}x | {what[name]} |"
        )
    bare = s[BARE]
    lines += [
        f"| `{SHOT}` + `{PDF}` (two processes, one after the other) | {secs(plain)} | "
        f"{secs(s[SHOT].cpu + s[PDF].cpu)} | - | {c.wall / plain:.1f}x | "
        f"{c.cpu / (s[SHOT].cpu + s[PDF].cpu):.1f}x | PNG + PDF |",
    ]
    if PYWB_SHOT in s:
        pywb_pair = s[PYWB_SHOT].wall + s[PYWB_PDF].wall
        lines.append(
            f"| pywb-recorded screenshot + PDF (two processes) | {secs(pywb_pair)} | "
            f"{secs(s[PYWB_SHOT].cpu + s[PYWB_PDF].cpu)} | - | {c.wall / pywb_pair:.1f}x | "
            f"{c.cpu / (s[PYWB_SHOT].cpu + s[PYWB_PDF].cpu):.1f}x | PNG + PDF + pywb's WARC |"
        )
    cap = run.capture_json["captures"][0]
    sizes = ", ".join(f"{k} {n / 1000:.1f} kB" for k, n in run.sizes.items())
    counts = ", ".join(f"{k} {v}" for k, v in cap.get("counts", {}).items())
    lines += [
        "",
        f"The capture: {cap['status']} (exit {run.single[CUSTODY_ONE].code}), artifacts "
        f"{sizes}; network counts {counts}.",
    ]
    if run.pywb_started is not None:
        recs = ", ".join(f"{k} {v}" for k, v in sorted(run.pywb_records.items())) or "none"
        lines += [
            "",
            "pywb: `wayback --proxy bench --proxy-record` from `.venv-peers` "
            f"({run.pywb_started:.1f} s to start, not counted, nor its CPU time: a server "
            "left running), "
            "Chromium pointed at it with `--proxy-server` and "
            "`--proxy-bypass-list=<-loopback>` so loopback goes through it. Its "
            f"WARCs after {rounds + 1} screenshot runs (one untimed) and {rounds} PDF runs "
            f"hold: {recs}.",
        ]
    ok = ", ".join(f"{k}: {'yes' if v else 'no'}" for k, v in run.outputs_ok.items())
    lines += ["", f"Outputs checked: {ok}."]
    lines += _phase_lines(run)
    lines += _batch_lines(run)
    ratio = c.wall / bare.wall
    lines += [
        "",
        "### Conclusions",
        "",
        f"- One URL: `custody capture` {secs(c.wall)}; {c.wall / plain:.1f}x the plain "
        f"Chromium screenshot + PDF ({secs(plain)}), {c.wall / s[SHOT].wall:.1f}x the "
        f"screenshot alone ({secs(s[SHOT].wall)}).",
        f"- Against the bare Playwright run doing the same page actions without recording "
        f"({secs(bare.wall)}): {ratio:.2f}x; at most {TARGET}x: "
        f"**{'yes' if ratio <= TARGET else 'no'}**.",
    ]
    batch_custody = next(v for k, v in run.batch.items() if k.startswith("custody"))
    batch_peer = next(v for k, v in run.batch.items() if k.startswith("chromium"))
    n = run.args.batch
    lines.append(
        f"- Batch of {n} URLs with {run.args.jobs} jobs: {secs(batch_custody.wall)}, "
        f"{n / batch_custody.wall * 60:.0f} pages a minute, against "
        f"{n / batch_peer.wall * 60:.0f} for plain Chromium screenshot + PDF "
        f"({batch_custody.wall / batch_peer.wall:.1f}x its time)."
    )
    lines += ["", END, ""]
    return "\n".join(lines)


def _phase_lines(run: Run) -> list[str]:
    if not run.phases:
        return []
    order = ["starting", "loading", "scrolling", "settling", "snapshots", "sealing"]
    med = {p: statistics.median(r.phases.get(p, 0.0) for r in run.phases) for p in order}
    total = statistics.median(r.total for r in run.phases)
    statuses = ", ".join(sorted({r.status for r in run.phases}))
    cli = run.single[CUSTODY_ONE].wall
    lines = [
        "",
        "### Where a capture's time goes",
        "",
        f"{len(run.phases)} captures of the same URL run in-process "
        "(`custody.capture.web.capture_page` with a progress callback, each launching its "
        f"own Chromium as the CLI does; status {statuses}); median seconds per phase:",
        "",
        "| phase | what happens | median | share |",
        "|---|---|---|---|",
    ]
    what = {
        "starting": "checks, Playwright and Chromium start, context, user agent",
        "loading": "navigation until `load`",
        "scrolling": "a viewport at a time, 0.5 s of network quiet after each step",
        "settling": "0.5 s without a request in flight",
        "snapshots": "full-page PNG, PDF, DOM, visible text; the context closed",
        "sealing": "the WARC stored, the browser closed, artifacts committed, the entry "
        "signed and appended",
    }
    lines += [f"| {p} | {what[p]} | {secs(med[p])} | {med[p] / total * 100:.0f} % |" for p in order]
    lines += [
        f"| total | in-process | {secs(total)} | 100 % |",
        "",
        f"The CLI's {secs(cli)} adds Python start-up, imports and unlocking the key to the "
        f"in-process {secs(total)}. Waiting for the network to "
        "be quiet (scrolling + settling) is a bounded wait by design (`settle_seconds`), "
        "the same in the bare Playwright run.",
    ]
    return lines


def _batch_lines(run: Run) -> list[str]:
    n = run.args.batch
    lines = [
        "",
        f"### A batch of {n} URLs",
        "",
        f"The same page under {n} query strings (`?n=0` … `?n={n - 1}`). custody ran with "
        f"`--timeout {BATCH_TIMEOUT}` (seconds per page), which bounds the batch should a page "
        "never settle (a capture that reached it would be PARTIAL: see the statuses below).",
        "",
        "| command | wall | CPU (user+sys) | peak RSS | pages a minute |",
        "|---|---|---|---|---|",
    ]
    for name, sample in run.batch.items():
        rss = mb(sample.rss) if sample.rss else "-"
        lines.append(
            f"| `{name}` | {secs(sample.wall)} | {secs(sample.cpu)} | {rss} | "
            f"{n / sample.wall * 60:.0f} |"
        )
    statuses: dict[str, int] = {}
    for item in run.batch_json.get("captures", []):
        statuses[item["status"]] = statuses.get(item["status"], 0) + 1
    summary = ", ".join(f"{v} {k}" for k, v in sorted(statuses.items()))
    lines += [
        "",
        f"custody: {summary}; each job runs its own Chromium, launched once and reused for "
        "its next URLs. Plain Chromium: one process per screenshot and per PDF, two "
        "workers; its CPU is the sum over all processes, its peak RSS the largest one.",
    ]
    return lines


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--rounds", type=int, default=3, help="timed rounds of each single-URL row")
    p.add_argument("--batch", type=int, default=BATCH, help="URLs in the batch")
    p.add_argument("--jobs", type=int, default=2, help="custody capture --jobs, peer workers")
    p.add_argument("--no-pywb", action="store_true", help="leave pywb out even if installed")
    p.add_argument("--update", type=Path, help="write the section into this Markdown file")
    p.add_argument("--keep", action="store_true", help="keep the generated data")
    args = p.parse_args(argv)
    args.argv = list(argv)
    if min(args.rounds, args.batch, args.jobs) < 1:
        p.error("--rounds, --batch and --jobs must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        print("bench/capture.py: no chromium on PATH", file=sys.stderr)
        return 2
    chromium = Path(found)
    work = Path(tempfile.mkdtemp(prefix="custody-bench-capture-"))
    run = Run(args, machine_info(chromium), datetime.now(UTC))
    run.load.append(os.getloadavg())
    t0 = time.perf_counter()
    note_progress(f"working in {work}")
    pywb: Pywb | None = None
    with cleaned_up(work, args.keep):
        try:
            with serve(SITE) as base:
                run.url = f"{base}/index.html"
                if not args.no_pywb:
                    pywb = start_pywb(work)
                    run.pywb_started = pywb.started if pywb is not None else None
                bench_single(work, run, chromium, pywb)
                if pywb is not None:
                    stop_pywb(pywb)
                    pywb = None
                note_progress(f"phases: {args.rounds} in-process captures")
                run.phases = in_process_phases(work, run.url, args.rounds)
                bench_batch(work, run, chromium)
        finally:
            if pywb is not None:
                stop_pywb(pywb)
    run.seconds = time.perf_counter() - t0
    run.load.append(os.getloadavg())
    write_section(render(run), args.update, SCRIPT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
