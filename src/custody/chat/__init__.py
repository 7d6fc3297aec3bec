"""Chat exports: preserve the original byte for byte, parse every message faithfully.

``custody import PATH`` reads a file, folder or zip (zips only through
:mod:`custody.archive`), detects the format from content (:mod:`.detect`), parses it with
one :class:`~custody.chat.base.ChatImporter` per format (:mod:`.whatsapp`,
:mod:`.telegram`), and seals the result (:mod:`.importer`): one WARC of the original files,
a JSON Lines artifact of normalized messages, one salted commitment per message and per
attachment, and one signed ``import`` entry holding their Merkle root and count.
:mod:`.messages` lists imported messages; :mod:`.units` re-checks an import's commitments.
See docs/formats/chat/.
"""
