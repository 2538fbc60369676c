"""Tests of concordance.patient: yes/no/unknown shares with Wilson intervals."""

import pandas as pd
import pytest

from concordance import patient_representative_findings, wilson_interval

pytestmark = pytest.mark.unit


def test_patient_findings_shares_exclude_unknown_and_missing():
    df = pd.DataFrame(
        {
            "patient_information_documented": ["yes", "no", "unknown", None, "Oui", True],
            "rights_respected": [True, True, True, False, None, "non"],
            "equity_concern_raised": ["no", "no", "no", "no", "yes", "ne sait pas"],
        }
    )

    findings = patient_representative_findings(df)

    info = findings["patient_information_documented"]
    assert (info["n_yes"], info["n_no"], info["n_unknown"], info["n_missing"]) == (3, 1, 1, 1)
    assert (info["share_yes"]["x"], info["share_yes"]["n"]) == (3, 4)
    assert (info["share_yes"]["ci_low"], info["share_yes"]["ci_high"]) == wilson_interval(3, 4)
    assert (info["share_unknown"]["x"], info["share_unknown"]["n"]) == (1, 5)
    assert findings["rights_respected"]["share_yes"]["estimate"] == pytest.approx(3 / 5)
    assert findings["equity_concern_raised"]["share_yes"]["x"] == 1
    assert info["n_rows"] == 6


def test_patient_findings_empty_custom_questions_and_errors():
    empty = patient_representative_findings(pd.DataFrame({"consent": []}), questions=["consent"])
    assert empty["consent"]["share_yes"]["estimate"] is None
    with pytest.raises(ValueError, match="missing column"):
        patient_representative_findings(pd.DataFrame({"consent": []}))
    with pytest.raises(ValueError, match="unexpected answer"):
        patient_representative_findings(pd.DataFrame({"consent": ["maybe"]}), questions=["consent"])
