"""The custody demo: every step a user would type, run for real on examples/.

Run it with ``scripts/demo`` (which sets up .venv first). Everything goes into
``demo-output/``, recreated each run, with its own custody home and a demo passphrase.
"""

from __future__ import annotations

import base64
import functools
import http.server
import os
import shlex
import shutil
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
OUT = ROOT / "demo-output"
CUSTODY = str(Path(sys.executable).parent / "custody")


def step(title: str, *args: str, capture: bool = False) -> str:
    print(f"\n== {title}\n$ custody {shlex.join(args)}", flush=True)
    proc = subprocess.run([CUSTODY, *args], text=True, capture_output=capture, check=False)
    if capture:
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
    print(f"\nDemo complete. The case is in {case}")


if __name__ == "__main__":
    main()
