"""The custody demo: every step a user would type, run for real on examples/.

Run it with ``scripts/demo`` (which sets up .venv first). Everything goes into
``demo-output/``, recreated each run, with its own custody home and a demo passphrase.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
OUT = ROOT / "demo-output"
CUSTODY = str(Path(sys.executable).parent / "custody")


def step(title: str, *args: str, capture: bool = False, quiet: bool = False) -> str:
    if not quiet:
        print(f"\n== {title}\n$ custody {shlex.join(args)}", flush=True)
    proc = subprocess.run([CUSTODY, *args], text=True, capture_output=capture, check=False)
    if capture and not quiet:
        sys.stdout.write(proc.stdout)
        sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        sys.exit(f"demo: step failed with exit code {proc.returncode}: {title}")
    return proc.stdout if capture else ""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _serve(folder: Path) -> http.server.ThreadingHTTPServer:
    """Serve ``folder`` on a free loopback port in a background thread."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    if OUT.exists():
        for p in OUT.rglob("*"):
            p.chmod(0o700 if p.is_dir() else 0o600)
        shutil.rmtree(OUT)
    OUT.mkdir()
    os.environ["CUSTODY_HOME"] = str(OUT / "home")
    os.environ["CUSTODY_PASSPHRASE"] = "demo passphrase - use your own"  # noqa: S105 - a demo
    os.environ.pop("CUSTODY_CASE", None)
    case = str(OUT / "case")
    step(
        "Create a case (first use also makes the investigator's key)",
        "init",
        case,
        "--name",
        "Demo: threats against A.",
        "--operator",
        "R. Diaz",
        "--org",
        "Example NGO",
        "--role",
        "investigator",
    )
    files = [
        str(EXAMPLES / n)
        for n in ("photo-with-gps.jpg", "threatening-message.txt", "witness-statement.pdf")
    ]
    step(
        "Preserve the example files",
        "add",
        *files,
        "--case",
        case,
        "--note",
        "received from A. by e-mail",
        "--source",
        "e-mail",
    )
    server = _serve(EXAMPLES / "web")
    url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
    step(
        "Capture a web page served locally (real Chromium; --allow-private for 127.0.0.1)",
        "capture",
        url,
        "--case",
        case,
        "--allow-private",
        "--note",
        "post reported by A.",
    )
    server.shutdown()
    step(
        "Import a WhatsApp export (kept byte for byte; every message committed)",
        "import",
        str(EXAMPLES / "whatsapp-chat.txt"),
        "--case",
        case,
        "--timezone",
        "Europe/Berlin",
        "--note",
        "exported from A.'s phone",
    )
    step("List the imported messages", "messages", "--case", case)
    step("Show the custody log", "log", "--case", case)
    step(
        "Verify the whole case (every artifact re-hashed, every signature checked)",
        "verify",
        case,
        "--deep",
    )
    step("The investigator's fingerprint, to read out over the phone", "keys", "fingerprint")
    pem = step(
        "Export the public key for stock tools", "keys", "export", "--format", "pem", capture=True
    )
    checkpoint = step(
        "The latest signed checkpoint", "log", "checkpoint", "--case", case, capture=True
    )
    (OUT / "investigator.pem").write_text(pem)
    body, _, sigs = checkpoint.encode().partition(b"\n\n")
    (OUT / "checkpoint.body").write_bytes(body + b"\n")
    (OUT / "checkpoint.sig").write_bytes(base64.b64decode(sigs.split()[-1])[4:])
    print("\n== Check the checkpoint signature with stock openssl (no custody involved)")
    cmd = [
        "openssl",
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        "investigator.pem",
        "-rawin",
        "-in",
        "checkpoint.body",
        "-sigfile",
        "checkpoint.sig",
    ]
    print("$ " + shlex.join(cmd), flush=True)
    if subprocess.run(cmd, cwd=OUT, check=False).returncode != 0:
        sys.exit("demo: openssl did not verify the checkpoint")
    _bundle(case)
    print(f"\nDemo complete. The case is in {case}")


def _bundle(case: str) -> None:
    """Make a court bundle, verify it with custody, then with stock tools only."""
    listing = json.loads(step("", "messages", "--case", case, "--json", capture=True, quiet=True))
    import_id = listing["messages"][0]["id"].rpartition(":")[0]
    bundle = str(OUT / "for-court.zip")
    step(
        "Make a court bundle: the photo without GPS, the message with the phone number "
        "masked, the web capture, and only B.'s chat messages (the rest withheld)",
        "bundle",
        "create",
        bundle,
        "--case",
        case,
        "--artifact",
        "1",
        "--artifact",
        "2",
        "--artifact",
        "4",
        "--import",
        import_id,
        "--sender",
        "B.",
        "--redact-text",
        "phone",
        "--strip-gps",
        "--recipient",
        "Prosecutor's office (demo)",
    )
    step("What the bundle holds and withholds", "bundle", "inspect", bundle)
    step("Verify the bundle offline (what the recipient runs)", "bundle", "verify", bundle)
    bag = OUT / "for-court"
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(bag)
    principal = (bag / "data/keys/allowed_signers").read_text().split()[0]
    print("\n== Check the bundle with stock tools only (as VERIFY.txt in the bundle says)")
    sig = ["-n", "custody-bundle", "-s", "tagmanifest-sha256.txt.sig"]
    checks: list[tuple[list[str], str | None]] = [
        (["sha256sum", "--quiet", "-c", "manifest-sha256.txt"], None),
        (
            [
                "ssh-keygen",
                "-Y",
                "verify",
                "-f",
                "data/keys/allowed_signers",
                "-I",
                principal,
                *sig,
            ],
            "tagmanifest-sha256.txt",
        ),
    ]
    for cmd, stdin in checks:
        print("$ " + shlex.join(cmd) + (f" < {stdin}" if stdin else ""), flush=True)
        with (bag / stdin if stdin else Path(os.devnull)).open("rb") as fh:
            if subprocess.run(cmd, cwd=bag, stdin=fh, check=False).returncode != 0:
                sys.exit(f"demo: {cmd[0]} did not verify the bundle")


if __name__ == "__main__":
    main()
