"""The free-text identifier scanner on a synthetic French corpus (recall ≥ 99 % for NIR, phone and
e-mail; precision reported), NIR control keys including Corsica, redaction, and blinding lint."""

import pytest

from cases.identifiers import blinding_mentions, blinding_pattern, nir_key_is_valid, redact, scan_text
from tests.cases.identifier_corpus import negatives, positives

pytestmark = pytest.mark.unit


def test_identifiers_nir_control_key_including_corsica():
    assert nir_key_is_valid("1850578006084", "91")  # 97 - 1850578006084 % 97
    assert not nir_key_is_valid("1850578006084", "92")
    body = "2850A2B123456".replace("0A", "05")  # 2 85 05 2B 123 456
    number = int(body.replace("2B", "18")) - 2_000_000
    assert nir_key_is_valid(body, f"{97 - number % 97:02d}")
    body = "1850A2A123456".replace("0A", "05")
    number = int(body.replace("2A", "19")) - 1_000_000
    assert nir_key_is_valid(body, f"{97 - number % 97:02d}")


def test_identifiers_recall_and_precision_on_the_synthetic_corpus():
    pos, neg = positives(), negatives()
    assert (len(pos), len(neg)) == (1500, 1200)
    found = {kind: 0 for kind in ("nir", "phone", "email", "address", "name")}
    totals = dict.fromkeys(found, 0)
    for kind, text, names in pos:
        totals[kind] += 1
        if any(f.kind == kind for f in scan_text(text, names=names)):
            found[kind] += 1
    recall = {k: found[k] / totals[k] for k in found}
    false_positives = [text for text, names in neg if scan_text(text, names=names)]
    flagged_pos = sum(1 for _, text, names in pos if scan_text(text, names=names))
    precision = flagged_pos / (flagged_pos + len(false_positives))
    print(f"recall {recall}; precision {precision:.4f}; false positives {false_positives[:5]}")
    assert recall["nir"] >= 0.99 and recall["phone"] >= 0.99 and recall["email"] >= 0.99
    assert recall["address"] >= 0.95 and recall["name"] >= 0.99
    assert precision >= 0.99


def test_identifiers_redaction_replaces_each_identifier_with_its_tag():
    text = "Mme Martin, 12 rue Pasteur, tél. 06 12 34 56 78, jeanne.martin@free.fr, NIR 1 85 05 78 006 084 91."
    findings = scan_text(text, names=["Martin", "Jeanne"])
    assert [f.kind for f in findings] == ["name", "address", "phone", "email", "nir"]
    assert redact(text, findings) == "Mme [NOM], [ADRESSE], tél. [TÉLÉPHONE], [E-MAIL], NIR [NIR]."


def test_identifiers_blinding_lint_names_the_ai_its_vendor_and_its_output():
    pattern = blinding_pattern(name="WristFracture AI", vendor="Radiolab SAS", labels=["fracture", "no_fracture"])
    assert blinding_mentions("Analyse WristFracture AI positive.", pattern) == ["WristFracture AI"]
    assert blinding_mentions("Selon Radiolab SAS, score 0,87.", pattern) == ["Radiolab SAS", "score 0,87"]
    assert blinding_mentions("L'IA suggère une fracture.", pattern) == ["IA"]
    assert blinding_mentions("Fracture du radius distal, plâtre.", pattern) == []
