"""The strings WhatsApp writes into exports in place of content, per language.

Markers are localized with the exporting phone's language. Each :class:`Markers` row is
data, not code: add a language by adding a row. Where a string comes from:

* ``en``, ``de``: research/chat-exports.md section 2.4 (real exports, WhatsR fixtures);
* the others: the WhatsApp localization tables collected by starkdmi/whats_json
  (``lib/src/patterns.dart``), cross-checked against public parsers' fixtures of real
  exports (``<Multimedia omitido>``, ``<Mídia oculta>``, ``<Médias omis>``,
  ``<Media omessi>``, ``<Se editó este mensaje.>``, ``<Ce message a été modifié>``).

Strings we could not confirm are left out rather than guessed (German, French, Portuguese
and Italian polls; "Waiting for this message" outside English): such a marker stays in
the text, and the import report lists it as an unknown marker when it has a marker's
shape. Matching ignores case and a trailing full stop.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Markers:
    """The marker strings of one language."""

    lang: str
    media_omitted: tuple[str, ...]  # Android, the whole body: "<Media omitted>"
    omitted: Mapping[str, tuple[str, ...]]  # iOS "image omitted", by media kind
    file_attached: tuple[str, ...]  # Android "NAME (file attached)"
    attached: tuple[str, ...]  # iOS "<attached: NAME>"
    deleted: tuple[str, ...]
    deleted_self: tuple[str, ...]
    edited: tuple[str, ...]  # appended to the text: "<This message was edited>"
    location: tuple[str, ...]  # "location: https://maps.google.com/?q=…"
    live_location: tuple[str, ...]
    missed_voice: tuple[str, ...]
    missed_video: tuple[str, ...]
    encrypted: tuple[str, ...]  # how the end-to-end encryption notice starts
    poll: tuple[str, str] | None = None  # ("POLL:", "OPTION:")
    waiting: tuple[str, ...] = ()
    system: tuple[str, ...] = field(default=())  # regexes of system lines that hold ": "


TABLE: tuple[Markers, ...] = (
    Markers(
        lang="en",
        media_omitted=("<Media omitted>",),
        omitted={
            "image": ("image omitted",),
            "video": ("video omitted",),
            "audio": ("audio omitted",),
            "sticker": ("sticker omitted",),
            "gif": ("GIF omitted",),
            "document": ("document omitted",),
            "contact": ("Contact card omitted",),
        },
        file_attached=("file attached",),
        attached=("attached",),
        deleted=("This message was deleted",),
        deleted_self=("You deleted this message",),
        edited=("<This message was edited>",),
        location=("location", "Location"),
        live_location=("live location shared",),
        missed_voice=("Missed voice call",),
        missed_video=("Missed video call",),
        encrypted=("Messages and calls are end-to-end encrypted.",),
        poll=("POLL:", "OPTION:"),
        waiting=("Waiting for this message", "Waiting for this message. This may take a while"),
        system=(
            r".+ changed the subject from [\"“].*[\"”] to [\"“].*[\"”]",
            r".+ changed the subject to [\"“].*[\"”]",
            r".+ created group [\"“].*[\"”]",
            r".+ changed the group name from [\"“].*[\"”] to [\"“].*[\"”]",
        ),
    ),
    Markers(
        lang="de",
        media_omitted=("<Medien ausgeschlossen>", "<Medien weggelassen>"),
        omitted={
            "image": ("Bild weggelassen",),
            "video": ("Video weggelassen",),
            "audio": ("Audio weggelassen",),
            "sticker": ("Sticker weggelassen",),
            "gif": ("GIF weggelassen",),
            "document": ("Dokument weggelassen",),
            "contact": ("Kontaktkarte ausgelassen",),
        },
        file_attached=("Datei angehängt",),
        attached=("Anhang", "angehängt"),
        deleted=("Diese Nachricht wurde gelöscht",),
        deleted_self=("Du hast diese Nachricht gelöscht",),
        edited=("<Diese Nachricht wurde bearbeitet>",),
        location=("Standort",),
        live_location=("Live-Standort wird geteilt",),
        missed_voice=("Verpasster Sprachanruf",),
        missed_video=("Verpasster Videoanruf",),
        encrypted=("Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt.",),
    ),
    Markers(
        lang="fr",
        media_omitted=("<Médias omis>", "<Fichier omis>"),
        omitted={
            "image": ("image absente",),
            "video": ("vidéo absente",),
            "audio": ("audio omis",),
            "sticker": ("sticker omis",),
            "gif": ("GIF retiré",),
            "document": ("document manquant", "document omis"),
            "contact": ("Fiche contact manquante",),
        },
        file_attached=("fichier joint",),
        attached=("pièce jointe",),
        deleted=("Ce message a été supprimé",),
        deleted_self=("Vous avez supprimé ce message",),
        edited=("<Ce message a été modifié>",),
        location=("localisation",),
        live_location=("Localisation en direct partagée",),
        missed_voice=("Appel vocal manqué",),
        missed_video=("Appel vidéo manqué",),
        encrypted=("Les messages et les appels sont chiffrés de bout en bout.",),
    ),
    Markers(
        lang="es",
        media_omitted=("<Multimedia omitido>", "<Archivo omitido>"),
        omitted={
            "image": ("imagen omitida",),
            "video": ("Video omitido",),
            "audio": ("audio omitido",),
            "sticker": ("sticker omitido",),
            "gif": ("GIF omitido",),
            "document": ("documento omitido",),
            "contact": ("Tarjeta de contacto omitida",),
        },
        file_attached=("archivo adjunto", "archivo adjuntado"),
        attached=("adjunto",),
        deleted=("Se eliminó este mensaje", "Este mensaje fue eliminado"),
        deleted_self=("Eliminaste este mensaje",),
        edited=("<Se editó este mensaje.>", "<Se editó este mensaje>"),
        location=("ubicación",),
        live_location=("ubicación en tiempo real compartida",),
        missed_voice=("Llamada perdida", "Llamada de voz perdida"),
        missed_video=("Videollamada perdida",),
        encrypted=("Los mensajes y las llamadas están cifrados de extremo a extremo.",),
        poll=("ENCUESTA:", "OPCIÓN:"),
    ),
    Markers(
        lang="pt",
        media_omitted=("<Mídia oculta>", "<Arquivo de mídia oculto>", "<Mídia omitida>"),
        omitted={
            "image": ("imagem ocultada", "imagem não revelada"),
            "video": ("vídeo omitido", "vídeo não revelado"),
            "audio": ("áudio ocultado", "ficheiro de áudio não revelado"),
            "sticker": ("figurinha omitida", "sticker não revelado"),
            "gif": ("GIF não revelada",),
            "document": ("documento omitido", "documento não revelado"),
            "contact": ("Cartão do contato omitido", "Contacto não revelado"),
        },
        file_attached=("arquivo anexado", "ficheiro anexado"),
        attached=("anexado", "anexo"),
        deleted=("Esta mensagem foi apagada", "Mensagem apagada"),
        deleted_self=("Você apagou esta mensagem", "Apagou esta mensagem"),
        edited=("<Mensagem editada>",),
        location=("localização",),
        live_location=("localização atual compartilhada",),
        missed_voice=("Chamada de voz perdida",),
        missed_video=("Chamada de vídeo perdida", "Videochamada perdida"),
        encrypted=(
            "As mensagens e as chamadas são protegidas com a criptografia de ponta a ponta",
            "As mensagens e chamadas são encriptadas ponto a ponto.",
        ),
    ),
    Markers(
        lang="it",
        media_omitted=("<Media omessi>", "<Media omesso>"),
        omitted={
            "image": ("immagine omessa",),
            "video": ("video omesso",),
            "audio": ("audio omesso",),
            "sticker": ("sticker non incluso",),
            "gif": ("GIF esclusa",),
            "document": ("documento omesso",),
            "contact": ("Scheda contatto omessa",),
        },
        file_attached=("file allegato",),
        attached=("allegato",),
        deleted=("Questo messaggio è stato eliminato",),
        deleted_self=("Hai eliminato questo messaggio",),
        edited=("<Questo messaggio è stato modificato>",),
        location=("posizione",),
        live_location=("posizione attuale condivisa",),
        missed_voice=("Chiamata vocale persa",),
        missed_video=("Videochiamata persa",),
        encrypted=("I messaggi e le chiamate sono crittografati end-to-end.",),
    ),
)


def key(text: str) -> str:
    """How a body is compared with a marker: case-folded, without a trailing full stop."""
    return text.casefold().removesuffix(".")


@dataclass(frozen=True, slots=True)
class Meaning:
    """What a whole-body marker means."""

    kind: str  # media-omitted, omitted, deleted, deleted-self, live-location, missed-call, waiting
    lang: str
    detail: str | None = None  # the media kind of "omitted", voice/video of a missed call


def _whole() -> dict[str, Meaning]:
    table: dict[str, Meaning] = {}

    def put(phrases: tuple[str, ...], meaning: Meaning) -> None:
        for phrase in phrases:
            table.setdefault(key(phrase), meaning)

    for row in TABLE:
        put(row.media_omitted, Meaning("media-omitted", row.lang))
        for media, phrases in row.omitted.items():
            put(phrases, Meaning("omitted", row.lang, media))
        put(row.deleted, Meaning("deleted", row.lang))
        put(row.deleted_self, Meaning("deleted-self", row.lang))
        put(row.live_location, Meaning("live-location", row.lang))
        put(row.missed_voice, Meaning("missed-call", row.lang, "voice"))
        put(row.missed_video, Meaning("missed-call", row.lang, "video"))
        put(row.waiting, Meaning("waiting", row.lang))
    return table


WHOLE: Mapping[str, Meaning] = _whole()
"""Bodies that are a marker as a whole, by :func:`key`."""

EDITED: tuple[tuple[str, str], ...] = tuple(
    (phrase, row.lang) for row in TABLE for phrase in row.edited
)
FILE_ATTACHED = re.compile(
    r"^\u200e?(?P<name>.+?) \((?P<label>"
    + "|".join(re.escape(p) for row in TABLE for p in row.file_attached)
    + r")\)$"
)
ATTACHED = re.compile(
    r"^(?P<title>.*?)\u200e?<(?P<label>"
    + "|".join(re.escape(p) for row in TABLE for p in row.attached)
    + r"): (?P<name>[^<>]+)>$"
)
DOCUMENT_OMITTED = re.compile(
    r"^\u200e?(?P<title>.+?)\s\u200e?(?P<label>"
    + "|".join(re.escape(p) for row in TABLE for p in row.omitted["document"])
    + r")$",
    re.IGNORECASE,
)
LOCATION = re.compile(
    r"^\u200e?(?P<label>"
    + "|".join(re.escape(p) for row in TABLE for p in row.location)
    + r"): (?P<url>https://(?:maps\.google\.com|www\.google\.com/maps|foursquare\.com)/\S*)$"
)
POLLS: tuple[tuple[str, str, str], ...] = tuple(
    (row.poll[0], row.poll[1], row.lang) for row in TABLE if row.poll
)
ENCRYPTED: tuple[tuple[str, str], ...] = tuple(
    (phrase, row.lang) for row in TABLE for phrase in row.encrypted
)
SYSTEM = re.compile("|".join(f"(?:{p})" for row in TABLE for p in row.system), re.DOTALL)
LANGUAGES = tuple(row.lang for row in TABLE)
