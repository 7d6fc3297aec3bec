"""custody import and custody messages."""

from __future__ import annotations

from pathlib import Path
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


def import_cmd(
    path: Annotated[Path, typer.Argument(help="The export: a file, a folder or a zip.")],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="auto, whatsapp, telegram, discord, messenger, instagram or signal "
            "(default: from content).",
        ),
    ] = "auto",
    timezone: Annotated[
        str | None,
        typer.Option(help="IANA zone the export's local times are in (e.g. Europe/Berlin)."),
    ] = None,
    date_order: Annotated[
        str | None,
        typer.Option("--date-order", help="DMY, MDY or YMD, when the file cannot tell."),
    ] = None,
    note_text: Annotated[str | None, typer.Option("--note", help="A note about it.")] = None,
    sensitive: Annotated[
        bool, typer.Option(help="Intimate or abuse material: never rendered by default.")
    ] = False,
    case_path: CaseOpt = None,
    passphrase_file: PassFileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Import a chat export (WhatsApp .txt, Telegram result.json): originals byte for byte,
    messages normalized and committed one by one, with a report of everything noteworthy.

    Example: custody import "WhatsApp Chat - A.zip" --timezone Europe/Berlin --note "from A."
    """
    from custody.chat.importer import ImportOptions, import_chat

    options = ImportOptions(fmt, timezone, date_order and date_order.upper(), note_text, sensitive)
    case = open_current_case(case_path)
    home = keys.custody_home()
    signer = unlock(home, current_identity(home), passphrase_file)
    with err_console().status("Importing…") as status:
        result = import_chat(
            case, path, options, signer=signer, home=home, progress=lambda p: status.update(p)
        )
    if json_out:
        print_json({"case": str(case.root)} | result.to_dict(case.root))
        return
    out = out_console()
    platform = result.report["facts"].get("platform")
    kind = f"{result.format}, {platform}" if platform else result.format
    out.print(
        f"Imported {result.messages} messages ({kind}) as import {result.import_id}, "
        f"entry {result.seq}"
    )
    for code, n in result.report["counts"].items():
        out.print(f"  {n:6}  {code}", markup=False)
    for finding in result.report["findings"][:20]:
        out.print(f"  {finding['severity']}: {safe_text(finding['message'])}")
    if len(result.report["findings"]) > 20:
        out.print("  … the full report is in the import's details record and in --json")
    for role, a in result.artifacts.items():
        out.print(f"  {role:12} sha256:{a.digests.sha256}  {a.path.relative_to(case.root)}")


def messages(
    import_id: Annotated[
        str | None, typer.Option("--import", help="Only this import (its id).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--from", help="Sent at or after (ISO 8601; UTC if no offset).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--to", help="Sent before (a date alone: that whole day).")
    ] = None,
    sender: Annotated[str | None, typer.Option(help="Sender name contains (any case).")] = None,
    grep: Annotated[str | None, typer.Option(help="Text contains (any case).")] = None,
    show_sensitive: Annotated[
        bool,
        typer.Option(
            "--show-sensitive",
            help="Show the text of imports marked sensitive (hidden by default).",
        ),
    ] = False,
    case_path: CaseOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List imported messages with their ids, to choose what goes into a bundle.

    Messages whose UTC time is unknown are left out by --from/--to (and counted).
    Messages of an import made with --sensitive are listed without their text, attachments
    and other content (id, sender, time and kind only) unless --show-sensitive is given.

    Example: custody messages --sender Alex --from 2024-01-01 --to 2024-01-31 --grep address
    """
    from custody.chat.messages import Filter, Tally, parse_time, select_messages

    flt = Filter(
        import_id,
        parse_time(since) if since else None,
        parse_time(until, end=True) if until else None,
        sender,
        grep,
    )
    case = open_current_case(case_path)
    tally = Tally()
    selected = select_messages(case, flt, tally, show_sensitive=show_sensitive)
    if json_out:
        rows = list(selected)
        print_json(
            {
                "case": str(case.root),
                "messages": rows,
                "without_utc": tally.without_utc,
                "withheld_sensitive": tally.withheld,
            }
        )
        return
    out = out_console()
    for doc in selected:
        when = doc.get("sent_at") or f"{doc.get('sent_at_local') or doc.get('sent_at_raw')} (local)"
        who = doc.get("sender") or "(system)"
        text = str(doc.get("text", "")).replace("\n", " ⏎ ")
        text = text if len(text) <= 100 else text[:99] + "…"
        kind = str(doc.get("kind", "text"))
        tags = [kind] if kind not in ("text", "system") else []
        tags += [f for f in doc.get("flags") or [] if f != "system" and f != kind]
        if "withheld" in doc:
            tags.append("sensitive: not shown")
        tag = f"[{', '.join(tags)}] " if tags else ""
        line = f"{doc['id']}  {when}  {who}: {tag}{text}".rstrip()
        out.print(safe_text(line))
    if tally.without_utc:
        err_console().print(
            f"{tally.without_utc} messages without a known UTC time were left out by --from/--to"
        )
    if tally.withheld:
        err_console().print(
            f"{tally.withheld} messages of imports marked sensitive are listed without their "
            "content; --show-sensitive shows it",
            markup=False,
        )


def register(app: typer.Typer) -> None:
    app.command("import")(import_cmd)
    app.command()(messages)
