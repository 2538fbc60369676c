"""The evidence pack of an AI system (DESIGN §9): each figure and record the product holds for
the system, mapped to the duty it serves, for certification and inspection visits.

Duties: art. L4001-3 of the French public health code (human guarantee), and the EU AI Act's
art. 14 (human oversight), 26 (deployer's duties), 72 (post-market monitoring) and 73 (serious
incidents). Aggregates and record references only: counts, dates, states, hashes, versions and
links, never a case, a verdict or a free-text description, so that management may read it.

A fixed number of queries whatever the number of campaigns, sessions, actions or reports (pinned
by a test), plus the audit-chain verification, which walks the chain in batches.
"""

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd
from django.db.models import Count, Exists, F, OuterRef, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from audit.models import AuditEvent
from audit.services import audit_verify
from cases.models import AISystem, Case
from committees.enums import MemberRole
from committees.models import Committee, Member
from concordance import automation_bias
from reviews.enums import BLIND_STATES, LOCKED_STATES, AssignmentKind
from reviews.models import Assignment, Campaign, Classification
from sittings.enums import ActionState, AttendanceStatus, SessionState
from sittings.models import Session
from vigilance.enums import Seriousness, VigilanceState

from . import selectors
from .enums import Audience, ReportState
from .models import Report
from .pages import METRIC_NAMES

DUTIES = {
    "l4001_3": {
        "title": _("Art. L4001-3 of the public health code: human guarantee"),
        "description": _(
            "The use of an AI system in care is placed under human guarantee: cases are re-read blind by "
            "clinicians and patient representatives of a pluri-professional committee, and patients are "
            "informed that AI was used."),
    },
    "art14": {
        "title": _("AI Act art. 14: human oversight"),
        "description": _(
            "The people who oversee the system understand its limits, watch for automation bias, can "
            "override its output, and are qualified for it; the committee's decisions are recorded in "
            "signed minutes."),
    },
    "art26": {
        "title": _("AI Act art. 26: obligations of the deployer"),
        "description": _(
            "The hospital uses the system according to its instructions for use, monitors its operation, "
            "keeps the logs, informs the people concerned and takes corrective action when a risk appears."),
    },
    "art72": {
        "title": _("AI Act art. 72: post-market monitoring"),
        "description": _(
            "The system's performance is followed campaign after campaign against its acceptance "
            "thresholds, with control limits and alerts, and the results are published as frozen reports."),
    },
    "art73": {
        "title": _("AI Act art. 73: reporting of serious incidents"),
        "description": _(
            "A serious incident is reported to the authority at the latest 15 days after awareness "
            "(10 days for a death, 2 days for a widespread infringement); each report's clock is shown."),
    },
}


def _shown(enum, value) -> str:
    """A state or kind as a person reads it (an unknown value as is)."""
    try:
        return str(enum(value).label)
    except ValueError:
        return str(value)


@dataclass
class Record:
    """One line of the pack: what the product holds, how many, when, and where to see it."""

    label: str
    value: object = ""
    date: object = None
    reference: str = ""
    url: str = ""

    def __post_init__(self):
        # Lazy translations are rendered now, in the reader's language, not when exported.
        for name in ("label", "value", "reference"):
            if isinstance(getattr(self, name), Promise):
                setattr(self, name, str(getattr(self, name)))


@dataclass
class Duty:
    key: str
    title: str
    description: str
    records: list[Record] = field(default_factory=list)


def _url(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _pct(x: int, n: int) -> str:
    return "—" if not n else f"{100 * x / n:.1f} %".replace(".", ",")


def _cell_value(cell: dict, value):
    """``value`` when the cell may be shown, else why not (nothing said of which case or how many)."""
    if cell["withheld"]:
        return _("Withheld while you have blind readings in this cell")
    if cell["suppressed"]:
        return _("Suppressed: fewer than %(n)s cases") % {"n": selectors.PUBLIC_MIN_CELL}
    return value


def _chain_reference(chain) -> str:
    """What the verification found: the events verified, or the first event that does not hold,
    or (a failure on a checkpoint: a cut tail, an emptied trail, a missing anchor file, where no
    event is to blame) the verifier's reason."""
    if chain.ok:
        return _("%(n)s events verified") % {"n": chain.checked}
    if chain.first_broken_id is not None:
        return _("first broken event: %(id)s") % {"id": chain.first_broken_id}
    return _("verification failed: %(reason)s") % {"reason": chain.reason}


def evidence_pack(ai_system: AISystem, *, user) -> dict:
    """Every duty with its records for ``ai_system``. Campaign figures follow the dashboards' rule
    (``selectors.campaigns_in_series``: none the reader still reviews blind); everything else is
    counts, dates, states, hashes and links."""
    now = timezone.now()
    committees = list(Committee.objects.filter(ai_systems=ai_system).order_by("name"))
    committee_ids = [c.pk for c in committees]
    campaigns = list(
        Campaign.objects.filter(ai_system=ai_system).order_by("period_start", "id")
        .annotate(n_cases=Count("campaign_cases", distinct=True))
    )
    reads = dict(
        Assignment.objects.filter(campaign_case__campaign__ai_system=ai_system, state__in=LOCKED_STATES)
        .values("kind").annotate(n=Count("id")).values_list("kind", "n")
    )
    # The case aggregates are one cell (the AI system as a whole), under the dashboards' rule
    # (``selectors.cell_disclosure``): the cases the reader still reads blind are counted in the
    # same query, so that a reader reviewing one of them gets no figure drawn from it.
    reads_blind = Exists(Assignment.objects.filter(campaign_case__case=OuterRef("pk"), reviewer_id=user.pk,
                                                   state__in=BLIND_STATES))
    cases = Case.objects.filter(ai_system=ai_system).aggregate(
        n=Count("id"), n_blind=Count("id", filter=Q(reads_blind)),
        informed=Count("id", filter=Q(patient_informed=True)),
        not_informed=Count("id", filter=Q(patient_informed=False)),
        decided=Count("id", filter=~Q(final_label="")),
        overridden=Count("id", filter=~Q(final_label="") & ~Q(final_label=F("ai_label"))),
        opted_out=Count("id", filter=Q(is_opted_out=True)),
    )
    members = list(Member.objects.active_on(timezone.localdate()).filter(committee_id__in=committee_ids)
                   .values_list("committee_id", "role"))
    reviewer_specialties = Counter(specialty for _reviewer, specialty in (
        Assignment.objects.filter(campaign_case__campaign__ai_system=ai_system, kind=AssignmentKind.CLINICIAN,
                                  state__in=LOCKED_STATES)
        .order_by().values_list("reviewer_id", "reviewer__specialty").distinct()))
    # Automation bias as the concordance package defines it (``concordance.automation_bias``):
    # among the clinician readings whose blind label differed from the AI output, the share whose
    # reader would have changed it after seeing the AI. Every classified reading is read (one
    # query) for the possible adverse events too.
    answers = pd.DataFrame.from_records(list(
        Classification.objects.filter(assignment__campaign_case__campaign__ai_system=ai_system,
                                      assignment__kind=AssignmentKind.CLINICIAN)
        .values_list("assignment__verdict__label", "assignment__campaign_case__case__ai_label",
                     "would_have_changed", "possible_adverse_event")),
        columns=["verdict", "ai_label", "would_change", "adverse"]).replace({"": None})
    bias = automation_bias(answers, verdict="verdict", ai_label="ai_label", would_change="would_change")
    n_adverse = int(answers["adverse"].fillna(False).astype(bool).sum())
    sessions = list(Session.objects.filter(committee_id__in=committee_ids).order_by("scheduled_at", "id").annotate(
        n_present=Count("attendances", filter=Q(attendances__status=AttendanceStatus.PRESENT), distinct=True),
        n_decided=Count("items__decision", distinct=True),
    ).values("id", "title", "scheduled_at", "state", "signed_at", "minutes_sha256", "n_present", "n_decided"))
    reports = list(Report.objects.filter(campaign__ai_system=ai_system).exclude(state=ReportState.DRAFT)
                   .order_by("campaign__period_start", "campaign_id", "audience", "version")
                   .values("id", "title", "audience", "version", "state", "published_at", "content_hash"))
    series_campaigns = selectors.campaigns_in_series(user, ai_system)
    series = selectors.ai_system_series(ai_system, series_campaigns)
    actions = selectors.ai_system_actions(ai_system)
    vigilance = selectors.ai_system_vigilance(ai_system, now=now)
    chain = audit_verify()
    audit_counts = dict(AuditEvent.objects.values("action").annotate(n=Count("id")).values_list("action", "n"))

    cell = selectors.cell_disclosure(cases["n"], cases["n_blind"])
    duties = {key: Duty(key, str(d["title"]), str(d["description"])) for key, d in DUTIES.items()}

    # --- L4001-3: the human guarantee --------------------------------------------------------
    g = duties["l4001_3"].records
    for c in campaigns:
        g.append(Record(str(_("Campaign")) + f" « {c.name} »", _("%(n)s cases, %(state)s") % {
            "n": c.n_cases, "state": c.get_state_display()}, c.period_end, f"campaign:{c.pk}",
            _url("reports:campaign", c.pk)))
    g.append(Record(str(_("Blind re-reads by clinicians (locked verdicts)")), reads.get(AssignmentKind.CLINICIAN, 0)))
    g.append(Record(str(_("Blind re-reads by patient representatives (locked answers)")),
                    reads.get(AssignmentKind.PATIENT_REP, 0)))
    for c in committees:
        seats = Counter(role for committee_id, role in members if committee_id == c.pk)
        g.append(Record(str(_("Committee")) + f" « {c.name} »", ", ".join(
            f"{MemberRole(role).label} : {n}" for role, n in sorted(seats.items())), None, f"committee:{c.pk}"))
    g.append(Record(str(_("Cases with the patient informed of the use of AI")),
                    _cell_value(cell, f"{cases['informed']} / {cases['n']} ({_pct(cases['informed'], cases['n'])})")))
    g.append(Record(str(_("Cases with the patient not informed")), _cell_value(cell, cases["not_informed"])))
    g.append(Record(str(_("Patients opted out (cases excluded from sampling)")), cases["opted_out"]))

    # --- Art. 14: human oversight ------------------------------------------------------------
    o = duties["art14"].records
    o.append(Record(str(_("Clinician override rate (final decision differs from the AI)")), _cell_value(
        cell, f"{cases['overridden']} / {cases['decided']} ({_pct(cases['overridden'], cases['decided'])})")))
    changed, differed = bias["automation_bias"]["x"], bias["automation_bias"]["n"]
    o.append(Record(str(_("Automation bias: readers whose blind answer differed from the AI and who would have "
                          "changed it after seeing the AI")),
                    _cell_value(cell, f"{changed} / {differed} ({_pct(changed, differed)})")))
    o.append(Record(str(_("Possible adverse events flagged by reviewers")), n_adverse))
    for specialty, n in sorted(reviewer_specialties.items(), key=lambda kv: (kv[0] or "")):
        o.append(Record(str(_("Clinician reviewers, specialty")) + f" : {specialty or '—'}", n))
    for role, n in sorted(Counter(role for _committee, role in members).items()):
        o.append(Record(str(_("Committee seats")) + f" : {MemberRole(role).label}", n))
    for s in sessions:
        o.append(Record(
            f"{_('Session')} « {s['title']} »",
            _("%(state)s, %(present)s present, %(decided)s decision(s)") % {
                "state": SessionState(s["state"]).label, "present": s["n_present"], "decided": s["n_decided"]},
            s["signed_at"] or s["scheduled_at"],
            f"sha256:{s['minutes_sha256']}" if s["minutes_sha256"] else f"session:{s['id']}",
            _url("web:session", s["id"])))

    # --- Art. 26: deployer's duties ----------------------------------------------------------
    d = duties["art26"].records
    d.append(Record(str(_("Intended use (instructions of the provider)")), ai_system.intended_use,
                    None, f"ai_system:{ai_system.pk} v{ai_system.version}"))
    d.append(Record(str(_("Monitoring campaigns run")), len(campaigns)))
    d.append(Record(str(_("Audit trail verification")), _("intact") if chain.ok else _("BROKEN"),
                    now, _chain_reference(chain)))
    logged = (
        ("import", _("Imports logged (whole trail)")),
        ("assignment", _("Review steps logged (whole trail)")),
        ("session", _("Session steps logged (whole trail)")),
        ("action", _("Corrective-action steps logged (whole trail)")),
        ("vigilance", _("Vigilance steps logged (whole trail)")),
        ("report", _("Report publications logged (whole trail)")),
    )
    for prefix, label in logged:
        d.append(Record(str(label), sum(n for a, n in audit_counts.items() if a.split(".")[0] == prefix)))
    d.append(Record(str(_("Cases with the patient informed of the use of AI")),
                    _cell_value(cell, f"{cases['informed']} / {cases['n']} ({_pct(cases['informed'], cases['n'])})")))
    d.append(Record(str(_("Public summaries published (users' committee)")),
                    sum(1 for r in reports if r["audience"] == "public" and r["state"] == ReportState.PUBLISHED),
                    None, "", _url("public")))
    d.append(Record(str(_("Corrective actions")), _("%(n)s, %(open)s open, %(overdue)s overdue") % {
        "n": actions["n"], "open": actions["n_open"], "overdue": actions["n_overdue"]}))
    for a in actions["rows"]:
        d.append(Record(f"{_('Corrective action')} « {a['title']} »", _shown(ActionState, a["state"]), a["due_date"],
                        f"action:{a['id']}"))

    # --- Art. 72: post-market monitoring ------------------------------------------------------
    m = duties["art72"].records
    m.append(Record(str(_("Campaigns in the control-chart series")), len(series["campaigns"]), None, "",
                    _url("reports:ai_system", ai_system.pk)))
    for metric, block in series["metrics"].items():
        chart, name = block["chart"], METRIC_NAMES.get(metric, metric)
        m.append(Record(f"{_('Control chart')} : {name}", _("centre %(c)s, %(out)s point(s) outside limits") % {
            "c": "—" if chart["centre"] is None else f"{chart['centre']:.3f}", "out": chart["n_out"]}))
        if block["threshold"] is not None:
            m.append(Record(f"{_('Acceptance threshold')} : {name}", block["threshold"], None,
                            _("%(n)s alert(s)") % {"n": len(block["alerts"])}))
    for r in reports:
        audience, state = _shown(Audience, r["audience"]), _shown(ReportState, r["state"])
        m.append(Record(f"{_('Report')} « {r['title']} » v{r['version']} ({audience}, {state})",
                        state, r["published_at"], f"sha256:{r['content_hash']}", _url("reports:report", r["id"])))
    m.append(Record(str(_("Population monitoring by month and site")), cases["n"], None, "",
                    _url("reports:population", ai_system.pk)))

    # --- Art. 73: serious incidents -----------------------------------------------------------
    v = duties["art73"].records
    v.append(Record(str(_("Vigilance reports")), ", ".join(
        f"{_shown(VigilanceState, k)} : {n}" for k, n in vigilance["by_state"].items())))
    for r in vigilance["rows"]:
        if r["declared_in_time"] is True:
            status = _("declared in time")
        elif r["declared_in_time"] is False:
            status = _("declared late")
        elif r["deadline"] is None:
            status = _("no declaration needed")
        elif r["days_overdue"] is not None:
            status = _("%(n)s day(s) overdue") % {"n": r["days_overdue"]}
        else:
            status = _("%(n)s day(s) left") % {"n": r["days_left"]}
        shown = f"{_shown(VigilanceState, r['state'])}, {_shown(Seriousness, r['seriousness'])}"
        v.append(Record(f"{_('Vigilance report')} {r['id']} ({shown})", status,
                        r["deadline"], f"vigilance:{r['id']}"))

    return {
        "ai_system": {"id": ai_system.pk, "name": ai_system.name, "version": ai_system.version,
                      "vendor": ai_system.vendor},
        "generated_at": now,
        "duties": [duties[k] for k in DUTIES],
        "audit_ok": chain.ok,
    }


__all__ = ["DUTIES", "Duty", "Record", "evidence_pack"]
