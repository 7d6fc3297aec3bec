"""custody bundle create | verify | inspect."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from custody import keys, locker, log, strictjson
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
from custody.errors import CustodyError, UsageError

app = typer.Typer(
    help="Court bundles: select, withhold, redact; verify and inspect.", no_args_is_help=True
)


def _select_file(path: Path) -> dict[str, Any]:
    try:
        doc = strictjson.loads_strict(path.read_bytes())
    except OSError as exc:
        raise UsageError(f"cannot read --select {path}: {exc.strerror}") from exc
    except CustodyError as exc:
        raise UsageError(f"--select {path} is not valid JSON: {exc.message}") from None
    if not isinstance(doc, dict):
        raise UsageError(f"--select {path} must hold a JSON object")
    known = {"artifacts", "messages", "imports", "warc_records", "redact_text"}
    known |= {"strip_gps", "withhold_reason", "recipient"}
    unknown = set(doc) - known
    if unknown:
        raise UsageError(f"--select {path}: unknown member {sorted(unknown)[0]!a}")
    return doc


def _selection(
    *,
    artifact: list[int],
    message: list[str],
    import_id: list[str],
    date_from: str | None,
    date_to: str | None,
    sender: str | None,
    warc_record: list[str],
    select: Path | None,
    redact_text: list[str],
    strip_gps: bool,
    withhold_reason: str | None,
    recipient: str | None,
    since: Path | None,
    unsafe: bool,
) -> Any:
    from custody.bundle.plan import DEFAULT_REASON, ImportChoice, Selection
    from custody.chat.messages import parse_time

    doc = _select_file(select) if select is not None else {}

    def listed(key: str, kind: type) -> list[Any]:
        value = doc.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, kind) for v in value):
            raise UsageError(f"--select: {key} must be a list of {kind.__name__}")
        return value

    def time(v: object, end: bool = False) -> Any:
        return parse_time(str(v), end=end) if v is not None else None

    imports = [ImportChoice(i, time(date_from), time(date_to, True), sender) for i in import_id]
    for item in listed("imports", dict):
        if not isinstance(item.get("import"), str):
            raise UsageError("--select: each of imports needs an import id")
        imports.append(
            ImportChoice(
                item["import"],
                time(item.get("from")),
                time(item.get("to"), True),
                item.get("sender"),
            )
        )
    if (date_from or date_to or sender) and not import_id:
        raise UsageError("--from, --to and --sender choose messages of an --import")
    return Selection(
        artifacts=(*artifact, *listed("artifacts", int)),
        messages=(*message, *listed("messages", str)),
        imports=tuple(imports),
        warc_records=(*warc_record, *listed("warc_records", str)),
        redact=(*redact_text, *listed("redact_text", str)),
        strip_gps=strip_gps or doc.get("strip_gps") is True,
        withhold_reason=withhold_reason or str(doc.get("withhold_reason") or DEFAULT_REASON),
        recipient=recipient or doc.get("recipient"),
        since=since,
        unsafe_unredacted=unsafe,
    )


@app.command()
def create(
    out: Annotated[Path, typer.Argument(help="The bundle to write (a .zip outside the case).")],
    artifact: Annotated[
        list[int] | None,
        typer.Option("--artifact", help="Disclose a whole acquisition: its entry number."),
    ] = None,
    message: Annotated[
        list[str] | None, typer.Option("--message", help="Disclose one chat message (its id).")
    ] = None,
    import_id: Annotated[
        list[str] | None,
        typer.Option(
            "--import", help="Disclose messages of this import (see --from/--to/--sender)."
        ),
    ] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="With --import: from.")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="With --import: to.")] = None,
    sender: Annotated[str | None, typer.Option(help="With --import: sender.")] = None,
    warc_record: Annotated[
        list[str] | None,
        typer.Option("--warc-record", help="Disclose one record of a capture: record id or URL."),
    ] = None,
    select: Annotated[
        Path | None, typer.Option(help="A JSON file with the same choices (schemas/).")
    ] = None,
    redact_text: Annotated[
        list[str] | None,
        typer.Option(
            "--redact-text",
            help="Mask text: phone, email, names (opt-in), re:REGEX, or literal text.",
        ),
    ] = None,
    strip_gps: Annotated[
        bool, typer.Option("--strip-gps", help="Show JPEG files without their GPS metadata.")
    ] = False,
    withhold_reason: Annotated[
        str | None, typer.Option(help="Why units not chosen are withheld.")
    ] = None,
    recipient: Annotated[str | None, typer.Option(help="Who receives the bundle.")] = None,
    since: Annotated[
        Path | None,
        typer.Option(help="A checkpoint the recipient holds (default: the last one sent to them)."),
    ] = None,
    unsafe: Annotated[
        bool,
        typer.Option(
            "--unsafe-show-unredacted",
            help="Show renditions that still hold masked text (screenshot, PDF, DOM, export).",
        ),
    ] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace OUT if it exists.")] = False,
    case_path: CaseOpt = None,
    passphrase_file: PassFileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Make a court bundle: chosen units disclosed, the rest withheld, redactions logged.

    Example: custody bundle create for-court.zip --artifact 3 --import 5f2a --from 2024-01-01
    --redact-text phone --recipient "Prosecutor, Lyon"
    """
    from custody.bundle.create import create_bundle
    from custody.bundle.plan import make_plan

    sel = _selection(
        artifact=artifact or [],
        message=message or [],
        import_id=import_id or [],
        date_from=date_from,
        date_to=date_to,
        sender=sender,
        warc_record=warc_record or [],
        select=select,
        redact_text=redact_text or [],
        strip_gps=strip_gps,
        withhold_reason=withhold_reason,
        recipient=recipient,
        since=since,
        unsafe=unsafe,
    )
    case = open_current_case(case_path)
    home = keys.custody_home()
    signer = unlock(home, current_identity(home), passphrase_file)
    log.check_head(case)
    locker.require_member(case, signer)
    with err_console().status("Choosing what to disclose…"):
        plan = make_plan(case, sel)
    with err_console().status("Writing the bundle…"):
        result = create_bundle(plan, out, signer=signer, overwrite=overwrite)
    if json_out:
        print_json({"case": str(case.root)} | result.to_dict())
        return
    out_console().print(
        f"Wrote {safe_text(str(result.path))} ({result.size} bytes)\n"
        f"  bundle {result.bundle_id}: {result.exhibits} exhibits, {result.disclosed} units "
        f"disclosed, {result.redacted} redacted, {result.withheld} withheld\n"
        f"  export entry {result.export_entry}, checkpoint size {result.checkpoint_size}"
        + (f", consistency proof from {result.since}" if result.since else "")
    )


@app.command("verify")
def verify_cmd(
    bundle: Annotated[Path, typer.Argument(help="The bundle (.zip).")],
    since: Annotated[
        Path | None, typer.Option(help="A checkpoint you hold: the bundle must prove it.")
    ] = None,
    json_out: JsonOpt = False,
) -> int:
    """Check a bundle offline: bag, signatures, log proofs, every unit; list every finding.

    Exit 0: every check held; 3: something failed; 4: not a bundle, or refused as unsafe.

    Example: custody bundle verify for-court.zip
    """
    from custody.bundle.verify import verify_bundle
    from custody.cli.case_cmds import render_report

    with err_console().status("Verifying the bundle…"):
        report = verify_bundle(bundle, since=since)
    return render_report(report, json_out)


@app.command()
def inspect(
    bundle: Annotated[Path, typer.Argument(help="The bundle (.zip).")],
    json_out: JsonOpt = False,
) -> None:
    """Show what a bundle holds, what it withholds and why, and who signed it.

    Exhibits marked sensitive are named, never rendered. Inspect does not verify: run
    custody bundle verify.

    Example: custody bundle inspect for-court.zip
    """
    from custody.bundle.inspect import inspect_bundle

    summary = inspect_bundle(bundle)
    if json_out:
        print_json(summary)
        return
    out = out_console()
    out.print(
        f"Bundle {safe_text(str(summary['bundle']))} of case {safe_text(str(summary['case']))}\n"
        f"  for {safe_text(str(summary['recipient'] or '(not named)'))}, "
        f"made {safe_text(str(summary['created']))} (claimed)"
    )
    for key in summary["signers"]:
        out.print(f"  signed by {_shown(key['name'])} {_shown(key['ssh_fingerprint'])}")
    for ex in summary["exhibits"]:
        flag = "  \\[sensitive: not shown]" if ex["sensitive"] else ""
        out.print(f"\nExhibit {_shown(ex['exhibit'])} ({_shown(ex['type'])}){flag}")
        for u in ex["units"]:
            why = f": {_shown(u['reason'])}" if u.get("reason") else ""
            name = f" {_shown(u['unit'])}" if u.get("unit") else ""
            out.print(f"  {_shown(u.get('status')):9} {_shown(u.get('role'))}{name}{why}")
        if ex.get("withheld_units"):
            w = ex["withheld_units"]
            out.print(
                f"  withheld  {_shown(w['withheld'])} of {_shown(w['count'])} units: "
                f"{_shown(w['reason'])}"
            )
        for note in ex.get("notes", []):
            out.print(f"  note: {_shown(note)}")


def _shown(value: object) -> str:
    """Text from a bundle, made safe for the terminal (it may be anything)."""
    return safe_text(str(value))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="bundle")
