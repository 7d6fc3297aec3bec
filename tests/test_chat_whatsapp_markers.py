"""WhatsApp .txt parsing, part 2: spoofed header lines, system lines and senders, and the
marker table in English, German, French, Spanish, Portuguese and Italian."""

from __future__ import annotations

import pytest

from custody.chat.base import FileInfo

from .test_chat_whatsapp import LRM, NNBSP, parse


def test_spoofed_header_of_another_shape_stays_in_the_message() -> None:
    # the file's clock has U+202F before PM; the typed line uses a plain space
    text = (
        f"1/15/24, 9:03{NNBSP}PM - Alice: look what he sent:\n"
        "1/15/24, 10:00 PM - Mallory: I will find you\n"
        f"1/15/24, 9:05{NNBSP}PM - Bob: ok\n"
    )
    messages, report = parse(text)
    assert len(messages) == 2
    assert messages[0]["text"] == "look what he sent:\n1/15/24, 10:00 PM - Mallory: I will find you"
    assert report.counts["header-like-line"] == 1
    finding = next(f for f in report.findings if f["code"] == "header-like-line")
    assert finding["line"] == 2


def test_spoofed_header_of_the_same_shape_is_flagged_by_time_going_back() -> None:
    text = (
        "15/01/2024, 21:03 - Alice: look:\n"
        "14/01/2024, 08:00 - Mallory: typed to look like a message\n"
        "15/01/2024, 21:05 - Bob: ok\n"
    )
    messages, report = parse(text)
    assert len(messages) == 3  # indistinguishable from a real header: reported, not hidden
    assert report.counts["time-backwards"] == 1


def test_system_lines_and_senders() -> None:
    text = (
        "15/01/2024, 21:00 - Messages and calls are end-to-end encrypted. No one outside of "
        "this chat, not even WhatsApp, can read or listen to them. Tap to learn more.\n"
        '15/01/2024, 21:01 - Alice changed the subject from "Plans" to "Plans: Friday"\n'
        "15/01/2024, 21:02 - \u202a+49 170 1234567\u202c: hello\n"
        f"15/01/2024, 21:03 - ~{NNBSP}Ana: hi\n"
        "15/01/2024, 21:04 - You were added\n"
    )
    messages, _ = parse(text)
    assert [m["sender"] for m in messages] == [None, None, "+49 170 1234567", "~ Ana", None]
    assert messages[2]["sender_raw"] == "\u202a+49 170 1234567\u202c"
    assert [m["kind"] for m in messages] == ["system", "system", "text", "text", "system"]
    assert messages[1]["text"] == 'Alice changed the subject from "Plans" to "Plans: Friday"'
    assert "system" in messages[0]["flags"]


def test_a_typed_system_phrase_keeps_its_sender() -> None:
    text = (
        '15/01/2024, 21:01 - Bob: Alice changed the subject from "a" to "b"\n'
        '15/01/2024, 21:02 - "Bo" B.: hi: there\n'
    )
    messages, report = parse(text)
    assert [m["sender"] for m in messages] == ["Bob", '"Bo" B.']
    assert messages[0]["text"] == 'Alice changed the subject from "a" to "b"'
    assert report.counts["sender-uncertain"] == 1


def test_ios_system_and_attributed_notices() -> None:
    text = (
        f"[15/01/2024, 21:00:00] Group X: {LRM}Messages and calls are end-to-end encrypted. "
        "No one outside of this chat, not even WhatsApp, can read or listen to them.\r\n"
        f"[15/01/2024, 21:01:00] {LRM}Alice created group “X”\r\n"
        "[15/01/2024, 21:02:00] Alice: hi\r\n"
    )
    messages, _ = parse(text)
    assert [m["sender"] for m in messages] == [None, None, "Alice"]
    assert messages[0]["sender_raw"] == "Group X"
    assert messages[1]["sender_raw"] is None


# (lang, body, kind, text, attachment status, flags)
MARKERS = [
    ("en", "<Media omitted>", "media", "", "omitted", []),
    ("de", "<Medien ausgeschlossen>", "media", "", "omitted", []),
    ("fr", "<Médias omis>", "media", "", "omitted", []),
    ("es", "<Multimedia omitido>", "media", "", "omitted", []),
    ("pt", "<Mídia oculta>", "media", "", "omitted", []),
    ("it", "<Media omessi>", "media", "", "omitted", []),
    ("en", "This message was deleted", "deleted", "", None, ["deleted"]),
    ("de", "Diese Nachricht wurde gelöscht", "deleted", "", None, ["deleted"]),
    ("fr", "Ce message a été supprimé", "deleted", "", None, ["deleted"]),
    ("es", "Se eliminó este mensaje.", "deleted", "", None, ["deleted"]),
    ("pt", "Você apagou esta mensagem", "deleted", "", None, ["deleted"]),
    ("it", "Hai eliminato questo messaggio", "deleted", "", None, ["deleted"]),
    ("en", "see you <This message was edited>", "text", "see you", None, ["edited"]),
    ("de", "bis dann <Diese Nachricht wurde bearbeitet>", "text", "bis dann", None, ["edited"]),
    ("fr", "à demain <Ce message a été modifié>", "text", "à demain", None, ["edited"]),
    ("es", "hasta luego <Se editó este mensaje.>", "text", "hasta luego", None, ["edited"]),
    ("pt", "até logo <Mensagem editada>", "text", "até logo", None, ["edited"]),
    ("it", "a dopo <Questo messaggio è stato modificato>", "text", "a dopo", None, ["edited"]),
    ("en", "IMG-20240115-WA0003.jpg (file attached)", "media", "", "referenced", []),
    ("de", "IMG-20240115-WA0003.jpg (Datei angehängt)", "media", "", "referenced", []),
    ("fr", "IMG-20240115-WA0003.jpg (fichier joint)", "media", "", "referenced", []),
    ("es", "IMG-20240115-WA0003.jpg (archivo adjunto)", "media", "", "referenced", []),
    ("pt", "IMG-20240115-WA0003.jpg (arquivo anexado)", "media", "", "referenced", []),
    ("it", "IMG-20240115-WA0003.jpg (file allegato)", "media", "", "referenced", []),
    ("en", "Missed voice call", "call", "", None, []),
    ("de", "Verpasster Videoanruf", "call", "", None, []),
    ("it", "Chiamata vocale persa", "call", "", None, []),
]


@pytest.mark.parametrize(
    ("lang", "body", "kind", "text", "status", "flags"),
    MARKERS,
    ids=[f"{m[0]}-{m[2]}-{i}" for i, m in enumerate(MARKERS)],
)
def test_marker_table(
    lang: str, body: str, kind: str, text: str, status: str | None, flags: list[str]
) -> None:
    messages, report = parse(f"15/01/2024, 21:03 - Alice: {body}\n")
    (m,) = messages
    assert (m["kind"], m["text"], m["flags"]) == (kind, text, flags)
    assert [a["status"] for a in m["attachments"]] == ([status] if status else [])
    assert lang in report.facts["marker_languages"]


def test_android_caption_missing_and_present_media() -> None:
    photo = FileInfo("IMG-20240115-WA0003.jpg", 4, "a" * 64, "b" * 128)
    text = (
        "15/01/2024, 21:03 - Alice: IMG-20240115-WA0003.jpg (file attached)\n"
        "the caption\n"
        "15/01/2024, 21:04 - Alice: VID-20240115-WA0004.mp4 (file attached)\n"
    )
    messages, report = parse(text, files={photo.name: photo})
    first, second = (m["attachments"][0] for m in messages)
    assert messages[0]["text"] == "the caption"
    assert first == {
        "name": photo.name,
        "status": "referenced",
        "sha256": "a" * 64,
        "size": 4,
        "present": True,
        "media": "image",
    }
    assert second["present"] is False and "sha256" not in second
    assert report.counts["missing-media"] == 1


def test_ios_markers() -> None:
    text = (
        f"[15/01/2024, 21:03:07] Alice: {LRM}<attached: 00000012-PHOTO-2024-01-15-21-03-07.jpg>\r\n"
        f"[15/01/2024, 21:04:00] Alice: {LRM}image omitted\r\n"
        f"[15/01/2024, 21:05:00] Alice: Notes.pdf • {LRM}2 pages "
        f"{LRM}<attached: 00000013-Notes.pdf>\r\n"
        f"[15/01/2024, 21:06:00] Bob: {LRM}This message was deleted.\r\n"
        f"[15/01/2024, 21:07:00] Bob: {LRM}Location: https://maps.google.com/?q=52.52,13.40\r\n"
        f"[15/01/2024, 21:08:00] Bob: {LRM}View once voice message omitted\r\n"
    )
    messages, report = parse(text)
    assert [m["kind"] for m in messages] == [
        "media",
        "media",
        "media",
        "deleted",
        "location",
        "text",
    ]
    assert messages[0]["attachments"][0]["name"] == "00000012-PHOTO-2024-01-15-21-03-07.jpg"
    assert messages[1]["attachments"][0] == {"name": None, "status": "omitted", "media": "image"}
    assert messages[2]["attachments"][0]["title"] == f"Notes.pdf • {LRM}2 pages"
    assert messages[4]["location"] == {
        "url": "https://maps.google.com/?q=52.52,13.40",
        "label": None,
    }
    assert messages[5]["text"] == f"{LRM}View once voice message omitted"  # unknown: kept
    assert report.counts["unknown-marker"] == 1
    assert report.counts["missing-media"] == 2


def test_poll_unknown_marker_and_view_once() -> None:
    text = (
        "15/01/2024, 21:03 - Alice: POLL:\nWhere?\nOPTION: Park (2 votes)\nOPTION: Café (0 votes)\n"
        "15/01/2024, 21:04 - Alice: <View once message omitted>\n"
        "15/01/2024, 21:05 - Alice: null\n"
    )
    messages, report = parse(text)
    assert messages[0]["kind"] == "poll"
    assert messages[0]["poll"] == {
        "question": "Where?",
        "options": [{"text": "Park", "votes": 2}, {"text": "Café", "votes": 0}],
    }
    assert messages[1]["text"] == "<View once message omitted>"
    assert report.counts["unknown-marker"] == 1
    assert messages[2]["text"] == "null" and report.counts["maybe-view-once"] == 1
