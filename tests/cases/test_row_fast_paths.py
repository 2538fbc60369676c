"""The per-process fast paths of row preparation give exactly what the reference functions give."""

import json
from datetime import date
from io import BytesIO

import pytest
from cryptography.fernet import Fernet

from cases.enums import AgeBand, Sex
from cases.importing.service import import_cases
from cases.models import Case
from cases.pseudonymization import PseudonymKey, pseudonymize
from cases.readers import CsvBlock, inspect, parse_csv_block, read_csv_blocks, read_records
from cases.rows import _Crypto, copy_line, parse_date
from cases.source_reference import SourceKey, decrypt_source_reference
from common.exceptions import ValidationFailed


@pytest.mark.parametrize("value", ["ACC000123", " acc 000 123 ", "Ｐａｔ４２", "ÉLODIE-12", "x", ""])
@pytest.mark.parametrize("namespace", ["case", "patient", "clinician"])
def test_fast_pseudonym_is_the_reference_pseudonym(value, namespace):
    key = PseudonymKey("k1", b"a test secret")
    assert _Crypto(key, None).pseudo(namespace, value) == pseudonymize(value, namespace=namespace, key=key)


@pytest.mark.parametrize("value", ["ACC000123", " ACC-42 ", "é" * 40, "0123456789abcdef", ""])
def test_fast_source_reference_is_a_fernet_token(value):
    source = SourceKey("s1", Fernet(Fernet.generate_key()))
    crypto = _Crypto(PseudonymKey("k1", b"secret"), source)
    tokens = {crypto.encrypt(value) for _ in range(3)}
    assert len(tokens) == 3  # a fresh IV each time
    for token in tokens:
        assert decrypt_source_reference(token, source) == value.strip()
        assert source.fernet.extract_timestamp(token.encode()) > 0


@pytest.mark.parametrize("text, expected", [
    ("05/03/2026", date(2026, 3, 5)), ("2026-03-05", date(2026, 3, 5)), ("2026-03-05T10:00", date(2026, 3, 5)),
    ("5/3/2026", date(2026, 3, 5)), (" 05/03/2026 ", date(2026, 3, 5)),
])
def test_parse_date_spellings(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["31/02/2026", "2026-02-30", "05-03-2026", "０５/03/2026", "2026/03/05", "abc"])
def test_parse_date_refusals(text):
    with pytest.raises(ValueError, match="expected a date"):
        parse_date(text)


def test_copy_line_escapes_and_converts():
    row = (7, "a\tb\nc\\d\re", None, date(2026, 3, 5), 0.87, True, False, "é [x]")
    assert copy_line(row) == "7\ta\\tb\\nc\\\\d\\re\t\\N\t2026-03-05\t0.87\tt\tf\té [x]\n"


@pytest.mark.django_db
def test_text_with_tabs_newlines_and_backslashes_is_stored_as_given(world):
    text = 'Chute\\tsur le poignet\tdroit,\nretour "au" calme \\N \\\\ fin'
    raw = json.dumps([{"accession_number": "ACC-T1", "patient_id": "PAT-T1", "exam_date": "2026-03-01",
                       "site": "Nord", "report_text": text, "ai_label": "fracture", "ai_score": "0,5",
                       "patient_informed": "oui"}]).encode()
    result = import_cases(actor=world.quality, ai_system=world.ai_system, raw=raw, filename="c.json", fmt="json")
    assert result.created == 1, result.errors
    case = Case.objects.get(import_batch=result.batch)
    assert case.report_text == text
    assert case.ai_score == 0.5 and case.patient_informed is True and case.exam_date == date(2026, 3, 1)


def test_copy_line_writes_text_choices_as_their_value():
    assert copy_line((1, Sex.OTHER, AgeBand.A18_39)) == "1\tX\t18-39\n"
    assert copy_line((1, Sex.OTHER, "a\tb")) == "1\tX\ta\\tb\n"


TRICKY_CSV = (
    'a;b;c\r\n'
    '1;"deux\r\nlignes";x\r\n'
    '2;un "guillemet;y\r\n'  # a quote inside an unquoted field is a plain character
    '3;"fermé" puis texte;"ouvert\nsur ""trois""\n lignes"\r\n'
    '\r\n'
    '4;sans;guillemet\r\n'
    '5;"";"a;b"\r'
    '6;a"b;"c\r\n'
    'd"\n'
    '7;fin;"non fermé'
)


@pytest.mark.parametrize("size", [1, 2, 3, 100])
def test_csv_blocks_give_the_records_and_lines_of_the_csv_module(size):
    raw = TRICKY_CSV.encode()
    stream = BytesIO(raw)
    header, records = read_records(stream, inspect(stream), "csv")
    expected = list(records)
    stream = BytesIO(raw)
    block_header, blocks = read_csv_blocks(stream, inspect(stream), size)
    assert block_header == header == ["a", "b", "c"]
    assert [r for block in blocks for r in parse_csv_block(block)] == expected
    assert [line for line, _ in expected] == [3, 4, 7, 9, 10, 12, 13]


def test_csv_block_error_names_the_line():
    block = CsvBlock(5, "a;b\r\nc;" + "x" * 200_000 + "\r\n", ";")
    with pytest.raises(ValidationFailed, match=r"cannot be read: .* \(line 6\)"):
        parse_csv_block(block)
