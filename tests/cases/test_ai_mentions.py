"""The detector of reviewer-visible text that would unblind a reviewer (``cases.ai_mentions``):
recall and precision on a corpus of French texts, and no flag on the demo data's ordinary cases
(the ordinary words of a product name, "poignet" in "OstéoVue Poignet", are not mentions)."""

import pickle

import numpy as np
import pytest

from cases.ai_mentions import detector_for
from fixtures import demo

pytestmark = pytest.mark.unit

WRIST = detector_for(name="OstéoVue Poignet", vendor="Imagerie Augmentée SAS", labels=["fracture", "no_fracture"],
                     version="3.2")
ECG = detector_for(name="CardioScore FEVG", vendor="Cardiométrie Numérique SAS", labels=["reduced_ef", "normal_ef"],
                   version="1.4")

# (text, what must be flagged): every expected mention is a substring of the text.
WITH_MENTIONS = [
    (WRIST, "Résultat IA : positif, à confronter à la clinique.", ["IA : positif"]),
    (WRIST, "L'algorithme conclut à une fracture du radius distal.", ["algorithme conclut à une fracture"]),
    (WRIST, "Analyse OstéoVue Poignet 3.2 sans particularité.", ["OstéoVue Poignet 3.2"]),
    (WRIST, "Osteovue : pas d'anomalie détectée.", ["Osteovue : pas d'anomalie détectée"]),
    (WRIST, "Selon Imagerie Augmentée, rien à signaler.", ["Imagerie Augmentée"]),
    (WRIST, "Lecture assistée par intelligence artificielle.", ["intelligence artificielle"]),
    (WRIST, "Score 0,87 pour la fracture.", ["Score 0,87"]),
    (WRIST, "Probabilité de 0,93 selon l'outil.", ["Probabilité de 0,93"]),
    (WRIST, "Détection automatique positive sur le scaphoïde.", ["Détection automatique positive"]),
    (WRIST, "Second avis du logiciel d'aide : fracture.", ["logiciel d'aide : fracture"]),
    (WRIST, "I.A. négative.", ["I.A. négative"]),
    (WRIST, "Réseau de neurones en faveur d'une fracture.", ["Réseau de neurones en faveur d'une fracture"]),
    (ECG, "CardioScore à 0,72 : FEVG abaissée probable.", ["CardioScore à 0,72 : FEVG abaissée probable"]),
    (ECG, "Score IA 0,64, reduced ef.", ["Score IA 0,64"]),
    (ECG, "Alerte de l'IA : FEVG abaissée.", ["IA : FEVG abaissée"]),
    (ECG, "Cardiométrie Numérique SAS signale une anomalie.", ["Cardiométrie Numérique SAS"]),
    (ECG, "Algorithme ECG : normal.", ["Algorithme ECG : normal"]),
    (ECG, "Apprentissage profond : résultat négatif.", ["Apprentissage profond : résultat négatif"]),
]
WITHOUT_MENTIONS = [
    (WRIST, "Chute de sa hauteur sur le poignet droit."),
    (WRIST, "Radiographies du poignet gauche, incidences de face et de profil."),
    (WRIST, "Fracture du radius distal, plâtre."),
    (WRIST, "Pas de fracture visible, tuméfaction des parties molles."),
    (WRIST, "Poignet droit : face et profil, complétés d'une incidence oblique."),
    (WRIST, "Examen antérieur du même poignet consulté pour comparaison."),
    (WRIST, "Score de Glasgow à 15, pas de perte de connaissance."),
    (WRIST, "Imagerie de contrôle à J10 si douleur persistante."),
    (WRIST, "Densité osseuse augmentée, ostéoporose connue."),
    (WRIST, "Patiente droitière, aucun antécédent notable."),
    (WRIST, "Examen clinique normal par ailleurs, test positif de la tabatière."),
    (ECG, "FEVG à évaluer en échocardiographie."),
    (ECG, "ECG 12 dérivations : rythme sinusal régulier, axe normal."),
    (ECG, "Cardiopathie ischémique connue, dyspnée d'effort."),
    (ECG, "Score CHA2DS2-VASc à 3."),
    (ECG, "Pas d'argument électrique pour une cardiopathie dilatée."),
    (ECG, "Mise en place d'un traitement par bêtabloquant, cad. surveillance."),
    (ECG, "Via le dossier patient, aide à la marche."),
]


def test_ai_mentions_corpus_recall_and_precision():
    found_expected = 0
    false_positive_texts = []
    for detector, text, expected in WITH_MENTIONS:
        mentions = detector.mentions(text)
        found_expected += sum(1 for e in expected if e in mentions)
    for detector, text in WITHOUT_MENTIONS:
        if detector.mentions(text):
            false_positive_texts.append(text)
    recall = found_expected / sum(len(e) for _, _, e in WITH_MENTIONS)
    flagged = len(WITH_MENTIONS) + len(false_positive_texts)
    precision = len(WITH_MENTIONS) / flagged
    assert (recall, precision, false_positive_texts) == (1.0, 1.0, [])


@pytest.mark.parametrize(("detector", "text", "expected"), WITH_MENTIONS)
def test_ai_mentions_exact_mentions(detector, text, expected):
    assert detector.mentions(text) == expected


def test_ai_mentions_spans_fit_the_original_text():
    text = "Conclusion de l'algorithme : fracture déplacée."
    (mention,) = WRIST.find(text)
    assert (text[mention.start:mention.end], mention.text) == ("algorithme : fracture", "algorithme : fracture")


def test_ai_mentions_acronyms_in_capitals_only():
    assert WRIST.mentions("La ia n'est pas citée ; cad. rien.") == []
    assert WRIST.mentions("Avis CAD demandé.") == ["CAD"]


def test_ai_mentions_the_demo_data_flags_none_of_its_ordinary_cases():
    data = demo.generate(seed=demo.DEFAULT_SEED)
    detectors = {"wrist": detector_for(**_system(demo.WRIST_AI)), "ecg": detector_for(**_system(demo.ECG_AI))}
    flagged = [(c.system, c.row["accession_number"], m)
               for c in data.cases for field in ("clinical_context", "report_text")
               for m in detectors[c.system].mentions(c.row[field])]
    assert (len(data.cases) > 1000, flagged) == (True, [])


def _system(ai: dict) -> dict:
    return {"name": ai["name"], "vendor": ai["vendor"], "labels": ai["labels"], "version": ai["version"]}


def test_ai_mentions_detector_is_deterministic_and_picklable():
    clone = pickle.loads(pickle.dumps(WRIST))
    rng = np.random.default_rng(1)
    texts = [t for _, t, _ in WITH_MENTIONS] + [t for _, t in WITHOUT_MENTIONS]
    for i in rng.permutation(len(texts)):
        assert clone.mentions(texts[i]) == WRIST.mentions(texts[i])
