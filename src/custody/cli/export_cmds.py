"""custody export-wacz."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from custody import keys, locker, log
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


def export_wacz(
    capture: Annotated[
        str,
        typer.Argument(
            help="The capture: the number of its capture entry (see custody log), or 'last'."
        ),
    ],
    out: Annotated[Path, typer.Argument(help="The WACZ file to write (outside the case).")],
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace OUT if it exists.")
    ] = False,
    record: Annotated[
        bool, typer.Option(help="Record the export as a signed export entry in the case.")
    ] = False,
    case_path: CaseOpt = None,
    passphrase_file: PassFileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Build a WACZ (for ReplayWeb.page, pywb) of a capture from its sealed WARC.

    The WARC goes in byte for byte after its SHA-256 is checked against its commitment
    (exit 3 if it was altered); the CDXJ index, pages list and datapackage are built on
    the fly. Nothing is stored in the case, unless --record logs the export. The same
    capture always gives the same bytes.

    Example: custody export-wacz 4 post-17.wacz --case case-17
    """
    from custody.capture import wacz

    case = open_current_case(case_path)
    home = keys.custody_home()
    signer = unlock(home, current_identity(home), passphrase_file) if record else None
    if signer is not None:  # refuse before building anything if the entry cannot be logged
        log.check_head(case)
        locker.require_member(case, signer)
    with err_console().status("Building the WACZ…"):
        result = wacz.export_wacz(case, capture, out, overwrite=overwrite)
    doc = result.to_dict()
    if signer is not None:
        doc["recorded_as_entry"] = wacz.record_export(
            case, result.content, signer=signer, home=home
        ).seq
    if result.content.sensitive:
        err_console().print(
            "custody: warning: this capture is marked sensitive; the WACZ shows it to "
            "anyone who opens it",
            markup=False,
        )
    if json_out:
        print_json({"case": str(case.root)} | doc)
        return
    c = result.content
    out_console().print(
        f"Wrote {safe_text(str(result.path))} ({result.size} bytes, sha256:{result.sha256})\n"
        f"  capture entry {c.capture_entry}: {safe_text(c.page_url)} at {c.page_ts}, "
        f"{c.records_indexed} records indexed"
        + (f"\n  recorded as entry {doc['recorded_as_entry']}" if signer is not None else "")
    )


def register(app: typer.Typer) -> None:
    app.command("export-wacz")(export_wacz)
