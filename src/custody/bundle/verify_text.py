"""VERIFY.txt: how a court clerk checks a bundle with the tools of their own system."""

from __future__ import annotations

import shlex

from custody.bundle import layout

_TEMPLATE = """\
HOW TO CHECK THIS EVIDENCE BUNDLE
=================================

Bundle {bundle} from case {case}, signed by {operator}.
Signing key fingerprint (OpenSSH): {fingerprint}
Signing key id:                    {key_id}

Before anything else: compare the fingerprint above with the one the sender gave you
by another channel (a phone call, a letter, the cover note of the request). If they
differ, stop: the bundle may not come from who it says.

Unzip the bundle into an empty folder and open a terminal in that folder.

1. Every file is intact (the payload manifest)
----------------------------------------------
Linux:    sha256sum -c manifest-sha256.txt
macOS:    sed 's/ /  /' manifest-sha256.txt | shasum -a 256 -c
Windows (PowerShell):
    Get-Content manifest-sha256.txt | ForEach-Object {{
      $h, $f = $_ -split ' ', 2
      if ((Get-FileHash -Algorithm SHA256 -LiteralPath $f).Hash -ne $h.ToUpper()) {{ "FAILED $f" }}
    }}
(macOS's shasum wants two spaces after each digest; the manifest has the one space
BagIt allows, hence the sed.) Every line must say OK (Windows: nothing printed). Any
FAILED line means the file was changed after the bundle was made. Do the same with
tagmanifest-sha256.txt: it covers the manifests and this file.

2. The bundle was signed by that key (primary check)
----------------------------------------------------
With OpenSSH 8.1 or later (stock on Linux, macOS and Windows 10/11):

    ssh-keygen -Y verify -f {allowed} -I {principal} -n {namespace} -s {sshsig} < {signed}

It must print: Good "{namespace}" signature for {principal} with ED25519 key {fingerprint}
(On Windows run it in cmd.exe: PowerShell has no "<" redirection.)

Second, independent check with OpenSSL 3:

    openssl pkeyutl -verify -pubin -inkey {pem} -rawin -in {signed} -sigfile {rawsig}

It must print: Signature Verified Successfully

3. What these checks mean
-------------------------
Steps 1 and 2 together show that every file listed is exactly what the holder of that
key shipped. They do not show what the full verifier checks:

- that each exhibit is exactly what was acquired (the salted commitments in
  data/exhibits/*/*.disclosure.json recompute to those in the signed log entries);
- that those entries are in the custody log the checkpoint data/log/checkpoint commits
  to (inclusion proofs in data/log/proofs.json), and that the log only grew since a
  checkpoint you hold (the consistency proof);
- which units were withheld and why, and which were redacted and how (data/bundle.json).

Run the full check with:  custody verify {zipname}
or follow docs/formats/bundle.md of the custody project to check it by hand.
Exit code 0 means every check held; 3 means something failed (each finding is listed);
4 means the file is not a bundle or was refused as unsafe.

Times in the log ("claimed_time") are what the signer's computer clock said: a claim,
not a proof of time.
"""


def verify_text(
    *,
    bundle: str,
    case: str,
    operator: str,
    fingerprint: str,
    key_id: str,
    principal: str,
    pem: str,
    zipname: str,
) -> bytes:
    """The VERIFY.txt of a bundle."""
    return _TEMPLATE.format(
        bundle=bundle,
        case=case,
        operator=operator,
        fingerprint=fingerprint,
        key_id=key_id,
        allowed=layout.ALLOWED_SIGNERS,
        principal=principal,
        namespace=layout.NAMESPACE,
        sshsig=layout.SSHSIG,
        signed=layout.SIGNED,
        pem=pem,
        rawsig=layout.RAWSIG,
        zipname=shlex.quote(zipname),
    ).encode("utf-8")
