"""The direct-identifier scanner (DESIGN §10): recall ≥ 99 % and precision ≥ 97 % for every kind on a
hard synthetic French corpus and on a held-out corpus built from other templates, vocabularies and
seed; the documented spellings one by one; NIR control keys including Corsica; redaction; the
``ensure_no_identifiers`` gate of the services (field and kind named, never the value)."""

import pytest

from cases.identifiers import (
    KINDS,
    ensure_no_identifiers,
    identifier_kinds,
    nir_key_is_valid,
    redact,
    scan_text,
)
from common.exceptions import ValidationFailed
from tests.cases.identifier_corpus import KINDS as CORPUS_KINDS
from tests.cases.identifier_corpus import corpus

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


def measure(samples) -> tuple[dict[str, float], dict[str, float], dict[str, int]]:
    """Per kind: recall over the planted identifiers (a finding of the same kind overlapping it),
    precision over every finding (one that overlaps no planted identifier of its kind is false)."""
    planted = dict.fromkeys(KINDS, 0)
    hit = dict.fromkeys(KINDS, 0)
    flagged = dict.fromkeys(KINDS, 0)
    false = dict.fromkeys(KINDS, 0)
    for s in samples:
        findings = scan_text(s.text, names=s.names, ids=s.ids)
        for kind, start, end in s.spans:
            planted[kind] += 1
            hit[kind] += any(f.kind == kind and f.start < end and f.end > start for f in findings)
        for f in findings:
            flagged[f.kind] += 1
            false[f.kind] += not any(k == f.kind and f.start < e and f.end > b for k, b, e in s.spans)
    recall = {k: hit[k] / planted[k] for k in KINDS}
    precision = {k: (flagged[k] - false[k]) / flagged[k] for k in KINDS}
    return recall, precision, planted


@pytest.mark.parametrize("part", ["dev", "heldout"])
def test_identifiers_recall_and_precision_per_kind_on_the_corpus(part):
    samples = corpus(part)
    assert CORPUS_KINDS == KINDS
    assert len(samples) == 8 * 250 + 2000 + 4
    recall, precision, planted = measure(samples)
    assert planted == dict.fromkeys(KINDS, 250)
    print(part, {k: round(v, 4) for k, v in recall.items()}, {k: round(v, 4) for k, v in precision.items()})
    assert {k: v for k, v in recall.items() if v < 0.99} == {}
    assert {k: v for k, v in precision.items() if v < 0.97} == {}


def test_identifiers_corpus_is_deterministic_and_its_parts_differ():
    first, again, heldout = corpus("dev"), corpus("dev"), corpus("heldout")
    assert [s.text for s in first] == [s.text for s in again]
    assert not {s.text for s in first} & {s.text for s in heldout}


ROW_IDS = {"patient_id": "IPP-5001", "accession_number": "E-501"}


@pytest.mark.parametrize(("text", "kinds"), [
    # NIR: separators, without its key, Corsica, a wrong key, a key after a cue.
    ("NIR 1 85 05 78 006 084 91", ["nir"]),
    ("n° sécu 1-85-05-78-006-084-91", ["nir"]),
    ("1.85.05.78.006.084.91", ["nir"]),
    ("1\u00a085\u00a005\u00a078\u00a0006\u00a0084\u00a091", ["nir"]),
    ("assuré 185057800608491", ["nir"]),
    ("1 85 05 78 006 084 / 91", ["nir"]),
    ("1 85 05 78 006 084", ["nir"]),
    ("NIR 1850578006084", ["nir"]),
    ("Réf. 1850578006084 du labo", []),
    ("Référence 185057800608492", []),
    ("NIR 1 85 05 78 006 084 92", ["nir"]),
    ("185 057 800 608 491", ["nir"]),
    # Phones.
    ("06 12 34 56 78", ["phone"]),
    ("06\u202f12\u202f34\u202f56\u202f78", ["phone"]),
    ("06/12/34/56/78", ["phone"]),
    ("+33 (0)6 12 34 56 78", ["phone"]),
    ("0033 6 12 34 56 78", ["phone"]),
    ("(+33) 6 12 34 56 78", ["phone"]),
    ("+33612345678", ["phone"]),
    ("061 234 5678", ["phone"]),
    ("0 6 1 2 3 4 5 6 7 8", ["phone"]),
    # E-mails.
    ("jean.dupont@orange.fr", ["email"]),
    ("jean.dupont [at] orange [dot] fr", ["email"]),
    ("jean.dupont(at)orange.fr", ["email"]),
    ("jean.dupont arobase orange point fr", ["email"]),
    # Addresses.
    ("12 bis, rue Victor Hugo", ["address"]),
    ("3 av. des Lilas 69003 Lyon", ["address"]),
    ("lieu-dit Les Granges", ["address"]),
    ("BP 45, 13001 Marseille CEDEX", ["address"]),
    ("domicilié rue de la République à Lille", ["address"]),
    # Birth dates, and what is not an exact birth date.
    ("né le 3 mars 1954", ["birth_date"]),
    ("née le 1er janvier 1950", ["birth_date"]),
    ("DDN : 03/03/1954", ["birth_date"]),
    ("date de naissance 3-3-54", ["birth_date"]),
    ("né en 1954", []),
    ("examen du 03/03/2026", []),
    # The row's own references, whatever their case and separators; another row's are not.
    ("IPP 5001 revu", ["patient_id"]),
    ("examen e501", ["accession_number"]),
    ("voir E-502 et IPP-5002", []),
    # Found while probing after the corpus was written (kept here, out of the held-out part).
    ("N° INSEE 1850578006084", ["nir"]),
    ("Portable : 06 12 34 56 78/07 12 34 56 78", ["phone"]),
    ("12 Grande Rue, 25000 Besançon", ["address"]),
    ("Date de naiss. : 03/03/1954", ["birth_date"]),
    ("du 03/03/2026 au 05/03/2026, TA 130/80 mmHg, FC 72/min, dossier ACC-2026-000124", []),
    # Hard negatives: clinical numbers.
    ("Paracétamol 500 mg, 3,5 cm, CRP 12 mg/l, plaquettes 250 000/mm3, héparine 12000 UI", []),
    ("Examen du 03/01/2026 10h30, contrôle à J8, EVA 7/10, Glasgow 15", []),
    ("CIM-10 S52.5, UF 4521, PACS v2.1.3, mesures 12 14 16 18 20 mm, 1/3 moyen, en 2019", []),
    ("Chute dans la rue, mise en place d'une attelle, 2 cours de rééducation, 3 voies d'abord", []),
])
def test_identifiers_documented_spellings(text, kinds):
    assert sorted({f.kind for f in scan_text(text, ids=ROW_IDS)}) == kinds


@pytest.mark.parametrize(("text", "names", "kinds"), [
    ("M. DUPONT vu ce jour", ["Dupont", "Jean"], ["name"]),
    ("Mme Lefevre", ["Lefèvre", "Anne"], ["name"]),
    ("JEAN-PIERRE a chuté", ["Martin", "Jean-Pierre"], ["name"]),
    ("Pas de masse visible.", ["Masse", "Anne"], []),
    ("Petit fragment osseux.", ["Petit", "Anne"], []),
    ("Vu avec Mme Petit.", ["Petit", "Anne"], ["name"]),
    ("Patiente Le Goff", ["Le Goff", "Anne"], ["name"]),
    ("Le patient va bien", ["Le Goff", "Anne"], []),
])
def test_identifiers_names_of_the_identifier_columns(text, names, kinds):
    assert sorted({f.kind for f in scan_text(text, names=names)}) == kinds


def test_identifiers_redaction_replaces_each_identifier_with_its_tag():
    text = ("Mme Martin, née le 3 mars 1954, 12 rue Pasteur, tél. 06 12 34 56 78, jeanne.martin@free.fr, "
            "NIR 1 85 05 78 006 084 91, IPP-5001.")
    findings = scan_text(text, names=["Martin", "Jeanne"], ids=ROW_IDS)
    assert [f.kind for f in findings] == ["name", "birth_date", "address", "phone", "email", "nir", "patient_id"]
    assert redact(text, findings) == (
        "Mme [NOM], née le [DATE DE NAISSANCE], [ADRESSE], tél. [TÉLÉPHONE], [E-MAIL], NIR [NIR], [IDENTIFIANT].")


def test_identifiers_ensure_no_identifiers_names_field_and_kind_never_the_value(settings):
    settings.LANGUAGE_CODE = "en"
    ensure_no_identifiers(fields={"rationale": "Fracture de 3,5 mm, revoir à J8.", "comment": ""})
    with pytest.raises(ValidationFailed) as caught:
        ensure_no_identifiers(fields={"rationale": "Rappeler au 06 12 34 56 78 ou jean.dupont@orange.fr",
                                      "comment": "RAS", "summary": "NIR 1 85 05 78 006 084 91"})
    exc = caught.value
    assert (exc.status_code, exc.code) == (400, "direct_identifier")
    assert exc.detail == "Direct identifiers are not stored: rationale (email, phone); summary (nir)."
    assert identifier_kinds({"rationale": "06 12 34 56 78", "n": 3}) == {"rationale": ["phone"]}
    assert set(exc.extra) == {"rationale", "summary"}
    flat = repr(exc.extra) + exc.detail
    for value in ("06 12 34 56 78", "dupont", "orange", "1 85 05", "Rappeler"):
        assert value not in flat
