"""Input forms of the web interface. They check what a person typed and produce the keyword
arguments of one service; the services still enforce every domain rule themselves."""

from django import forms
from django.utils.translation import gettext_lazy as _

from reviews.enums import AssignmentKind, Discrepancy, YesNoUnknown

from .labels import label_display

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

    def service_kwargs(self) -> dict:
        return dict(self.cleaned_data)


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for declining"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For example a conflict of interest: you know the patient or signed the report."),
    )


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason for cancelling"), required=False, max_length=2000)
