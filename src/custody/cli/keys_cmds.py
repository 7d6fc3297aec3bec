"""custody keys: export, fingerprint, join, rotate."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from custody import encodings, keys, locker, log, signing
from custody.case import find_case_root, open_case
from custody.cli._common import (
    CaseOpt,
    JsonOpt,
    PassFileOpt,
    current_identity,
    open_current_case,
    out_console,
    print_json,
    read_passphrase,
    unlock,
)
from custody.errors import CustodyError

app = typer.Typer(help="Your signing keys.", no_args_is_help=True, rich_markup_mode=None)


@app.command("export")
def export(
    fmt: Annotated[
        encodings.KeyFormat, typer.Option("--format", help="Encoding of the public key.")
    ] = encodings.KeyFormat.OPENSSH,
    case_path: CaseOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Print your public key for stock tools (ssh-keygen, openssl) or a C2SP note verifier.

    Example: custody keys export --format pem > investigator.pem
    """
    home = keys.custody_home()
    identity = current_identity(home)
    origin = None
    if fmt is encodings.KeyFormat.NOTE:
        try:
            origin = open_case(find_case_root(case_path)).origin
        except CustodyError:
            origin = None
    public = keys.public_key_of(home, identity.key_id)
    name = identity.operator.name
    if json_out:
        every = {
            f.value: encodings.export_public_key(public, f, principal=name, origin=origin)
            for f in encodings.KeyFormat
        }
        print_json({"key_id": identity.key_id, "formats": every})
        return
    sys.stdout.write(encodings.export_public_key(public, fmt, principal=name, origin=origin))


@app.command("fingerprint")
def fingerprint(json_out: JsonOpt = False) -> None:
    """Print your key's fingerprints, to read out over the phone.

    Example: custody keys fingerprint
    """
    home = keys.custody_home()
    identity = current_identity(home)
    public = keys.public_key_of(home, identity.key_id)
    data = {
        "key_id": identity.key_id,
        "ssh_fingerprint": signing.ssh_fingerprint(public),
        "read_aloud": encodings.fingerprint_groups(public),
        "operator": identity.operator.to_dict(),
    }
    if json_out:
        print_json(data)
        return
    out = out_console()
    out.print(f"{identity.operator.name}: {data['read_aloud']}")
    out.print(f"ssh-keygen -lf shows: {data['ssh_fingerprint']}")


@app.command("join")
def join(
    operator: Annotated[str | None, typer.Option(help="Your name (first use).")] = None,
    org: Annotated[str | None, typer.Option(help="Your organisation.")] = None,
    role: Annotated[str | None, typer.Option(help="Your role, e.g. examiner.")] = None,
    case_path: CaseOpt = None,
    passphrase_file: PassFileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Join a case with your own key (an examiner taking over, say): a signed key entry.

    Example: custody keys join --case case-17 --operator "Dr. K. Osei" --role examiner
    """
    case = open_current_case(case_path)
    home = keys.custody_home()
    identity = keys.read_identity(home)
    if identity is None:
        signer = keys.generate_key(home, read_passphrase(passphrase_file, confirm=True))
        identity = keys.Identity(keys.Operator(operator or "examiner", org, role), signer.key_id)
        keys.write_identity(home, identity)
    else:
        signer = unlock(home, identity, passphrase_file)
    who = keys.Operator(
        operator or identity.operator.name,
        org or identity.operator.org,
        role or identity.operator.role,
    )
    entry = locker.join_case(case, signer=signer, operator=who, home=home)
    if json_out:
        print_json({"entry": entry.seq, "key_id": signer.key_id})
    else:
        out_console().print(f"Joined with key {signer.key_id} (entry {entry.seq})")


@app.command("rotate")
def rotate(
    case_path: CaseOpt = None, passphrase_file: PassFileOpt = None, json_out: JsonOpt = False
) -> None:
    """Replace your key by a new one in this case; the old key signs the change.

    Example: custody keys rotate --case case-17
    """
    case = open_current_case(case_path)
    home = keys.custody_home()
    identity = current_identity(home)
    passphrase = read_passphrase(passphrase_file)
    old = keys.load_key(home, identity.key_id, passphrase)
    log.check_head(case)
    locker.require_member(case, old)
    new = keys.generate_key(home, passphrase)
    entry = locker.rotate_key(case, old=old, new=new, operator=identity.operator, home=home)
    keys.write_identity(home, keys.Identity(identity.operator, new.key_id))
    if json_out:
        print_json({"entry": entry.seq, "old_key_id": old.key_id, "key_id": new.key_id})
    else:
        out_console().print(f"Rotated {old.key_id} -> {new.key_id} (entry {entry.seq})")
