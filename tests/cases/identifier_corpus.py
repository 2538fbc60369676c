"""A deterministic synthetic French corpus of free-text snippets, with and without direct
identifiers, to measure the scanner's recall and precision (never real patients)."""

import random

FIRST = ["Jeanne", "Paul", "Marie", "Louis", "Camille", "Hugo", "Léa", "Étienne", "Chloé", "Noël", "Inès", "Théo"]
LAST = ["Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Girard", "Fournier", "Mercier", "Faure", "Rousseau"]
STREETS = ["rue", "avenue", "boulevard", "bd", "place", "chemin", "allée", "impasse", "route", "quai"]
STREET_NAMES = ["de la République", "Victor Hugo", "des Lilas", "du Général de Gaulle", "Pasteur", "Jean Jaurès"]
CITIES = ["Lille", "Bastia", "Ajaccio", "Saint-Denis", "Lyon", "Aix-en-Provence", "Rennes"]
CLINICAL = ["Chute de sa hauteur, douleur du poignet.", "Traumatisme du poignet gauche au ski.",
            "Douleur persistante depuis 3 jours.", "Contrôle à J8 d'une fracture traitée.",
            "Radiographie de face et de profil.", "Pas de trait de fracture visible.",
            "Œdème des parties molles, à revoir dans 10 jours."]
TEMPLATES = {
    "nir": ["Patient n° sécu {v}, vu aux urgences.", "NIR {v}.", "Assuré {v} - {c}", "{c} (sécurité sociale : {v})"],
    "phone": ["Rappeler au {v}.", "{c} Tél. {v}", "Joignable au {v} le matin.", "Contact famille : {v}"],
    "email": ["Résultats envoyés à {v}.", "{c} Mail du patient : {v}", "Écrire à {v} pour le suivi."],
    "address": ["Domicilié {v}.", "{c} Adresse : {v}", "Vit au {v}, seul."],
    "name": ["Mme {v} vue ce jour. {c}", "{c} Patient {v} informé.", "Compte rendu pour M. {v}."],
}


def nir(rng: random.Random) -> str:
    sex = rng.choice("12")
    year, month = f"{rng.randrange(100):02d}", f"{rng.randrange(1, 13):02d}"
    dept = rng.choice([f"{rng.randrange(1, 96):02d}", "2A", "2B", "75", "13"])
    if dept == "20":
        dept = "21"
    commune, order = f"{rng.randrange(1, 990):03d}", f"{rng.randrange(1, 1000):03d}"
    body = sex + year + month + dept + commune + order
    number = int(body.replace("2A", "19")) - 1_000_000 if "2A" in dept else (
        int(body.replace("2B", "18")) - 2_000_000 if "2B" in dept else int(body))
    key = f"{97 - number % 97:02d}"
    spelled = rng.choice(["compact", "spaced", "spaced"])
    if spelled == "compact":
        return body + key
    return f"{sex} {year} {month} {dept} {commune} {order} {key}"


def phone(rng: random.Random) -> str:
    digits = [rng.choice("1234567") if i == 0 else f"{rng.randrange(100):02d}" for i in range(5)]
    head, pairs = digits[0], digits[1:]
    style = rng.randrange(6)
    if style == 0:
        return "0" + head + " " + " ".join(pairs)
    if style == 1:
        return "0" + head + "." + ".".join(pairs)
    if style == 2:
        return "0" + head + "-" + "-".join(pairs)
    if style == 3:
        return "0" + head + "".join(pairs)
    if style == 4:
        return "+33 " + head + " " + " ".join(pairs)
    return "+33 (0)" + head + " " + " ".join(pairs)


def email(rng: random.Random) -> str:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    ascii_ = {"é": "e", "è": "e", "ë": "e", "É": "E", "ï": "i", "ô": "o", "ç": "c"}
    local = "".join(ascii_.get(ch, ch) for ch in f"{first}.{last}".lower())
    domain = rng.choice(["orange.fr", "gmail.com", "chu-lille.fr", "free.fr"])
    return f"{local}{rng.choice(['', str(rng.randrange(100))])}@{domain}"


def address(rng: random.Random) -> str:
    number = f"{rng.randrange(1, 250)}{rng.choice(['', ' bis', ''])}"
    street = f"{number} {rng.choice(STREETS)} {rng.choice(STREET_NAMES)}"
    if rng.random() < 0.5:
        street += f", {rng.randrange(10, 96):02d}{rng.randrange(1000):03d} {rng.choice(CITIES)}"
    return street


def positives(n_per_kind: int = 300, seed: int = 2026) -> list[tuple[str, str, list[str]]]:
    """(kind, snippet, names in the row's identifier columns)."""
    rng = random.Random(seed)
    out = []
    for kind in TEMPLATES:
        for _ in range(n_per_kind):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            names = [last, first]
            value = {"nir": nir, "phone": phone, "email": email, "address": address}.get(kind)
            v = value(rng) if value else rng.choice([last, f"{first} {last}", last.upper()])
            out.append((kind, rng.choice(TEMPLATES[kind]).format(v=v, c=rng.choice(CLINICAL)), names))
    return out


def negatives(n: int = 1200, seed: int = 2027) -> list[tuple[str, list[str]]]:
    """Snippets that look like identifiers but are not: dates, times, measures, scores, accession
    and patient numbers, NIR-shaped numbers with a wrong key, phone-shaped numbers that are too short."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        kind = i % 8
        if kind == 0:
            day, month = rng.randrange(1, 29), rng.randrange(1, 13)
            text = f"Examen du {day:02d}/{month:02d}/2026 à {rng.randrange(24)}h{rng.randrange(60):02d}."
        elif kind == 1:
            size = f"{rng.randrange(2, 30)},{rng.randrange(10)}"
            text = f"Fracture déplacée de {size} mm, angulation {rng.randrange(5, 40)}°."
        elif kind == 2:
            good = nir(rng).replace(" ", "")
            bad = good[:13] + f"{(int(good[13:]) + rng.randrange(1, 96)) % 97 or 1:02d}"
            text = f"Référence interne {bad} du laboratoire."
        elif kind == 3:
            text = f"Dossier ACC{rng.randrange(10**9):09d}, IPP {rng.randrange(10**8):08d}."
        elif kind == 4:
            dose = rng.randrange(1, 999)
            text = f"Dosage à {dose} mg/l, contrôle dans {rng.randrange(2, 20)} jours. {rng.choice(CLINICAL)}"
        elif kind == 5:
            text = f"Poste {rng.randrange(1000, 9999)}, salle {rng.randrange(1, 40)}, code {rng.randrange(10**6):06d}."
        elif kind == 6:
            text = f"{rng.choice(CLINICAL)} Rue du patient non renseignée ; {rng.randrange(3, 12)} vertèbres examinées."
        else:
            clinical = rng.choice(CLINICAL)
            text = f"{clinical} Avis du Dr Rousseau demandé." if last != "Rousseau" else clinical
        out.append((text, [last, first]))
    return out
