"""Names and constants of the bundle format (docs/formats/bundle.md)."""

from __future__ import annotations

FORMAT = "custody-bundle/1"
NAMESPACE = "custody-bundle"  # the SSHSIG namespace of the tag-manifest signature
BUNDLE_JSON = "data/bundle.json"
ENTRIES = "data/log/entries.jsonl"
CHECKPOINT = "data/log/checkpoint"
SINCE_CHECKPOINT = "data/log/since-checkpoint"
PROOFS = "data/log/proofs.json"
KEYS = "data/keys"
ALLOWED_SIGNERS = "data/keys/allowed_signers"
EXHIBITS = "data/exhibits"
SIGNED = "tagmanifest-sha256.txt"
SSHSIG = "tagmanifest-sha256.txt.sig"
RAWSIG = "tagmanifest-sha256.txt.ed25519"
VERIFY_TXT = "VERIFY.txt"
TAG_FILES = ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt", VERIFY_TXT)
TAG_MANIFESTS = ("tagmanifest-sha256.txt", "tagmanifest-sha512.txt")
SIGNATURES = (SSHSIG, RAWSIG)
# files under data/ that data/bundle.json does not list (they are made after it)
LOG_FILES = (ENTRIES, CHECKPOINT, SINCE_CHECKPOINT, PROOFS)
