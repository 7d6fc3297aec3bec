"""custody capture."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Group, RenderableType
from rich.filesize import decimal
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from custody import keys
from custody.capture.progress import Phase, Progress
from custody.cli._common import (
    CaseOpt,
    JsonOpt,
    PassFileOpt,
    current_identity,
    err_console,
    open_current_case,
    out_console,
    print_json,
    safe_text,
    unlock,
)

if TYPE_CHECKING:
    from custody.capture.batch import BatchItem
    from custody.case import Case

_SHOWN = 8  # captures shown at once in the live display


class CaptureDisplay:
    """The live progress display of a capture run (rendered by rich, on stderr).

    Reports come from capture threads and the browser's thread; rendering happens on
    rich's refresh thread: both go through one lock.
    """

    def __init__(self, urls: Sequence[str]) -> None:
        self._rows = {i: Progress(url, Phase.QUEUED) for i, url in enumerate(urls)}
        self._spinners: dict[int, Spinner] = {}
        self._lock = threading.Lock()

    def update(self, index: int, report: Progress) -> None:
        """Show ``report`` for the capture of URL number ``index`` (the batch callback)."""
        with self._lock:
            self._rows[index] = report

    def __rich__(self) -> RenderableType:
        with self._lock:
            rows = dict(self._rows)
        over = (Phase.DONE, Phase.FAILED)
        active = [(i, r) for i, r in rows.items() if r.phase not in (*over, Phase.QUEUED)]
        table = Table.grid(padding=(0, 1))
        for i, r in active[:_SHOWN]:
            spinner = self._spinners.setdefault(i, Spinner("dots"))
            counts = f"{r.resources} resources, {decimal(r.bytes)}"
            if r.blocked:
                counts += f", {r.blocked} blocked"
            url = Text.from_markup(safe_text(r.url[:120]))
            table.add_row(spinner, Text(f"{r.phase.value:9}"), Text(counts), url)
        if len(rows) == 1:
            return table
        finished = sum(r.phase in over for r in rows.values())
        return Group(table, Text(f"{finished} of {len(rows)} captures finished"))


def _show_results(items: Sequence[BatchItem], case: Case) -> None:
    out = out_console()
    if len(items) == 1 and items[0].result is not None:
        result = items[0].result
        out.print(f"{result.status.value}  entry {result.seq}  {safe_text(result.final_url)}")
        for reason in result.reasons:
            out.print(f"  PARTIAL: {safe_text(reason)}", markup=False)
        warc = result.artifacts["warc"]
        out.print(f"  warc        sha256:{warc.sha256}  {warc.path.relative_to(case.root)}")
        for role, rec in result.records.items():
            out.print(f"  {role:10}  record at byte {rec.offset} of the WARC ({rec.length} bytes)")
        count, root = result.units["count"], result.units["root"]
        out.print(f"  {count} records, each committed (units root {root[:16]}…)")
        return
    out.print("STATUS    ENTRY  URL", markup=False)
    for item in items:
        entry = str(item.result.seq) if item.result is not None else "-"
        out.print(f"{item.status:8}  {entry:>5}  {safe_text(item.url)}")
        if item.reasons:
            more = f" (+{len(item.reasons) - 1} more)" if len(item.reasons) > 1 else ""
            out.print(f"{'':17}{safe_text(item.reasons[0])}{more}")
    tally = {s: sum(i.status == s for i in items) for s in ("COMPLETE", "PARTIAL", "FAILED")}
    out.print(", ".join(f"{n} {s}" for s, n in tally.items()))


def capture(
    urls: Annotated[
        list[str] | None,
        typer.Argument(metavar="URL", help="Pages to capture (http or https).", show_default=False),
    ] = None,
    batch: Annotated[
        Path | None,
        typer.Option(
            "--batch", metavar="FILE", help="Also capture the URLs in FILE: one a line, # comments."
        ),
    ] = None,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            metavar="N",
            min=1,
            max=8,
            help="Captures at once, each in its own Chromium (1-8).",
        ),
    ] = 2,
    timeout: Annotated[
        float, typer.Option(help="Seconds for loading, scrolling and settling, per page.")
    ] = 60.0,
    allow_private: Annotated[
        bool, typer.Option("--allow-private", help="Allow private and local addresses.")
    ] = False,
    proxy: Annotated[
        str | None,
        typer.Option(
            "--proxy",
            metavar="URL",
            help="Send every request through this HTTP proxy (http://[user:pass@]host:port).",
        ),
    ] = None,
    storage_state: Annotated[
        Path | None,
        typer.Option(
            "--storage-state",
            metavar="FILE",
            help="Capture logged in: a Playwright storage-state file (cookies, localStorage). "
            "Cookie and Authorization values are scrubbed from the recorded requests.",
        ),
    ] = None,
    note_text: Annotated[str | None, typer.Option("--note", help="A note about it.")] = None,
    sensitive: Annotated[
        bool, typer.Option(help="Intimate or abuse material: never rendered by default.")
    ] = False,
    case_path: CaseOpt = None,
    passphrase_file: PassFileOpt = None,
    json_out: JsonOpt = False,
) -> int:
    """Capture web pages with Chromium: WARC, screenshot, PDF, DOM, text, provenance.

    Exit 0 when every capture is COMPLETE, 7 when one is PARTIAL (still sealed) or a URL
    of several failed. One URL that fails exits as its error does (4 refused, 6 network).

    Example: custody capture https://example.org/post/17 --note "reported by A." --timeout 90
    """
    from custody.capture.batch import batch_exit_code, capture_batch, load_url_file
    from custody.capture.credentials import WARNING
    from custody.capture.options import CaptureOptions
    from custody.capture.proxy import Proxy
    from custody.errors import UsageError

    targets = [*(urls or []), *(load_url_file(batch) if batch is not None else [])]
    if not targets:
        raise UsageError("no URL to capture", hint="give URLs, or --batch FILE")
    options = CaptureOptions(
        timeout=timeout,
        allow_private=allow_private,
        note=note_text,
        sensitive=sensitive,
        proxy=Proxy.parse(proxy) if proxy is not None else None,
        storage_state=storage_state,
    )
    case = open_current_case(case_path)
    home = keys.custody_home()
    signer = unlock(home, current_identity(home), passphrase_file)
    err = err_console()
    if storage_state is not None:
        err.print(f"custody: warning: {WARNING}", markup=False, highlight=False)
    display = CaptureDisplay(targets) if not json_out and err.is_terminal else None
    live = Live(display, console=err, refresh_per_second=8, transient=True) if display else None
    with live or nullcontext():
        items = capture_batch(
            case, targets, options, signer=signer, home=home, jobs=jobs,
            progress=display.update if display else None,
        )  # fmt: skip
    if len(items) == 1 and items[0].error is not None:
        raise items[0].error
    if json_out:
        print_json({"case": str(case.root), "captures": [i.to_dict(case.root) for i in items]})
    else:
        _show_results(items, case)
    return batch_exit_code(items)


def register(app: typer.Typer) -> None:
    app.command()(capture)
