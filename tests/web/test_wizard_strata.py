"""The campaign wizard's strata table: a set sample size per stratum (set allocation) and
over-sampling weights, shown in the preview, checked field by field, in French."""

import json

import pytest

from audit.models import AuditEvent
from reviews import planner
from reviews.models import Campaign
from tests.web.test_pages import html, login
from tests.workflows import build_world
from web.forms import CampaignWizardForm

pytestmark = pytest.mark.django_db

POS, NEG = "ai_label=fracture", "ai_label=no_fracture"  # 4 and 2 cases in the world below


@pytest.fixture
def world(db):
    return build_world(n_cases=6, n_clinicians=3, n_patient_reps=1)


def fields(name: str) -> tuple[str, str]:
    """(size field, weight field) of a stratum, as the wizard names them."""
    _, size, weight = CampaignWizardForm(strata=[name]).strata[0]
    return size, weight


def wizard(world, *, strata=(POS, NEG), sizes=None, weights=None, **over):
    data = {
        "name": "Campagne strates", "ai_system": world.ai_system.pk, "committee": world.committee.pk,
        "period_start": "2026-01-01", "period_end": "2026-06-30", "sites": "",
        "design_type": "stratified", "strata_by": ["ai_label"], "allocation": "proportional",
        "target": "agreement", "expected": "0.9", "half_width": "0.05", "prevalence": "",
        "sample_size": "3", "clinicians_per_case": "2", "patient_reps_per_case": "1",
        "required_specialty": "", "exclude_own_service": "on", "review_deadline": "2026-12-31",
        "reminder_days": "7, 1", "strata_names": json.dumps(list(strata)), "action": "preview",
    }
    for name, value in (sizes or {}).items():
        data[fields(name)[0]] = value
    for name, value in (weights or {}).items():
        data[fields(name)[1]] = value
    return data | over


def post(world, **kw):
    return login(world.quality).post("/campaigns/new/", wizard(world, **kw))


def test_wizard_preview_lists_the_strata_with_a_weight_field_each(world):
    r = post(world, strata=())

    assert r.status_code == 200
    page = html(r)
    assert [row["stratum"] for row in r.context["strata_rows"]] == [POS, NEG]
    assert "Poids de suréchantillonnage de la strate Sortie de l'IA : Fracture" in page
    assert f'name="{fields(POS)[1]}"' in page and f'name="{fields(NEG)[1]}"' in page
    assert "Allocation fixée" not in page


def test_wizard_over_sampling_weight_changes_the_preview_and_the_campaign(world):
    r = post(world, weights={POS: "1", NEG: "4"})

    assert r.status_code == 200
    expected = planner.allocate(3, {POS: 4, NEG: 2}, weights={NEG: 4.0})
    assert {s["stratum"]: s["sample"] for s in r.context["plan"]["strata"]} == expected == {POS: 1, NEG: 2}

    r = post(world, weights={POS: "", NEG: "4"}, action="create")
    campaign = Campaign.objects.get()
    assert r.status_code == 302
    assert campaign.design == {"type": "stratified", "strata_by": ["ai_label"], "allocation": "proportional",
                               "oversample": {NEG: 4.0}}


def test_wizard_weight_accepts_a_decimal_comma(world):
    r = post(world, weights={NEG: "1,5"})

    assert r.status_code == 200
    assert r.context["form"].design()["oversample"] == {NEG: 1.5}


def test_wizard_set_allocation_first_lists_the_strata_then_takes_their_sizes(world):
    r = post(world, strata=(), allocation="set")

    assert r.status_code == 200
    page = html(r)
    assert "Allocation fixée : indiquez la taille d'échantillon de chaque strate" in page
    assert "Taille d'échantillon de la strate Sortie de l'IA : Pas de fracture" in page
    assert f'name="{fields(NEG)[0]}"' in page

    r = post(world, allocation="set", sizes={POS: "3", NEG: "2"})
    assert {s["stratum"]: s["sample"] for s in r.context["plan"]["strata"]} == {POS: 3, NEG: 2}
    assert r.context["plan"]["sample_size"] == 5

    r = post(world, allocation="set", sizes={POS: "3", NEG: ""}, action="create")
    campaign = Campaign.objects.get()
    assert r.status_code == 302
    assert campaign.design["sizes"] == {POS: 3}  # an empty size field leaves the stratum out of the design
    assert campaign.sample_size == 3


def test_wizard_set_allocation_without_sizes_cannot_create(world):
    r = post(world, allocation="set", action="create")

    assert r.status_code == 400
    assert "allocation" in r.context["form"].errors
    assert ("Avec une allocation fixée, indiquez la taille d'échantillon d'au moins une strate"
            in html(r))
    assert not Campaign.objects.exists()


@pytest.mark.parametrize(("kw", "which", "reason"), [
    ({"weights": {NEG: "0"}}, 1, "Un poids de suréchantillonnage est supérieur à 0"),
    ({"weights": {NEG: "beaucoup"}}, 1, "Indiquez un nombre, par exemple 2 ou 1,5."),
    ({"allocation": "set", "sizes": {NEG: "-1"}}, 0, "ne peut pas être négative"),
    ({"allocation": "set", "sizes": {NEG: "2.5"}}, 0, "Indiquez un nombre entier de cas."),
])
def test_wizard_bad_stratum_input_is_a_400_naming_the_field_and_the_reason(world, kw, which, reason):
    r = post(world, action="create", **kw)

    assert r.status_code == 400
    field = fields(NEG)[which]
    assert field in r.context["form"].errors
    page = html(r)
    label = (("Poids de suréchantillonnage" if which else "Taille d'échantillon")
             + " de la strate Sortie de l'IA : Pas de fracture")
    assert f'<a href="#id_{field}">{label} : ' in page  # the summary at the top names the field
    assert reason in page
    assert [row["stratum"] for row in r.context["strata_rows"]] == [POS, NEG]  # the fields stay on the page
    assert not Campaign.objects.exists()
    assert not AuditEvent.objects.filter(action="campaign.create").exists()


def test_wizard_values_of_another_stratification_are_dropped(world):
    r = post(world, strata=("site=Nord",), weights={"site=Nord": "3"}, action="create")

    assert r.status_code == 302
    assert "oversample" not in Campaign.objects.get().design


def test_wizard_malformed_strata_list_is_no_strata(world):
    r = post(world, strata_names="{not json")

    assert r.status_code == 200
    assert [row["stratum"] for row in r.context["strata_rows"]] == [POS, NEG]


def test_wizard_simple_random_design_shows_no_strata_table(world):
    r = post(world, design_type="simple_random", strata_by=[], weights={NEG: "3"})

    assert r.status_code == 200
    assert r.context["strata_rows"] == []
    assert "Poids de suréchantillonnage de la strate" not in html(r)


def test_wizard_ignores_a_bad_value_of_the_hidden_fields_of_the_other_allocation(world):
    r = post(world, sizes={NEG: "-3"}, weights={NEG: "2"})  # proportional: the sizes are hidden

    assert r.status_code == 200
    assert r.context["form"].design()["oversample"] == {NEG: 2.0}
