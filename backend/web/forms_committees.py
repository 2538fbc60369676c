"""Input forms of the committee pages (sessions, decisions, actions, vigilance, re-identification).

Each checks what a person typed and produces the keyword arguments of one service; the services
still enforce every domain rule (quorum, majority, dissent, due dates...) themselves, and their
``ValidationFailed.extra`` is put back on the form's fields (``apply_service_errors``)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from cases.labels import label_display
from committees.enums import ConflictKind, MemberRole
from sittings.enums import ActionKind, AttendanceStatus, VoteChoice
from vigilance.enums import Seriousness

from .widgets import IsoDateInput, IsoDateTimeInput

KNOWN_ERRORS = {
    "required": _("This field is required."),
    "no majority": _("A decision needs more votes for than against; defer the item otherwise."),
    "no vote counted": _("Record the vote."),
    "required when someone voted against": _("Record the dissenting opinion of those who voted against."),
    "in the past": _("This date is in the past."),
    "in the future": _("This date is in the future."),
    "an active user is required": _("Choose an active user."),
    "a place or a video link is required": _("Give a place or a video link."),
    "not expected for this item": _("A reference label is decided only for a case whose readers disagree."),
    "at least 20 characters": _("Explain why the patient may need to be recalled (at least 20 characters)."),
    "no source reference": _("No source reference was kept for this case: it cannot be re-identified here."),
    "duplicate seat": _("This person already holds this seat on the committee, with a term still open."),
    "before term_start": _("A term cannot end before it starts."),
    "required for this kind": _("Say what the conflict is about."),
    "at least 1": _("At least 1."),
    "at least 0": _("At least 0."),
}
"""The services' field errors (English, technical) as the person reads them."""


def apply_service_errors(form: forms.Form, exc) -> None:
    """Put a service's ``ValidationFailed`` on the form: each field it names, else the form."""
    extra = exc.extra or {}
    for name, errors in extra.items():
        target = "votes_for" if name == "votes" else name
        target = target if target in form.fields else None
        messages = [str(KNOWN_ERRORS.get(str(e), e)) for e in (errors if isinstance(errors, list) else [errors])]
        form.add_error(target, "; ".join(messages) if target else exc.detail)
    if not extra:
        form.add_error(None, exc.detail)


class SessionForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=160)
    scheduled_at = forms.DateTimeField(label=_("Date and time"),
                                       widget=IsoDateTimeInput(),
                                       input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
    place = forms.CharField(label=_("Place"), max_length=200, required=False)
    video_link = forms.URLField(label=_("Video link"), max_length=500, required=False, assume_scheme="https")

    def clean(self):
        d = super().clean()
        if not (d.get("place") or "").strip() and not (d.get("video_link") or "").strip() \
                and "video_link" not in self.errors:
            self.add_error("place", _("Give a place or a video link."))
        return d


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class AttendanceForm(forms.Form):
    member = forms.IntegerField(widget=forms.HiddenInput)
    status = forms.ChoiceField(label=_("Attendance"), choices=[
        (s, label) for s, label in AttendanceStatus.choices if s != AttendanceStatus.INVITED])


class OtherBusinessForm(forms.Form):
    title = forms.CharField(label=_("Other business"), max_length=200)


class DecisionForm(forms.Form):
    summary = forms.CharField(label=_("Discussion summary"), max_length=10000,
                              widget=forms.Textarea(attrs={"rows": 3}))
    text = forms.CharField(label=_("Decision"), max_length=10000, widget=forms.Textarea(attrs={"rows": 3}))
    reference_label = forms.ChoiceField(label=_("Reference label decided by the committee"), required=False)
    def __init__(self, *args, labels: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if labels:
            self.fields["reference_label"].choices = [("", "—")] + [(x, label_display(x)) for x in labels]
            self.fields["reference_label"].required = True
            self.fields["reference_label"].help_text = _("The clinician readers disagree on this case.")
        else:
            del self.fields["reference_label"]

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        return {k: d.get(k) or "" for k in ("summary", "text", "reference_label")}


class VoteForm(forms.Form):
    """A present member's own vote on an item (or, with ``member``, the chair's record of another
    present member's vote on their behalf)."""

    choice = forms.ChoiceField(label=_("Vote"), choices=VoteChoice.choices, widget=forms.RadioSelect)
    dissent = forms.CharField(label=_("Dissenting opinion"), required=False, max_length=10000,
                              widget=forms.Textarea(attrs={"rows": 2}),
                              help_text=_("Required when voting against; it goes into the minutes."))

    def __init__(self, *args, members=None, **kwargs):
        super().__init__(*args, **kwargs)
        if members is not None:
            self.fields["member"] = forms.ModelChoiceField(label=_("Member"), queryset=members)
            self.fields["member"].label_from_instance = lambda m: m.user.display_name
            self.order_fields(["member", "choice", "dissent"])


class CommentForm(forms.Form):
    text = forms.CharField(label=_("Comment"), max_length=4000, widget=forms.Textarea(attrs={"rows": 2}))


class ActionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of action"), choices=ActionKind.choices)
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False, max_length=10000,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=None)
    due_date = forms.DateField(label=_("Due date"), widget=IsoDateInput())

    def __init__(self, *args, owners=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners
        self.fields["owner"].label_from_instance = lambda u: u.display_name


class OutcomeForm(forms.Form):
    outcome = forms.CharField(label=_("What was done"), max_length=10000, widget=forms.Textarea(attrs={"rows": 2}))


class SignForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I confirm: the minutes will be frozen and can no longer be changed."),
        error_messages={"required": _("Tick this box to sign the minutes.")})


class VigilanceForm(forms.Form):
    ai_version = forms.CharField(label=_("AI version"), max_length=40, required=False)
    event_date = forms.DateField(label=_("Date of the event"), widget=IsoDateInput())
    aware_at = forms.DateTimeField(label=_("College aware since"),
                                   widget=IsoDateTimeInput(),
                                   input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
    seriousness = forms.ChoiceField(label=_("Seriousness"), choices=Seriousness.choices)
    description = forms.CharField(label=_("Description of the event"), required=False, max_length=20000,
                                  widget=forms.Textarea(attrs={"rows": 4}))
    patient_consequences = forms.CharField(label=_("Consequences for the patient"), required=False,
                                           max_length=20000, widget=forms.Textarea(attrs={"rows": 3}))
    actions_taken = forms.CharField(label=_("Actions taken"), required=False, max_length=20000,
                                    widget=forms.Textarea(attrs={"rows": 3}))

    FIELDS = ("ai_version", "event_date", "aware_at", "seriousness", "description", "patient_consequences",
              "actions_taken")

    def changes(self, report) -> dict:
        return {f: self.cleaned_data[f] for f in self.FIELDS if self.cleaned_data[f] != getattr(report, f)}


class DeclareForm(forms.Form):
    reference = forms.CharField(label=_("Reference of the declaration"), max_length=80, required=False,
                                help_text=_("The number given by the vigilance authority, if any."))


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Closure note"), max_length=10000, widget=forms.Textarea(attrs={"rows": 2}))


class ReidentificationForm(forms.Form):
    campaign_case = forms.ModelChoiceField(label=_("Case in a campaign"), queryset=None)
    justification = forms.CharField(
        label=_("Justification"), max_length=10000, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Why the patient may need to be recalled (at least 20 characters)."))

    def __init__(self, *args, campaign_cases=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign_case"].queryset = campaign_cases
        self.fields["campaign_case"].label_from_instance = lambda cc: _("Case %(case)s — %(campaign)s") % {
            "case": cc.case_id, "campaign": cc.campaign.name}


class DecideRequestForm(forms.Form):
    comment = forms.CharField(label=_("Comment"), required=False, max_length=10000,
                              widget=forms.Textarea(attrs={"rows": 2}),
                              help_text=_("Required to refuse."))
    confirm = forms.BooleanField(
        label=_("I confirm my decision: it is final and recorded in the audit trail. An approval lets the "
                "chair see the patient's source reference once."),
        error_messages={"required": _("Tick this box to confirm your decision.")})


# --- Composition (committee page) ------------------------------------------------------------------
# The committee page holds one form of each kind below; the end-of-term form is repeated per member
# (prefixed by the member's id). None of them queries per member: the member choices of the
# conflict form come from the members the page has already loaded.

class MemberAddForm(forms.Form):
    user = forms.ModelChoiceField(label=_("Person"), queryset=None,
                                  error_messages={"invalid_choice": _("Choose an active user.")})
    role = forms.ChoiceField(label=_("Seat"), choices=MemberRole.choices)
    specialty = forms.CharField(label=_("Specialty"), max_length=80, required=False)
    site = forms.CharField(label=_("Site"), max_length=40, required=False)
    service = forms.CharField(label=_("Service"), max_length=80, required=False)
    term_start = forms.DateField(label=_("Start of term"), widget=IsoDateInput())
    term_end = forms.DateField(label=_("End of term"), required=False, widget=IsoDateInput(),
                               help_text=_("Leave empty for a term without a planned end."))

    def __init__(self, *args, users=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = users
        self.fields["user"].label_from_instance = lambda u: f"{u.display_name} ({u.username})"

    def clean(self):
        d = super().clean()
        if d.get("term_start") and d.get("term_end") and d["term_end"] < d["term_start"]:
            self.add_error("term_end", _("A term cannot end before it starts."))
        return d


class EndTermForm(forms.Form):
    term_end = forms.DateField(label=_("End of term"), widget=IsoDateInput())


class ConflictForm(forms.Form):
    member = forms.TypedChoiceField(label=_("Member"), coerce=int)
    kind = forms.ChoiceField(label=_("The conflict is about"), choices=ConflictKind.choices)
    ai_system = forms.ModelChoiceField(label=_("AI system"), queryset=None, required=False,
                                       help_text=_("For a conflict about an AI system."))
    value = forms.CharField(label=_("Vendor, service or site"), max_length=120, required=False,
                            help_text=_("For a conflict about a vendor, a service or a site."))
    description = forms.CharField(label=_("Description"), max_length=2000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, members=(), ai_systems=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].choices = [("", "—")] + [
            (m.pk, f"{m.user.display_name} — {m.get_role_display()}") for m in members]
        self.fields["ai_system"].queryset = ai_systems

    def clean(self):
        d = super().clean()
        kind = d.get("kind")
        if kind == ConflictKind.AI_SYSTEM and not d.get("ai_system") and "ai_system" not in self.errors:
            self.add_error("ai_system", _("Choose the AI system."))
        elif kind and kind != ConflictKind.AI_SYSTEM and not (d.get("value") or "").strip():
            self.add_error("value", _("Name the vendor, the service or the site."))
        return d

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        is_ai = d["kind"] == ConflictKind.AI_SYSTEM
        return {"kind": d["kind"], "ai_system": d["ai_system"] if is_ai else None,
                "value": "" if is_ai else d["value"], "description": d["description"]}


class QuorumForm(forms.Form):
    clinicians = forms.IntegerField(label=_("Clinicians present"), min_value=1, max_value=99,
                                    help_text=_("Clinician experts and the chair; at least 1."))
    patient_reps = forms.IntegerField(label=_("Patient representatives present"), min_value=0, max_value=99)
