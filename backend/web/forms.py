"""Input forms of the web interface. They check what a person typed and produce the keyword
arguments of one service; the services still enforce every domain rule themselves."""

import hashlib
import json

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cases.labels import label_display
from cases.selectors import ai_system_list_for_user
from committees.selectors import committee_choice_list_for_user
from reviews.enums import AssignmentKind, Discrepancy, YesNoUnknown
from reviews.services import CONCUR_CONTRADICTS_CODE as CONCUR_CODE

from .errors import ERROR_TEXTS
from .labels import stratum_display
from .widgets import IsoDateInput

YES_NO = [("yes", _("Yes")), ("no", _("No"))]
CONFIDENCE = [(str(i), str(i)) for i in range(1, 6)]


def _yes_no(value: str) -> bool:
    return value == "yes"


class _LockForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I confirm: my verdict will be locked and can no longer be changed."),
        error_messages={"required": _("Tick this box to lock your verdict.")},
    )


class ClinicianVerdictForm(_LockForm):
    label = forms.ChoiceField(label=_("Your reading"), widget=forms.RadioSelect)
    confidence = forms.TypedChoiceField(
        label=_("Confidence in your reading (1 = very unsure, 5 = certain)"),
        choices=CONFIDENCE, coerce=int, widget=forms.RadioSelect,
    )
    rationale = forms.CharField(
        label=_("Rationale"), required=False, max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What you saw that supports your reading."),
    )

    field_order = ["label", "confidence", "rationale", "confirm"]

    def __init__(self, *args, labels: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["label"].choices = [(label, label_display(label)) for label in labels]

    def service_data(self) -> dict:
        d = self.cleaned_data
        return {"label": d["label"], "confidence": d["confidence"], "rationale": d["rationale"]}


class PatientRepVerdictForm(_LockForm):
    patient_informed = forms.ChoiceField(
        label=_("Was the patient informed that an AI tool was used?"),
        choices=YesNoUnknown.choices, widget=forms.RadioSelect,
    )
    information_understandable = forms.ChoiceField(
        label=_("Was the information given to the patient understandable?"),
        choices=YesNoUnknown.choices, widget=forms.RadioSelect,
    )
    rights_respected = forms.ChoiceField(
        label=_("Were the patient's rights respected?"),
        choices=YesNoUnknown.choices, widget=forms.RadioSelect,
    )
    equity_concern = forms.TypedChoiceField(
        label=_("Do you see an equity concern (sex, age, place of living…)?"),
        choices=YES_NO, coerce=_yes_no, widget=forms.RadioSelect,
    )
    comments = forms.CharField(
        label=_("Comments"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 4}),
    )

    field_order = ["patient_informed", "information_understandable", "rights_respected", "equity_concern",
                   "comments", "confirm"]

    def __init__(self, *args, labels: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)

    def service_data(self) -> dict:
        d = self.cleaned_data
        return {k: d[k] for k in ("patient_informed", "information_understandable", "rights_respected",
                                  "equity_concern", "comments")}


def verdict_form_class(kind: str) -> type[forms.Form]:
    return ClinicianVerdictForm if kind == AssignmentKind.CLINICIAN else PatientRepVerdictForm


class ClassificationForm(forms.Form):
    discrepancy = forms.ChoiceField(
        label=_("Difference between your verdict and the AI output"),
        choices=Discrepancy.choices, widget=forms.RadioSelect,
    )
    would_have_changed = forms.TypedChoiceField(
        label=_("Would seeing the AI output have changed your answer?"),
        choices=YES_NO, coerce=_yes_no, widget=forms.RadioSelect,
    )
    possible_adverse_event = forms.BooleanField(
        label=_("Possible adverse event (to be examined for a vigilance report)"), required=False,
    )
    comment = forms.CharField(
        label=_("Comment"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}),
    )
    confirm = forms.BooleanField(
        label=_("I confirm: my classification will be recorded and can no longer be changed."),
        error_messages={"required": _("Tick this box to record your classification.")},
    )

    def __init__(self, *args, concur_allowed: bool = True, **kwargs):
        """``concur_allowed``: whether the reviewer's locked reading is the AI output's; when it
        differs, "concur" is not offered (the service refuses it too)."""
        super().__init__(*args, **kwargs)
        self.concur_allowed = concur_allowed
        if not concur_allowed:  # not offered; still refused by name when sent (a stale page)
            self.fields["discrepancy"].widget.choices = [
                c for c in Discrepancy.choices if c[0] != Discrepancy.CONCUR]

    def clean_discrepancy(self) -> str:
        value = self.cleaned_data["discrepancy"]
        if value == Discrepancy.CONCUR and not self.concur_allowed:
            raise forms.ValidationError(ERROR_TEXTS[CONCUR_CODE].message, code=CONCUR_CODE)
        return value

    def service_kwargs(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k != "confirm"}


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for declining"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For example a conflict of interest: you know the patient or signed the report."),
    )


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason for cancelling"), required=False, max_length=2000)


class ReassignForm(forms.Form):
    reason = forms.CharField(label=_("Reason for reassigning"), max_length=2000)


class BulkReassignForm(forms.Form):
    """The board's reassignment of several pending reviews at once: which ones (their ids), to
    whom (empty: any eligible reader, chosen by the rules), why, and the confirmation."""

    assignments = forms.TypedMultipleChoiceField(
        coerce=int, error_messages={"required": _("Tick at least one review to reassign.")})
    reviewer = forms.TypedChoiceField(label=_("Give to"), coerce=int, required=False, empty_value=None)
    reason = forms.CharField(label=_("Reason for reassigning"), max_length=2000)
    confirm = forms.BooleanField(
        label=_("I confirm: the ticked reviews are withdrawn from their reviewers, and their drafts deleted."),
        error_messages={"required": _("Tick this box to confirm the reassignment.")})

    def __init__(self, *args, assignment_ids=(), reviewer_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignments"].choices = [(str(i), str(i)) for i in assignment_ids]
        self.fields["assignments"].error_messages["invalid_choice"] = _(
            "A ticked review is no longer pending in this campaign: reload the board.")
        self.fields["reviewer"].choices = [("", "")] + [(str(i), str(i)) for i in reviewer_ids]
        self.fields["reviewer"].error_messages["invalid_choice"] = _(
            "The chosen reviewer does not sit on the committee: reload the board.")


class DeviationForm(forms.Form):
    """A departure from the frozen protocol (``reviews.services.protocol_deviation_record``).
    The model has no list of items: the item is free text, with the protocol's items suggested."""

    item = forms.CharField(
        label=_("Protocol item"), max_length=80,
        help_text=_("What part of the frozen protocol: for example the sample size or the review deadline."),
        widget=forms.TextInput(attrs={"list": "deviation-items"}),
    )
    description = forms.CharField(label=_("What changed"), max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    reason = forms.CharField(label=_("Reason for the deviation"), max_length=5000,
                             widget=forms.Textarea(attrs={"rows": 3}))


def _names(value: str) -> list[str]:
    """The stratum names of the wizard's hidden field; anything malformed is no strata."""
    try:
        names = json.loads(value or "[]")
    except ValueError:
        return []
    if not isinstance(names, list):
        return []
    return list(dict.fromkeys(n for n in names if isinstance(n, str) and n))[:500]


def _int_list(value: str) -> list[int]:
    try:
        return [int(x) for x in value.replace(";", ",").split(",") if x.strip()]
    except ValueError:
        raise forms.ValidationError(_("Give whole numbers separated by commas.")) from None


class CampaignWizardForm(forms.Form):
    """The campaign wizard on one page: protocol, sampling design and precision target. "Preview"
    computes the population and the allocation to strata (``reviews.selectors.campaign_plan``);
    "Create" calls ``campaign_create`` with the sample size given, else the planner's."""

    name = forms.CharField(label=_("Name"), max_length=200)
    ai_system = forms.ModelChoiceField(label=_("AI system"), queryset=None)
    committee = forms.ModelChoiceField(label=_("Committee"), queryset=None)
    period_start = forms.DateField(label=_("Period start"), widget=IsoDateInput())
    period_end = forms.DateField(label=_("Period end"), widget=IsoDateInput())
    sites = forms.CharField(label=_("Sites"), required=False, max_length=1000,
                            help_text=_("Separated by commas; empty means every site."))
    design_type = forms.ChoiceField(label=_("Sampling design"), widget=forms.RadioSelect, initial="simple_random",
                                    choices=[("simple_random", _("Simple random")), ("stratified", _("Stratified"))])
    strata_by = forms.MultipleChoiceField(
        label=_("Strata (stratified design)"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[("ai_label", _("AI output")), ("score_band", _("AI confidence band")), ("site", _("Site")),
                 ("override", _("Clinician override"))])
    allocation = forms.ChoiceField(
        label=_("Allocation to strata"), initial="proportional",
        choices=[("proportional", _("Proportional")), ("equal", _("Equal per stratum")),
                 ("set", _("Set per stratum"))],
        help_text=_("Over-sampling weights apply to the proportional and equal allocations; with a set "
                    "allocation, give the sample size of each stratum. Preview the sample to see the strata."))
    target = forms.ChoiceField(label=_("Precision target"), initial="agreement",
                               choices=[("agreement", _("Agreement rate")), ("sensitivity", _("Sensitivity"))])
    expected = forms.FloatField(label=_("Expected value (0 to 1)"), min_value=0.001, max_value=0.999, initial=0.9)
    half_width = forms.FloatField(label=_("Precision d (half-width, e.g. 0.05 = ±5 points)"),
                                  min_value=0.001, max_value=0.5, initial=0.05)
    prevalence = forms.FloatField(label=_("Prevalence (sensitivity target)"), required=False,
                                  min_value=0.001, max_value=1)
    sample_size = forms.IntegerField(label=_("Sample size"), required=False, min_value=1, max_value=100_000,
                                     help_text=_("Empty: the planner's suggestion."))
    clinicians_per_case = forms.IntegerField(label=_("Clinician readers per case"), min_value=1, max_value=10,
                                             initial=2)
    patient_reps_per_case = forms.IntegerField(label=_("Patient representatives per case"), min_value=0,
                                               max_value=5, initial=1)
    required_specialty = forms.CharField(label=_("Required specialty"), required=False, max_length=120)
    exclude_own_service = forms.BooleanField(label=_("Exclude reviewers of the case's own service"),
                                             required=False, initial=True)
    exclude_own_site = forms.BooleanField(label=_("Exclude reviewers of the case's own site"), required=False)
    review_deadline = forms.DateField(label=_("Review deadline"), widget=IsoDateInput())
    reminder_days = forms.CharField(label=_("Reminders (days before the deadline)"), initial="7, 1",
                                    required=False, max_length=100)
    # The strata shown by the last preview (a JSON list of names): their size and weight fields
    # are added by ``__init__``, keyed by a digest of the name (names hold "=", "|" and spaces).
    strata_names = forms.CharField(required=False, widget=forms.HiddenInput, max_length=20_000)

    def __init__(self, data=None, *args, strata: list[str] | None = None, user=None, **kwargs):
        if data is not None and strata is not None:
            data = data.copy()
            data["strata_names"] = json.dumps(strata, ensure_ascii=False)
        super().__init__(data, *args, **kwargs)
        self.fields["ai_system"].queryset = ai_system_list_for_user(user)
        self.fields["committee"].queryset = committee_choice_list_for_user(user)
        if strata is None:
            strata = _names((data or {}).get("strata_names", ""))
        self.strata: list[tuple[str, str, str]] = []  # (stratum, size field, weight field)
        for name in strata:
            key = hashlib.sha256(name.encode()).hexdigest()[:12]
            size, weight = f"stratum_size_{key}", f"stratum_weight_{key}"
            self.fields[size] = forms.IntegerField(
                label=gettext("Sample size of the stratum %(stratum)s") % {"stratum": stratum_display(name)},
                required=False, min_value=0, max_value=100_000,
                error_messages={"min_value": _("A stratum's sample size cannot be negative."),
                                "max_value": _("A stratum's sample size is at most 100,000."),
                                "invalid": _("Give a whole number of cases.")})
            self.fields[weight] = forms.FloatField(
                label=gettext("Over-sampling weight of the stratum %(stratum)s") % {"stratum": stratum_display(name)},
                required=False, min_value=0.01, max_value=1000, localize=True,
                error_messages={"min_value": _("An over-sampling weight is more than 0 (1: no over-sampling)."),
                                "max_value": _("An over-sampling weight is at most 1000."),
                                "invalid": _("Give a number, such as 2 or 1.5.")})
            self.strata.append((name, size, weight))

    def clean_sites(self) -> list[str]:
        return [s.strip() for s in self.cleaned_data["sites"].split(",") if s.strip()]

    def clean_reminder_days(self) -> list[int]:
        return _int_list(self.cleaned_data["reminder_days"] or "")

    def clean(self):
        d = super().clean()
        if d.get("design_type") == "stratified" and not d.get("strata_by"):
            self.add_error("strata_by", _("Choose at least one stratum for a stratified design."))
        if d.get("target") == "sensitivity" and not d.get("prevalence"):
            self.add_error("prevalence", _("Give the expected prevalence for a sensitivity target."))
        if d.get("period_start") and d.get("period_end") and d["period_end"] < d["period_start"]:
            self.add_error("period_end", _("The period ends before it starts."))
        # Only the fields of the chosen allocation are shown; the others are kept hidden for a
        # switch back, and an error there would be one the user cannot see: it is dropped.
        unused = 2 if d.get("allocation") == "set" else 1
        for names in self.strata:
            self._errors.pop(names[unused], None)
        return d

    def stratum_values(self) -> tuple[dict[str, int], dict[str, float]]:
        """(sizes, weights) typed for the strata of the chosen dimensions; a stratum of another
        stratification (the dimensions changed since the preview) is left out, a weight of 1 too."""
        d = self.cleaned_data
        dims = list(d.get("strata_by") or [])
        sizes, weights = {}, {}
        for name, size, weight in self.strata:
            if [part.split("=", 1)[0] for part in name.split("|")] != dims:
                continue
            if d.get(size) is not None:
                sizes[name] = d[size]
            if d.get(weight) is not None and d[weight] != 1:
                weights[name] = d[weight]
        return sizes, weights

    def needs_sizes(self) -> bool:
        """A set allocation without any stratum size yet: the preview lists the strata to fill in."""
        d = self.cleaned_data
        return (d.get("design_type") == "stratified" and d.get("allocation") == "set"
                and not any(self.stratum_values()[0].values()))

    def design(self) -> dict:
        d = self.cleaned_data
        if d["design_type"] == "simple_random":
            return {"type": "simple_random"}
        out = {"type": "stratified", "strata_by": list(d["strata_by"]), "allocation": d["allocation"]}
        sizes, weights = self.stratum_values()
        if d["allocation"] == "set":
            if self.needs_sizes():  # the preview shows the strata with a proportional allocation
                out["allocation"] = "proportional"
            else:
                out["sizes"] = sizes
        elif weights:
            out["oversample"] = weights
        return out

    def plan_kwargs(self) -> dict:
        d = self.cleaned_data
        return {"target": d["target"], "expected": d["expected"], "half_width": d["half_width"],
                "prevalence": d["prevalence"], "sample_size": d["sample_size"], "ai_system": d["ai_system"],
                "period_start": d["period_start"], "period_end": d["period_end"], "sites": d["sites"],
                "design": self.design()}

    def create_kwargs(self, sample_size: int) -> dict:
        d = self.cleaned_data
        return {k: d[k] for k in ("name", "ai_system", "committee", "period_start", "period_end", "sites",
                                  "clinicians_per_case", "patient_reps_per_case", "required_specialty",
                                  "exclude_own_service", "exclude_own_site", "review_deadline",
                                  "reminder_days")} | {"design": self.design(), "sample_size": sample_size}
