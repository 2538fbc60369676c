"""The legal notice and the accessibility statement: public, linked from the footer of every
page, filled with the hospital's values from the settings, in the RGAA 4.1 structure."""

import pytest
from django.test import Client, override_settings

from tests.helpers import html
from tests.login import login

pytestmark = pytest.mark.django_db

HOSPITAL = {
    "editor": "CHU de Sentinelle", "editor_address": "12 rue du Phare, 29200 Brest", "editor_phone": "",
    "publication_director": "Mme Directrice-Générale", "contact_email": "contact@chu-sentinelle.fr",
    "host": "Hébergeur-Certifié SAS", "host_address": "3 quai des Données, Lyon",
    "dpo_contact": "dpo@chu-sentinelle.fr", "accessibility_contact": "a11y@chu-sentinelle.fr",
    "accessibility_date": "2026-11-30",
}


@override_settings(LEGAL_NOTICE=HOSPITAL)
def test_legal_notice_is_public_and_names_the_hospital_its_host_and_dpo():
    body = html(Client().get("/legal-notice/"))
    assert "<h1>Mentions légales</h1>" in body
    for value in ("CHU de Sentinelle", "12 rue du Phare", "Mme Directrice-Générale", "Hébergeur-Certifié SAS",
                  "3 quai des Données", 'href="mailto:dpo@chu-sentinelle.fr"', "CNIL"):
        assert value in body
    assert "pas encore renseigné" not in body


@override_settings(LEGAL_NOTICE=HOSPITAL)
def test_accessibility_statement_follows_the_rgaa_structure_and_says_partially_compliant():
    body = html(Client().get("/accessibility/"))
    headings = ["État de conformité", "Contenus non accessibles", "Établissement de cette déclaration",
                "Retour d'information et contact", "Voies de recours"]
    positions = [body.index(f"<h2>{h}</h2>") for h in headings]
    assert positions == sorted(positions)
    assert "partiellement conforme" in body
    assert "totalement conforme" not in body
    assert "30 novembre 2026" in body
    assert 'href="mailto:a11y@chu-sentinelle.fr"' in body
    assert "Défenseur des droits" in body


@override_settings(LEGAL_NOTICE={key: "" for key in HOSPITAL})
def test_a_value_the_hospital_did_not_give_is_said_missing_not_invented():
    body = html(Client().get("/legal-notice/"))
    assert body.count("pas encore renseigné par l'établissement") >= 5
    assert "mailto:" not in body
    body = html(Client().get("/accessibility/"))
    assert "La date de cette déclaration n'est pas encore renseignée par l'établissement." in body


@pytest.mark.parametrize("url", ["/login/", "/legal-notice/", "/accessibility/", "/public/"])
def test_every_public_page_links_both_from_its_footer(url):
    body = html(Client().get(url))
    footer = body[body.index('<footer class="site-footer">'):]
    assert 'href="/legal-notice/"' in footer and 'href="/accessibility/"' in footer


def test_the_footer_of_a_logged_in_page_links_both(world):
    body = html(login(world.quality).get("/campaigns/"))
    footer = body[body.index('<footer class="site-footer">'):]
    assert 'href="/legal-notice/"' in footer and "Accessibilité : partiellement conforme" in footer
