"""Every date field of the web forms renders its value in ISO, the only format a browser's date
picker accepts: a French-formatted value (31/12/2026) made pre-filled dates come back empty."""

import datetime as dt
import inspect
import re

import pytest
from django import forms
from django.utils import timezone, translation

from tests.login import login
from vigilance import services as vig
from web import forms as web_forms
from web import forms_committees

DATE = dt.date(2026, 12, 31)
MOMENT = dt.datetime(2026, 12, 31, 9, 5)


def _date_fields():
    for module in (web_forms, forms_committees):
        for name, form_class in inspect.getmembers(module, inspect.isclass):
            if not issubclass(form_class, forms.Form) or form_class.__module__ != module.__name__:
                continue
            for field_name, field in form_class.base_fields.items():
                if isinstance(field, forms.DateField | forms.DateTimeField):
                    yield pytest.param(field, id=f"{name}.{field_name}")


FIELDS = list(_date_fields())


def test_the_forms_have_date_fields_to_check():
    names = {p.id for p in FIELDS}
    assert {"VigilanceForm.event_date", "MemberAddForm.term_start", "CampaignWizardForm.review_deadline"} <= names


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_date_field_renders_its_value_in_iso(field, language):
    with translation.override(language):
        if isinstance(field, forms.DateTimeField):
            html = field.widget.render("f", MOMENT)
            assert 'type="datetime-local"' in html
            assert 'value="2026-12-31T09:05"' in html
        else:
            html = field.widget.render("f", DATE)
            assert 'type="date"' in html
            assert 'value="2026-12-31"' in html
    assert not re.search(r"31/12/2026|12/31/2026", html)


@pytest.mark.parametrize("field", FIELDS)
def test_a_date_field_reads_back_what_it_rendered(field):
    with translation.override("fr"):
        typed = "2026-12-31T09:05" if isinstance(field, forms.DateTimeField) else "2026-12-31"
        value = field.clean(typed)
    assert value.year == 2026 and value.month == 12 and value.day == 31


@pytest.mark.django_db
def test_the_vigilance_edit_page_comes_back_with_the_event_date_filled_in(world):
    report = vig.vigilance_create(actor=world.secretary, committee=world.committee, ai_system=world.ai_system,
                                  event_date=dt.date(2026, 1, 31), description="Fracture manquée.")
    client = login(world.secretary)
    client.cookies["django_language"] = "fr"
    body = client.get(f"/vigilance/{report.pk}/edit/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert 'name="event_date" value="2026-01-31"' in body
    aware = timezone.localtime(report.aware_at).strftime("%Y-%m-%dT%H:%M")
    assert f'name="aware_at" value="{aware}"' in body
