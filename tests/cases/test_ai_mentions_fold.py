"""``cases.ai_mentions.fold`` (accents removed, same length) is a translation table filled as
characters are met, with ASCII text returned as is: it must give, for every character, what the
definition gives (a letter's first NFKD character, anything else itself)."""

import unicodedata

from cases.ai_mentions import fold


def by_definition(text: str) -> str:
    return "".join(unicodedata.normalize("NFKD", ch)[0] if ch.isalpha() else ch for ch in text)


def test_fold_is_the_definition_for_every_character_of_the_basic_plane_and_beyond():
    every = "".join(chr(c) for c in range(0x20000) if not 0xD800 <= c < 0xE000)

    assert fold(every) == by_definition(every)
    assert len(fold(every)) == len(every)


def test_fold_of_french_text_and_of_ascii():
    text = "Écho cœur : réseau de neurones, Ostéo-Vue® détecté"
    assert fold(text) == "Echo cœur : reseau de neurones, Osteo-Vue® detecte"
    assert fold("plain ASCII text, 0.93") == "plain ASCII text, 0.93"
    assert fold("") == ""
