"""The vectorised input helpers give what the per-value ones give, for every input the package reads."""

import math

import numpy as np
import pandas as pd
import pytest

from concordance.agreement import (
    _is_missing,
    _missing_mask,
    _native,
    _natives,
    _strict_majority,
    majority_label,
)
from concordance.summary import _reader_list, _reader_lists

INPUTS = [
    pd.Series([1, 2, 3]),
    pd.Series([1.5, np.nan]),
    pd.Series([True, False]),
    pd.Series(pd.to_datetime(["2020-01-01", None])),
    pd.Series(["a", None, "b"]),  # str dtype: NaN for the missing value
    pd.Series(["a", None], dtype="string"),  # pd.NA
    pd.Series(["a", None, np.nan, pd.NA], dtype=object),
    pd.Series([1, None], dtype="Int64"),
    pd.Series(["a", "b", None], dtype="category"),
    pd.Index(["a", "b"]),
    pd.Series([np.float64(1.0), np.str_("x"), np.int64(2), "y"], dtype=object),
    np.array([1, 2, 3]),
    np.array(["a", "b"]),
    np.array([None, "a", (1, 2), [3, 4]], dtype=object),
    ["a", None, float("nan"), pd.NA, pd.NaT, np.nan, np.bool_(True), np.int64(3), (1, 2)],
    [],
]


def _same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        type(x) is type(y) and (x is y or x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y)))
        for x, y in zip(a, b, strict=True)
    )


@pytest.mark.parametrize("values", INPUTS, ids=range(len(INPUTS)))
def test_natives_and_missing_mask_match_per_value_helpers(values):
    expected = [_native(v) for v in values]
    natives = _natives(values)
    assert _same(natives, expected)
    assert _missing_mask(natives).tolist() == [_is_missing(v) for v in expected]
    assert _same(_natives(iter(list(values))), expected)  # any iterable


@pytest.mark.parametrize(
    "labels", [[], ["A"], ["A", "A"], ["A", "B"], ["A", "A", "B"], ["A", "B", "C"], [1, 1.0], [1, True, "x"]]
)
def test_strict_majority_matches_majority_label(labels):
    assert _strict_majority(labels) == majority_label(labels)
    assert type(_strict_majority(labels)) is type(majority_label(labels))


def test_reader_lists_match_reader_list_case_by_case():
    cases = [["A", "B"], [], ["A"], [np.str_("A"), "A"], ["A", None], ["B", "B", "A"]]
    assert _reader_lists(cases) == [_reader_list(c) for c in cases]
    assert [type(v) for r in _reader_lists(cases) for v in r] == [
        type(v) for c in cases for v in _reader_list(c)
    ]
    with_missing_case = [["A"], None, ("A", "B")]
    assert _reader_lists(with_missing_case) == [["A"], [], ["A", "B"]]
    with pytest.raises(TypeError):
        _reader_lists([["A"], "A"])
