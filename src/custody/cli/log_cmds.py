"""custody log: show, verify, checkpoint, recover."""

from __future__ import annotations

import base64
import sys
from typing import Any

import typer
from rich.table import Table

from custody import keys, log, note, store, strictjson
from custody.case import Case
from custody.cli._common import (
    CaseOpt,
    JsonOpt,
    PassFileOpt,
    current_identity,
    open_current_case,
    out_console,
    print_json,
    safe_text,
    unlock,
)
from custody.errors import CustodyError, IntegrityError

app = typer.Typer(
    help="Show and maintain the custody log.",
    no_args_is_help=False,
    invoke_without_command=True,
    rich_markup_mode=None,
)


def _describe(case: Case, entry: log.Entry) -> tuple[str, list[dict[str, Any]]]:
    s = entry.subject
    arts: list[dict[str, Any]] = []
    named = s.get("artifacts")
    refs: list[tuple[str, Any]] = [(f, s[f]) for f in ("artifact", "details") if f in s]
    if isinstance(named, dict):
        refs += [(str(k), v) for k, v in sorted(named.items())]
    for role, ref in refs:
        try:
            d = store.read_disclosure(case, ref)
            arts.append({"role": role, "kind": d.kind, "sha256": d.sha256, "size": d.size})
        except CustodyError:
            arts.append({"role": role, "commitment": ref, "missing": True})
    if entry.type in ("init", "key"):
        op = s.get("operator", {})
        what = (
            f"{s.get('action', 'init')} key {str(s.get('key_id', ''))[8:24]}… {op.get('name', '')}"
        )
    elif entry.type == "recover":
        torn = s.get("torn")
        what = f"recovered: torn {torn['size']} bytes" if torn else "recovered"
        what += f", adopted {len(s.get('adopted', []))}"
    else:
        what = " ".join(f"{a.get('kind')} sha256:{a.get('sha256', '?')[:16]}…" for a in arts)
        record = next((a for a in arts if a.get("kind") == "file-details"), None)
        if record is not None:
            what = _file_summary(case, record["sha256"]) or what
        page = next((a for a in arts if a.get("kind") == "capture-details"), None)
        if page is not None:
            what = f"{s.get('status', '?')} {_page_summary(case, page['sha256']) or what}"
    return what, arts


def _page_summary(case: Case, details_sha256: str) -> str | None:
    """The captured URL from a capture's details record, if readable."""
    try:
        doc = strictjson.loads_strict(case.object_path(details_sha256).read_bytes())
        return str(doc["url"])
    except (CustodyError, OSError, KeyError, TypeError):
        return None


def _file_summary(case: Case, details_sha256: str) -> str | None:
    """'name (size bytes) [sensitive] [GPS]' from a file's details record, if readable."""
    try:
        doc = strictjson.loads_strict(case.object_path(details_sha256).read_bytes())
        flags = " [sensitive]" * bool(doc.get("sensitive"))
        flags += " [GPS in EXIF]" * bool(doc.get("gps", {}).get("present"))
        return f"{doc['original_name']} ({doc['size']} bytes){flags}"
    except (CustodyError, OSError, KeyError, TypeError, AttributeError):
        return None


@app.callback()
def show(ctx: typer.Context, case_path: CaseOpt = None, json_out: JsonOpt = False) -> None:
    """Show the custody log as a table: who, what, when, which artifacts.

    Example: custody log --case case-17
    """
    if ctx.invoked_subcommand is not None:
        return
    case = open_current_case(case_path)
    raw = log.read_raw_log(case.entries)
    names: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    for offset, line in raw.lines:
        try:
            entry = log.decode_entry(line)
        except CustodyError as exc:
            raise IntegrityError(
                f"log entry at byte {offset}: {exc.message}", hint="run custody verify"
            ) from None
        if entry.type in ("init", "key"):
            names[entry.subject.get("key_id", "")] = entry.subject.get("operator", {}).get(
                "name", ""
            )
        what, arts = _describe(case, entry)
        rows.append(
            {
                "seq": entry.seq,
                "type": entry.type,
                "actor": entry.actor,
                "operator": names.get(entry.actor, ""),
                "claimed_time": entry.body["claimed_time"],
                "summary": what,
                "artifacts": arts,
            }
        )
    if json_out:
        print_json({"case": str(case.root), "entries": rows, "torn_offset": raw.torn_offset})
        return
    table = Table(title=f"Custody log of {safe_text(str(case.root))} (times are claims)")
    for col in ("#", "claimed time (UTC)", "who", "what", "details"):
        table.add_column(col)
    for r in rows:
        when = r["claimed_time"][:19] + "Z"
        table.add_row(
            str(r["seq"]), when, safe_text(r["operator"]), r["type"], safe_text(r["summary"])
        )
    out_console().print(table)
    if raw.torn_offset is not None:
        out_console().print(
            f"[red]torn record at byte {raw.torn_offset}[/]: run custody log recover"
        )


@app.command("verify")
def verify_log(case_path: CaseOpt = None, json_out: JsonOpt = False) -> int:
    """Check the log alone: entries, signatures, chain, tree and checkpoints.

    Example: custody log verify --case case-17
    """
    from custody.cli.case_cmds import render_report
    from custody.verify import verify_case

    case = open_current_case(case_path)
    return render_report(verify_case(case, artifacts=False), json_out)


@app.command("checkpoint")
def checkpoint(case_path: CaseOpt = None, json_out: JsonOpt = False) -> None:
    """Print the latest signed checkpoint (C2SP signed note) of the log.

    Example: custody log checkpoint > checkpoint.txt
    """
    case = open_current_case(case_path)
    try:
        data = case.checkpoint.read_bytes()
        cp = note.parse_checkpoint(data)
    except FileNotFoundError:
        raise IntegrityError("the case has no checkpoint", hint="run custody verify") from None
    except note.NoteFormatError as exc:
        raise IntegrityError(
            f"the checkpoint is damaged: {exc}", hint="run custody verify"
        ) from None
    if json_out:
        root = base64.b64encode(cp.root).decode()
        print_json({"origin": cp.origin, "size": cp.size, "root": root, "note": data.decode()})
        return
    sys.stdout.write(data.decode())


@app.command("recover")
def recover(
    case_path: CaseOpt = None, passphrase_file: PassFileOpt = None, json_out: JsonOpt = False
) -> None:
    """After a crash: move a torn last record aside as an artifact, adopt unlogged
    artifacts, and log a signed recover entry. Nothing is deleted but temporary files.

    Example: custody log recover --case case-17
    """
    from custody import locker
    from custody.verify import orphans

    case = open_current_case(case_path)
    home = keys.custody_home()
    signer = unlock(home, current_identity(home), passphrase_file)
    r = locker.recover_log(case, signer=signer, home=home, orphans=orphans)
    result = {
        "torn_offset": r.torn_offset,
        "torn_size": r.torn_size,
        "torn_artifact": r.torn_artifact,
        "adopted": r.adopted,
        "removed_temporary_files": [str(p.relative_to(case.root)) for p in r.removed_temp],
        "rebuilt_tree": r.rebuilt_tree,
        "entry": r.entry.seq if r.entry else None,
    }
    if json_out:
        print_json(result)
        return
    out = out_console()
    if r.rebuilt_tree:
        out.print("Rebuilt the derived tree files from the log entries")
    if r.entry is None and not r.removed_temp and not r.rebuilt_tree:
        out.print("Nothing to recover: the log ends cleanly and every artifact is logged.")
        return
    if r.torn_offset is not None:
        out.print(
            f"Moved {r.torn_size} torn bytes from byte {r.torn_offset} into {r.torn_artifact}"
        )
    if r.adopted:
        out.print(f"Adopted {len(r.adopted)} unlogged artifacts")
    for p in r.removed_temp:
        out.print(f"Removed temporary file {p.relative_to(case.root)}")
    if r.entry is not None:
        out.print(f"Logged recover entry {r.entry.seq}")
