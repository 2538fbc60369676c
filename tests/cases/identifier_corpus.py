"""A deterministic synthetic French corpus to measure the direct-identifier scanner (never real people).

Every record is ``Sample(text, spans, names, ids)``: the text, the (kind, start, end) of each planted
identifier, the names of the row's identifier columns and the row's own patient id and accession
number. The values are built by generators written from what French medical records contain
(spellings of the NIR, of phone numbers, of e-mails and their obfuscations, postal addresses, birth
dates, the row's own references), independently of the scanner's patterns; the hard negatives are
clinical French full of numbers (doses, measures, lab values, exam dates, times, J8, scores, ICD-10
and CCAM codes, UF numbers, versions, other rows' references, series, fractions, years alone).

Two parts that share no template and no vocabulary: ``corpus("dev")`` (seed 2026) and
``corpus("heldout")`` (seed 7919, other templates, other names, streets, cities and sentences). The
scanner must reach its targets on both, so that it is not fitted to the sentences it was tuned on.

What counts as an exact birth date: a day and a month (with or without the year, in digits or in
words) introduced by a birth cue (né, née, né(e), date de naissance, DDN, D.N.). A year alone ("né en
1954") is not: it says no more than the age band the cases keep, and is a hard negative here.
"""

import random
from dataclasses import dataclass, field

KINDS = ("nir", "phone", "email", "address", "name", "birth_date", "patient_id", "accession_number")

NBSP, NNBSP = "\u00a0", "\u202f"
MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre"]
MONTHS_SHORT = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."]

VOCAB = {
    "dev": {
        "first": ["Jeanne", "Paul", "Marie", "Louis", "Camille", "Hugo", "Léa", "Étienne", "Chloé", "Noël", "Inès",
                  "Jean-Pierre", "Marie-Hélène", "Anaïs"],
        "last": ["Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Girard", "Fournier", "Mercier", "Faure",
                 "Rousseau", "Le Goff", "Martin-Lefèvre", "Nguyen", "Da Silva"],
        "street": ["de la République", "Victor Hugo", "des Lilas", "du Général de Gaulle", "Pasteur", "Jean Jaurès",
                   "des Acacias", "Saint-Éloi"],
        "city": ["Lille", "Bastia", "Ajaccio", "Saint-Denis", "Lyon", "Aix-en-Provence", "Rennes", "LILLE"],
        "place": ["Les Granges", "La Croix Blanche", "Le Moulin"],
        "domain": ["orange.fr", "gmail.com", "free.fr", "laposte.net"],
        "clinical": ["Chute de sa hauteur, douleur du poignet.", "Traumatisme du poignet gauche au ski.",
                     "Douleur persistante depuis 3 jours.", "Contrôle à J8 d'une fracture traitée.",
                     "Radiographie de face et de profil.", "Pas de trait de fracture visible.",
                     "Œdème des parties molles, à revoir dans 10 jours.", "Paracétamol 1 g x 3/j."],
    },
    "heldout": {
        "first": ["Solène", "Mathis", "Agathe", "Benoît", "Océane", "Loïc", "Zoé", "Jérôme", "Anne-Sophie",
                  "Gaëlle", "Rémi", "Françoise"],
        "last": ["Petitjean", "Lambert", "Bonnet", "Chevalier", "Roussel", "Gauthier", "Perrin", "Robin", "Lemaître",
                 "Kerbrat", "Saint-Clair", "De Oliveira", "Ben Youssef"],
        "street": ["des Tanneurs", "Gambetta", "du Maréchal Foch", "de Verdun", "des Écoles", "Nationale",
                   "de la Gare", "Émile Zola"],
        "city": ["Quimper", "Bordeaux", "Nancy", "Clermont-Ferrand", "Porto-Vecchio", "Fort-de-France", "TOULOUSE"],
        "place": ["Kerhallet", "Les Bruyères", "La Haute Borne"],
        "domain": ["wanadoo.fr", "hotmail.com", "sfr.fr", "yahoo.fr", "outlook.com"],
        "clinical": ["Entorse de cheville droite, appui impossible.", "Fracture du col fémoral opérée.",
                     "Toux fébrile depuis 5 jours.", "Lombalgie aiguë après effort.",
                     "Scanner cérébral sans injection.", "Suivi post-opératoire à J15.",
                     "Hb 11,2 g/dl, CRP 48 mg/l.", "Kinésithérapie 2 fois par semaine."],
    },
}

# Templates: {v} is the identifier, {c} a clinical sentence. Each part has its own.
TEMPLATES = {
    "dev": {
        "nir": ["Patient n° sécu {v}, vu aux urgences.", "NIR {v}.", "Assuré {v} - {c}", "{c} (sécurité sociale : {v})",
                "N° SS : {v}", "{c} Immatriculation {v}."],
        "phone": ["Rappeler au {v}.", "{c} Tél. {v}", "Joignable au {v} le matin.", "Contact famille : {v}",
                  "{c} Portable {v}"],
        "email": ["Résultats envoyés à {v}.", "{c} Mail du patient : {v}", "Écrire à {v} pour le suivi."],
        "address": ["Domicilié {v}.", "{c} Adresse : {v}", "Vit au {v}, seul.", "{c} Réside {v}"],
        "name": ["Mme {v} vue ce jour. {c}", "{c} Patient {v} informé.", "Compte rendu pour M. {v}."],
        "birth_date": ["Patiente {v}, {c}", "{c} {v}.", "{v} ; adressée par son médecin traitant."],
        "patient_id": ["IPP {v}. {c}", "{c} Dossier patient {v}.", "Identifiant {v}"],
        "accession_number": ["Examen {v} : {c}", "{c} (n° {v})", "Voir aussi l'examen {v}."],
    },
    "heldout": {
        "nir": ["Numéro de sécurité sociale {v} vérifié.", "{c} INS {v}", "Carte vitale : {v}. {c}",
                "Bénéficiaire {v}"],
        "phone": ["Prévenir la fille au {v} avant la sortie.", "{c} Numéro : {v}", "Tel {v} (domicile).",
                  "Son conjoint ({v}) a été appelé."],
        "email": ["Contact par courriel {v}. {c}", "Adresse électronique : {v}", "{c} Envoi du CR sur {v}"],
        "address": ["Adresse : {v}. {c}", "Habite {v} avec sa famille.", "{c} Retour à domicile ({v})."],
        "name": ["{c} Vu avec {v} et sa fille.", "Monsieur {v}, {c}", "Consentement signé par {v}."],
        "birth_date": ["{c} Patient {v}.", "Identité : {v}, sexe F.", "{v}, adressé pour bilan."],
        "patient_id": ["{c} N° patient : {v}", "Réf. dossier {v}.", "Patient ({v}) revu en consultation."],
        "accession_number": ["{c} Accession {v}.", "Demande {v} complétée.", "Cf. examen n°{v}, {c}"],
    },
}


@dataclass
class Sample:
    text: str
    spans: list[tuple[str, int, int]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)


# --- Value generators ---------------------------------------------------------------------------

def _nir_digits(rng: random.Random) -> tuple[list[str], str]:
    """The NIR's groups (sex, year, month, department, commune, order) and its control key."""
    sex = rng.choice("1122127")
    year, month = f"{rng.randrange(100):02d}", f"{rng.choice(list(range(1, 13)) * 3 + [20, 31, 42]):02d}"
    dept = rng.choice([f"{rng.choice([d for d in range(1, 96) if d != 20]):02d}", "2A", "2B", "97", "99", "75"])
    commune = f"{rng.randrange(1, 990):03d}" if dept != "97" else f"{rng.randrange(1, 7)}{rng.randrange(1, 99):02d}"
    order = f"{rng.randrange(1, 1000):03d}"
    groups = [sex, year, month, dept, commune, order]
    body = "".join(groups)
    if dept == "2A":
        number = int(body.replace("2A", "19")) - 1_000_000
    elif dept == "2B":
        number = int(body.replace("2B", "18")) - 2_000_000
    else:
        number = int(body)
    return groups, f"{97 - number % 97:02d}"


def nir(rng: random.Random) -> str:
    groups, key = _nir_digits(rng)
    style = rng.randrange(10)
    if style == 0:
        return "".join(groups) + key
    if style == 1:
        return " ".join(groups) + " " + key
    if style == 2:
        return "-".join(groups) + "-" + key
    if style == 3:
        return ".".join(groups) + "." + key
    if style == 4:
        return NBSP.join(groups) + NBSP + key
    if style == 5:
        return " ".join(groups) + " / " + key
    if style == 6:
        return "".join(groups) + " " + key
    if style == 7:  # without its key
        return " ".join(groups)
    if style == 8:  # without its key, in one run of 13 characters
        return "".join(groups)
    return " ".join(groups) + " clé " + key


def phone(rng: random.Random) -> str:
    first = rng.choice("6677123459")
    pairs = [f"{rng.randrange(100):02d}" for _ in range(4)]
    national = "0" + first + "".join(pairs)
    style = rng.randrange(16)
    grouped = ["0" + first, *pairs]
    if style == 0:
        return " ".join(grouped)
    if style == 1:
        return ".".join(grouped)
    if style == 2:
        return "-".join(grouped)
    if style == 3:
        return national
    if style == 4:
        return NBSP.join(grouped)
    if style == 5:
        return NNBSP.join(grouped)
    if style == 6:
        return "/".join(grouped)
    if style == 7:
        return "+33 " + first + " " + " ".join(pairs)
    if style == 8:
        return "+33 (0)" + first + " " + " ".join(pairs)
    if style == 9:
        return "0033 " + first + " " + " ".join(pairs)
    if style == 10:
        return "+33" + first + "".join(pairs)
    if style == 11:
        return "+33 (0) " + first + "." + ".".join(pairs)
    if style == 12:
        return "(+33) " + first + " " + " ".join(pairs)
    if style == 13:  # odd grouping
        return national[:3] + " " + national[3:6] + " " + national[6:]
    if style == 14:  # one digit at a time
        return " ".join(national)
    return "+33." + first + "." + ".".join(pairs)


_ASCII = str.maketrans("éèëêÉÈïîôöçàâüûÿ", "eeeeEEiioocaauuy")


def email(rng: random.Random, vocab: dict) -> str:
    first = rng.choice(vocab["first"]).translate(_ASCII).lower().replace(" ", "")
    last = rng.choice(vocab["last"]).translate(_ASCII).lower().replace(" ", "")
    local = rng.choice([f"{first}.{last}", f"{first[0]}.{last}", f"{first}{last}", f"{last}_{first}",
                        f"{first}.{last}{rng.randrange(10, 99)}", f"{last}-{first[0]}"])
    domain = rng.choice(vocab["domain"])
    name, tld = domain.rsplit(".", 1)
    style = rng.randrange(9)
    if style <= 2:
        return f"{local}@{domain}"
    if style == 3:
        return f"{local} [at] {name} [dot] {tld}"
    if style == 4:
        return f"{local}(at){domain}"
    if style == 5:
        return f"{local} arobase {name} point {tld}"
    if style == 6:
        return f"{local}@{domain}".upper()
    if style == 7:
        return f"{local} @ {domain}"
    return f"{local}[at]{name}.{tld}"


STREET_TYPES = ["rue", "avenue", "av.", "boulevard", "bd", "place", "chemin", "allée", "impasse", "route", "quai",
                "cours", "square", "résidence", "lotissement", "faubourg", "rte", "imp.", "bis rue"]


def address(rng: random.Random, vocab: dict) -> str:
    style = rng.randrange(8)
    city = rng.choice(vocab["city"])
    postcode = f"{rng.choice(['59', '20', '69', '35', '13', '75', '29', '33', '97', '2A', '2B']):s}"
    postcode = postcode + (f"{rng.randrange(1000):03d}" if postcode[1].isdigit() else f"{rng.randrange(1000):03d}")
    if postcode.startswith("2A") or postcode.startswith("2B"):
        postcode = "20" + postcode[2:]
    if style == 6:
        return f"lieu-dit {rng.choice(vocab['place'])}, {postcode} {city}"
    if style == 7:
        return f"BP {rng.randrange(1, 999)}, {postcode} {city} CEDEX"
    number = f"{rng.randrange(1, 250)}{rng.choice(['', '', ' bis', ' ter', 'B', ''])}"
    kind = rng.choice(STREET_TYPES)
    if kind == "bis rue":
        number, kind = number.rstrip("B").split(" ")[0] + " bis", "rue"
    text = f"{number}{rng.choice([' ', ', '])}{kind} {rng.choice(vocab['street'])}"
    if style in (1, 2, 3):
        text += f", {postcode} {city}"
    elif style == 4:
        text += f" {postcode} {city}"
    elif style == 5:
        text += f", appt {rng.randrange(1, 60)}, {postcode} {city}"
    return text


def birth_date(rng: random.Random) -> str:
    year = rng.randrange(1925, 2010)
    month = rng.randrange(1, 13)
    day = rng.randrange(1, 29)
    cue = rng.choice(["né le", "née le", "Né(e) le", "DDN :", "DDN", "date de naissance", "Date de naissance :",
                      "D.N. :", "née le"])
    style = rng.randrange(8)
    if style == 0:
        date = f"{day} {MONTHS[month - 1]} {year}"
    elif style == 1:
        date = f"{'1er' if day == 1 else day} {MONTHS[month - 1]} {year}"
    elif style == 2:
        date = f"{day:02d}/{month:02d}/{year}"
    elif style == 3:
        date = f"{day}-{month}-{year % 100:02d}"
    elif style == 4:
        date = f"{day:02d}.{month:02d}.{year}"
    elif style == 5:
        date = f"{year}-{month:02d}-{day:02d}"
    elif style == 6:
        date = f"{day} {MONTHS_SHORT[month - 1]} {year}"
    else:
        date = f"{day}/{month}/{year % 100:02d}"
    if cue.startswith("date") or cue.startswith("Date") or cue.startswith("D"):
        return f"{cue} {date}"
    return f"{cue} {date}"


def row_ids(rng: random.Random, part: str) -> dict[str, str]:
    n = rng.randrange(10**6)
    if part == "dev":
        return {"patient_id": rng.choice([f"IPP-{n:06d}", f"80{n:08d}", f"PAT{n:07d}"]),
                "accession_number": rng.choice([f"ACC-2026-{n:06d}", f"RX26{n:06d}", f"E-{n:05d}"])}
    return {"patient_id": rng.choice([f"{n:09d}", f"P{n:08d}", f"IPP.{n:07d}"]),
            "accession_number": rng.choice([f"A26-{n:07d}", f"SC{n:08d}", f"{n:07d}-CT"])}


def spell_id(rng: random.Random, value: str) -> str:
    """The row's own reference as it turns up in text: as is, in lower case, or with other separators."""
    style = rng.randrange(5)
    if style == 0:
        return value.lower()
    if style == 1:
        return value.replace("-", " ").replace(".", " ")
    if style == 2:
        return "".join(ch for ch in value if ch.isalnum())
    return value


def name_mention(rng: random.Random, first: str, last: str) -> str:
    fold = str.maketrans("éèëêÉÈïîôöçàâüûÿ", "eeeeEEiioocaauuy")
    return rng.choice([last, f"{first} {last}", last.upper(), f"{last.upper()} {first}", last.translate(fold),
                       f"{first.upper()} {last.upper()}", first, _short_last(last)])


def _short_last(last: str) -> str:
    """A compound last name as people shorten it: the first of two hyphenated names ("Martin" for
    Martin-Lefèvre), never a particle alone ("Saint", "Le")."""
    head = last.split("-")[0]
    return head if "-" in last and head not in ("Saint", "Sainte") else last


# --- Samples ------------------------------------------------------------------------------------

def _positive(rng: random.Random, part: str, kind: str) -> Sample:
    vocab = VOCAB[part]
    first, last = rng.choice(vocab["first"]), rng.choice(vocab["last"])
    ids = row_ids(rng, part)
    if kind == "nir":
        v = nir(rng)
    elif kind == "phone":
        v = phone(rng)
    elif kind == "email":
        v = email(rng, vocab)
    elif kind == "address":
        v = address(rng, vocab)
    elif kind == "name":
        v = name_mention(rng, first, last)
    elif kind == "birth_date":
        v = birth_date(rng)
    else:
        v = spell_id(rng, ids[kind])
    template = rng.choice(TEMPLATES[part][kind])
    clinical = rng.choice(vocab["clinical"])
    before, after = template.split("{v}")
    before = before.format(c=clinical)
    text = before + v + after.format(c=clinical)
    start = len(before)
    if kind == "birth_date":  # the date itself, after its cue
        cue_end = _birth_cue_end(v)
        span = ("birth_date", start + cue_end, start + len(v))
    else:
        span = (kind, start, start + len(v))
    return Sample(text, [span], [last, first], ids)


def _birth_cue_end(v: str) -> int:
    i = 0
    while i < len(v) and not v[i].isdigit():
        i += 1
    return i


def negative_texts(rng: random.Random, part: str, ids: dict[str, str], names: list[str]) -> str:
    """Clinical French full of numbers that are not identifiers."""
    vocab = VOCAB[part]
    d, m = rng.randrange(1, 29), rng.randrange(1, 13)
    other = row_ids(rng, part)
    other = other if other != ids else row_ids(rng, part)
    choices_dev = [
        lambda: f"Examen du {d:02d}/{m:02d}/2026 à {rng.randrange(24)}h{rng.randrange(60):02d}.",
        lambda: (f"Fracture déplacée de {rng.randrange(2, 30)},{rng.randrange(10)} mm, "
                 f"angulation {rng.randrange(5, 40)}°."),
        lambda: (f"Paracétamol {rng.choice([500, 1000])} mg, "
                 f"{rng.randrange(2, 5)} fois par jour pendant {rng.randrange(3, 15)} jours."),
        lambda: (f"Hb {rng.randrange(8, 17)},{rng.randrange(10)} g/dl, "
                 f"plaquettes {rng.randrange(120, 450)} 000/mm3, CRP {rng.randrange(1, 200)} mg/l."),
        lambda: (f"Contrôle à J{rng.choice([8, 15, 21, 45])}, EVA {rng.randrange(11)}/10, "
                 f"Glasgow {rng.randrange(3, 16)}."),
        lambda: (f"Codage CIM-10 S{rng.randrange(10, 99)}.{rng.randrange(10)}, "
                 f"acte CCAM MZQK00{rng.randrange(1, 9)}, UF {rng.randrange(1000, 9999)}."),
        lambda: (f"Logiciel de PACS v{rng.randrange(1, 9)}.{rng.randrange(10)}.{rng.randrange(20)}, "
                 f"poste {rng.randrange(1000, 9999)}."),
        lambda: f"Comparaison avec l'examen {other['accession_number']} du patient {other['patient_id']}.",
        lambda: f"Mesures successives {' '.join(str(rng.randrange(10, 40)) for _ in range(5))} mm.",
        lambda: (f"Tiers {rng.choice(['proximal', 'moyen', 'distal'])}, "
                 f"{rng.randrange(1, 4)}/{rng.randrange(4, 6)} de la diaphyse."),
        lambda: f"Antécédent de fracture en {rng.randrange(1980, 2025)}, née en {rng.randrange(1930, 2005)}.",
        lambda: f"Chute dans la rue, mise en place d'une attelle. {rng.randrange(2, 6)} cours de rééducation prévus.",
        lambda: (f"Héparine {rng.choice([5000, 10000, 12000])} UI par jour, "
                 f"TA {rng.randrange(10, 16)}/{rng.randrange(6, 9)}."),
        lambda: f"{rng.choice(vocab['clinical'])} Avis du Dr Rousseau demandé." if "Rousseau" not in names
        else rng.choice(vocab["clinical"]),
    ]
    choices_heldout = [
        lambda: f"Le {d:02d}.{m:02d}.2025 à {rng.randrange(8, 20)} h {rng.randrange(60):02d}, scanner de contrôle.",
        lambda: (f"Nodule de {rng.randrange(3, 30)} x {rng.randrange(3, 30)} x {rng.randrange(3, 30)} mm, "
                 f"Lung-RADS {rng.randrange(1, 5)}."),
        lambda: (f"Amoxicilline {rng.choice([1, 2, 3])} g/j, "
                 f"{rng.randrange(7, 14)} jours ; kaliémie {rng.randrange(3, 5)},{rng.randrange(10)} mmol/l."),
        lambda: f"Date de l'accident : {d:02d}/{m:02d}/2026. Arrêt de travail {rng.randrange(7, 60)} jours.",
        lambda: (f"DFG {rng.randrange(30, 120)} ml/min/1,73 m2, INR {rng.randrange(1, 4)},{rng.randrange(10)}, "
                 f"SpO2 {rng.randrange(88, 100)} %."),
        lambda: (f"Classification Garden {rng.choice(['I', 'II', 'III', 'IV'])}, score ASA {rng.randrange(1, 5)}, "
                 f"BI-RADS {rng.randrange(1, 6)}."),
        lambda: (f"Code M{rng.randrange(10, 99)}.{rng.randrange(10)}{rng.randrange(10)}, "
                 f"GHM 08M{rng.randrange(10, 40)}{rng.choice('1234')}."),
        lambda: f"Dossier lié : {other['accession_number']}, version {rng.randrange(1, 5)}.{rng.randrange(10)}.",
        lambda: f"Série {'/'.join(str(rng.randrange(100, 200)) for _ in range(4))} mmHg sur la journée.",
        lambda: f"Rendez-vous le {d} {MONTHS[m - 1]} 2026 à {rng.randrange(8, 18)}h, salle {rng.randrange(1, 40)}.",
        lambda: f"Patient vivant seul depuis {rng.randrange(1990, 2024)}, en résidence autonomie.",
        lambda: f"Sortie prévue à J{rng.randrange(2, 10)}, {rng.randrange(2, 6)} séances en cours de programmation.",
        lambda: (f"Débit {rng.randrange(1, 15)} l/min, FiO2 {rng.randrange(21, 100)} %, "
                 f"{rng.randrange(100, 999)} mg de fer IV."),
        lambda: (f"Réf. labo {rng.randrange(10**9, 10**10)}, "
                 f"prélèvement du {d:02d}/{m:02d}/2026 {rng.randrange(7, 12)} h."),
    ]
    choices = choices_dev if part == "dev" else choices_heldout
    return " ".join(rng.choice(choices)() for _ in range(rng.randrange(1, 3)))


def corpus(part: str = "dev", n_per_kind: int = 250, n_negative: int = 2000) -> list[Sample]:
    """Positives (one planted identifier each, with clinical text around) then hard negatives.
    Deterministic: the same call gives the same corpus."""
    rng = random.Random({"dev": 2026, "heldout": 7919}[part])
    out = [_positive(rng, part, kind) for kind in KINDS for _ in range(n_per_kind)]
    for _ in range(n_negative):
        vocab = VOCAB[part]
        first, last = rng.choice(vocab["first"]), rng.choice(vocab["last"])
        ids = row_ids(rng, part)
        out.append(Sample(negative_texts(rng, part, ids, [last, first]), [], [last, first], ids))
    # Names that are also French words, in a row whose text uses the word, not the name.
    homonyms = {
        "dev": (("Masse", "Pas de masse visible."), ("Blanc", "Liquide blanc."),
                ("Petit", "Petit fragment osseux, trait de refend."), ("Place", "Mise en place du plâtre.")),
        "heldout": (("Roux", "Épanchement roux à la ponction."), ("Long", "Trait long et spiroïde."),
                    ("Grand", "Grand trochanter intact."), ("Droit", "Côté droit sans anomalie.")),
    }
    for word, text in homonyms[part]:
        out.append(Sample(text, [], [word, "Anne"], row_ids(rng, part)))
    return out
