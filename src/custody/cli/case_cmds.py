"""custody init, add and verify."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from custody import keys, locker, note, seen
from custody.cli._common import (
    CaseOpt,
    JsonOpt,
    PassFileOpt,
    current_identity,
    err_console,
    open_current_case,
    out_console,
    print_json,
    read_passphrase,
    safe_text,
    unlock,
)
from custody.errors import ExitCode, UsageError
from custody.report import Report, Severity


def init(
    path: Annotated[Path, typer.Argument(help="Folder to create (default: here).")] = Path(),
    name: Annotated[str, typer.Option("--name", help="Case title.")] = "",
    operator: Annotated[str | None, typer.Option(help="Your name (first use).")] = None,
    org: Annotated[str | None, typer.Option(help="Your organisation.")] = None,
    role: Annotated[str | None, typer.Option(help="Your role, e.g. investigator.")] = None,
    passphrase_file: PassFileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a case folder; the first use on a machine also creates your signing key.

    Example: custody init case-17 --name "Harassment of A." --operator "R. Diaz" --org NGO
    """
    if not name:
        raise UsageError('a case needs a title: --name "..."')
    home = keys.custody_home()
    identity = keys.read_identity(home)
    who = keys.Operator(
        operator or (identity.operator.name if identity else getpass.getuser()),
        org or (identity.operator.org if identity else None),
        role or (identity.operator.role if identity else None),
    )
    created_key = identity is None
    if identity is None:
        signer = keys.generate_key(home, read_passphrase(passphrase_file, confirm=True))
        identity = keys.Identity(who, signer.key_id)
        keys.write_identity(home, identity)
    else:
        signer = unlock(home, identity, passphrase_file)
    case = locker.create_case(path, name=name, operator=who, signer=signer, home=home)
    result = {
        "case": str(case.root),
        "case_id": case.case_id,
        "origin": case.origin,
        "key_id": signer.key_id,
        "new_key": created_key,
    }
    if json_out:
        print_json(result)
        return
    if created_key:
        err_console().print(f"Created your signing key {signer.key_id} in {home}")
    out_console().print(f"Created case {safe_text(str(case.root))} ({case.case_id})")


def add(
    files: Annotated[list[Path], typer.Argument(help="Files to preserve.")],
    note_text: Annotated[str | None, typer.Option("--note", help="A note about them.")] = None,
    source: Annotated[str | None, typer.Option(help="Where they came from.")] = None,
    sensitive: Annotated[
        bool, typer.Option(help="Intimate or abuse material: never rendered by default.")
    ] = False,
    case_path: CaseOpt = None,
    passphrase_file: PassFileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Preserve files as evidence: stored read-only, hashed, signed into the log.

    Example: custody add screenshot.png chat.pdf --note "sent by the victim" --source email
    """
    case = open_current_case(case_path)
    home = keys.custody_home()
    signer = unlock(home, current_identity(home), passphrase_file)
    console = err_console()
    with console.status("Preserving…") as status:
        added = locker.add_files(
            case,
            files,
            signer=signer,
            home=home,
            note=note_text,
            source=source,
            sensitive=sensitive,
            progress=lambda p: status.update(f"Preserving {p.name}"),
        )
    rows = [
        {
            "file": str(a.source),
            "path": str(a.path.relative_to(case.root)),
            "sha256": a.sha256,
            "sha512": a.sha512,
            "size": a.size,
            "entry": a.seq,
            "artifact": a.artifact,
            "details": a.details,
        }
        for a in added
    ]
    if json_out:
        print_json({"case": str(case.root), "added": rows})
        return
    out = out_console()
    for r in rows:
        out.print(f"entry {r['entry']}  sha256:{r['sha256']}  {safe_text(str(r['file']))}")


def render_report(report: Report, json_out: bool) -> int:
    """Print a report; return 0 if it holds, 3 if evidence failed a check."""
    if json_out:
        print_json(report.to_dict())
    else:
        out = out_console()
        for f in report.findings:
            colour = {Severity.ERROR: "red", Severity.WARNING: "yellow"}.get(f.severity, "cyan")
            out.print(f"[{colour}]{f.severity.value.upper():7}[/] {f.code}: {safe_text(f.message)}")
        counts = {k: v for k, v in report.checked.items() if k != "recorded_as_entry"}
        checked = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in sorted(counts.items()))
        verdict = "[green]VERIFIED[/]" if report.ok else "[red]NOT VERIFIED[/]"
        out.print(f"{verdict}  {safe_text(report.subject)}  (checked {checked or 'nothing'})")
        if "recorded_as_entry" in report.checked:
            out.print(f"Recorded as entry {report.checked['recorded_as_entry']}")
    return ExitCode.OK if report.ok else ExitCode.NOT_VERIFIED


def verify(
    case_arg: Annotated[
        Path | None,
        typer.Argument(metavar="[CASE|BUNDLE]", help="Case folder, or a bundle (.zip) to check."),
    ] = None,
    deep: Annotated[bool, typer.Option(help="Also recompute SHA-512 of every artifact.")] = False,
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option(help="A checkpoint you hold; the log must be consistent with it."),
    ] = None,
    record: Annotated[
        bool, typer.Option(help="Record this verification as a signed access entry.")
    ] = False,
    case_path: CaseOpt = None,
    passphrase_file: PassFileOpt = None,
    json_out: JsonOpt = False,
) -> int:
    """Re-check every artifact, log entry, signature and checkpoint; list every finding.

    Reads only, unless --record asks to log the verification in the case. Given a file
    (a bundle), checks it as custody bundle verify does; --checkpoint is then the one
    checkpoint the bundle must prove the log extends.

    Example: custody verify case-17 --deep --checkpoint checkpoint-from-email.txt
    """
    from custody.verify import verify_case

    if case_arg is not None and _is_bundle(case_arg):
        return _verify_bundle_file(case_arg, checkpoint or [], record=record, json_out=json_out)
    case = open_current_case(case_arg or case_path)
    home = keys.custody_home()
    held = [(f"checkpoint {p}", _read(p)) for p in checkpoint or []]
    remembered = seen.last_seen(home, case.case_id)
    if remembered is not None:
        held.append(("the checkpoint this machine saw last", remembered))
    with err_console().status("Verifying…"):
        report = verify_case(case, deep=deep, checkpoints=held)
    if record:
        signer = unlock(home, current_identity(home), passphrase_file)
        entry = locker.record_access(
            case,
            signer=signer,
            home=home,
            purpose="verify" + " --deep" * deep,
            verified=report.ok,
            errors=sum(f.severity is Severity.ERROR for f in report.findings),
        )
        report.checked["recorded_as_entry"] = entry.seq
    if report.ok and case.checkpoint.exists():
        cp = case.checkpoint.read_bytes()
        try:
            note.parse_checkpoint(cp)
            seen.remember(home, case.case_id, cp)
        except note.NoteFormatError:
            pass
    return render_report(report, json_out)


def _is_bundle(path: Path) -> bool:
    """A file, or a ``.zip`` that does not exist (then reported as a bundle not found)."""
    return path.is_file() or (path.suffix.lower() == ".zip" and not path.is_dir())


def _verify_bundle_file(path: Path, held: list[Path], *, record: bool, json_out: bool) -> int:
    """``custody verify BUNDLE``: the bundle verifier (a bundle is checked, never written)."""
    from custody.bundle.verify import verify_bundle

    if record:
        raise UsageError("--record logs a verification in a case; a bundle is only read")
    if len(held) > 1:
        raise UsageError("a bundle proves consistency with one --checkpoint at most")
    with err_console().status("Verifying the bundle…"):
        report = verify_bundle(path, since=held[0] if held else None)
    return render_report(report, json_out)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read checkpoint {path}: {exc.strerror}") from exc


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(add)
    app.command()(verify)
