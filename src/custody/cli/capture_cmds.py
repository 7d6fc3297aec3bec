"""custody capture."""

from __future__ import annotations

from typing import Annotated

import typer

from custody import keys
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


def capture(
    url: Annotated[str, typer.Argument(help="The page to capture (http or https).")],
    timeout: Annotated[
        float, typer.Option(help="Seconds for loading, scrolling and settling.")
    ] = 60.0,
    allow_private: Annotated[
        bool, typer.Option("--allow-private", help="Allow private and local addresses.")
    ] = False,
    note_text: Annotated[str | None, typer.Option("--note", help="A note about it.")] = None,
    sensitive: Annotated[
        bool, typer.Option(help="Intimate or abuse material: never rendered by default.")
    ] = False,
    case_path: CaseOpt = None,
    passphrase_file: PassFileOpt = None,
    json_out: JsonOpt = False,
) -> int:
    """Capture a web page with Chromium: WARC, screenshot, PDF, DOM, text, provenance.

    Exit 0 when the capture is COMPLETE, 7 when it is PARTIAL (still sealed).

    Example: custody capture https://example.org/post/17 --note "reported by A." --timeout 90
    """
    from custody.capture.web import CaptureOptions, capture_page

    case = open_current_case(case_path)
    home = keys.custody_home()
    signer = unlock(home, current_identity(home), passphrase_file)
    options = CaptureOptions(
        timeout=timeout, allow_private=allow_private, note=note_text, sensitive=sensitive
    )
    with err_console().status("Capturing…") as status:
        result = capture_page(
            case, url, options, signer=signer, home=home, progress=lambda p: status.update(p)
        )
    if json_out:
        print_json({"case": str(case.root)} | result.to_dict(case.root))
        return result.exit_code
    out = out_console()
    out.print(f"{result.status.value}  entry {result.seq}  {safe_text(result.final_url)}")
    for reason in result.reasons:
        out.print(f"  PARTIAL: {safe_text(reason)}", markup=False)
    for kind, a in result.artifacts.items():
        out.print(f"  {kind:10} sha256:{a.sha256}  {a.path.relative_to(case.root)}")
    return result.exit_code


def register(app: typer.Typer) -> None:
    app.command()(capture)
