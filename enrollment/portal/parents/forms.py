"""Parents' forms: registration, the application's steps, evidence, offers and re-checks.

Forms check what a person typed and say in plain words what is wrong; the services decide.
Messages never repeat an ID number.
"""

from datetime import date

from django import forms
from django.conf import settings
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from enrollment.errors import ApplicationError, ErrorCode
from enrollment.models import Evidence, Guardian, PolicyDocument, School
from enrollment.policy import Policy
from enrollment.selectors.communities import community_choices
from registry import idnumber

MAX_PREFERENCES = 5
EVIDENCE_CONTENT_TYPES = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
}


def portal_policy() -> PolicyDocument | None:
    """The active primary-1 policy of the latest admission year: the year parents apply for."""
    return (
        PolicyDocument.objects.filter(is_active=True, grade="primary1")
        .order_by("-admission_year", "-created_at")
        .first()
    )


def format_day(day: date) -> str:
    return date_format(day, "DATE_FORMAT")


def id_number_problem(value: str) -> str | None:
    """What is wrong with a typed ID number, in plain words; None when it is valid.

    `idnumber.validate` decides (full-width digits and spaces are fine, other scripts' digits
    are not); this only words its answer, with the length when that is what is wrong.
    """
    try:
        idnumber.validate(value)
    except idnumber.InvalidIdNumber as error:
        if error.code == idnumber.InvalidIdNumber.BIRTH_DATE:
            return _("号码中的出生日期（第 7 到 14 位）不存在，请核对。")
        if error.code == idnumber.InvalidIdNumber.CHECK_CHARACTER:
            return _("最后一位校验码对不上，可能有一位输错了，请逐位核对。")
        number = idnumber.normalise(value)
        if not number:
            return _("请填写身份证号码。")
        if len(number) != 18:
            return _("身份证号码应为 18 位，现在是 %(count)s 位。") % {"count": len(number)}
        return _("身份证号码前 17 位应是数字，最后一位是数字或字母 X。")
    return None


def age_problem(child_id_number: str, policy: PolicyDocument | None) -> str | None:
    if policy is None:
        return None
    rules = Policy(policy.document)
    if rules.age_ok(idnumber.birth_date_of(child_id_number)):
        return None
    return _("报读 %(year)s 年一年级的孩子须在 %(born_from)s 至 %(born_to)s 之间出生。") % {
        "year": policy.admission_year,
        "born_from": format_day(rules.born_from),
        "born_to": format_day(rules.born_to),
    }


def child_id_problem(value: str, policy: PolicyDocument | None) -> str | None:
    return id_number_problem(value) or age_problem(idnumber.normalise(value), policy)


def guardian_id_problem(value: str, *, child_id_number: str = "") -> str | None:
    problem = id_number_problem(value)
    if problem:
        return problem
    if child_id_number and idnumber.normalise(value) == idnumber.normalise(child_id_number):
        return _("监护人的身份证号码不能与孩子的相同。")
    return None


def _field_message(field: str) -> str:
    if field == "child.name":
        return _("请填写孩子的姓名。")
    if field == "guardians":
        return _("请填写一到两位监护人。")
    if field.endswith(".name"):
        return _("请填写监护人的姓名。")
    if field.endswith(".relation"):
        return _("请选择监护人与孩子的关系。")
    if field == "preferences":
        return _("请选择一到五所学校。")
    if field.startswith("preferences["):
        return _("同一所学校不能选两次。")
    if field == "file":
        return _("只能上传 PDF、JPG 或 PNG 文件，且不超过 5 MB。")
    if field == "statement":
        return _("请写下您承诺的内容。")
    return _("填写的内容有误，请核对。")


def friendly_message(error: ApplicationError, *, policy: PolicyDocument | None = None) -> str:
    """A service's refusal in plain words for a parent, by its code and field."""
    code = error.code
    if code == ErrorCode.ID_NUMBER_INVALID:
        if error.field.startswith("guardians"):
            return _("监护人的身份证号码有误，请逐位核对。")
        return _("孩子的身份证号码有误，请逐位核对。")
    if error.why == "too_many_files":
        return _("每份申请最多上传 %(limit)s 份材料；如还需补充，请联系区教育局。") % {
            "limit": error.extra["limit"]
        }
    if code == ErrorCode.AGE_OUT_OF_RANGE:
        if policy is not None:
            rules = Policy(policy.document)
            return _("孩子须在 %(born_from)s 至 %(born_to)s 之间出生，才能报读今年的一年级。") % {
                "born_from": format_day(rules.born_from),
                "born_to": format_day(rules.born_to),
            }
        return _("孩子的年龄不符合今年一年级的入学年龄。")
    messages = {
        ErrorCode.GUARDIAN_IS_CHILD: _("监护人的身份证号码不能与孩子的相同。"),
        ErrorCode.GUARDIANS_REPEATED: _("两位监护人填写了同一个身份证号码，请核对。"),
        ErrorCode.DUPLICATE_APPLICATION: _("这个孩子今年已经提交过申请，不能重复申请。"),
        ErrorCode.APPLICANT_NOT_GUARDIAN: _(
            "请把您本人填为监护人之一，身份证号码与您的实名认证一致。"
        ),
        ErrorCode.UNKNOWN_SCHOOL: _("所选学校今年不招生，请重新选择。"),
        ErrorCode.UNKNOWN_COMMUNITY: _("所选社区不在本区，请重新选择。"),
        ErrorCode.CONSENT_MISSING: _("需要一位监护人同意核验，才能提交申请。"),
        ErrorCode.NO_POLICY: _("今年的招生办法尚未发布，暂时不能申请。"),
        ErrorCode.PERMISSION_DENIED: _("您没有权限进行这项操作。"),
        ErrorCode.NOT_FOUND: _("找不到这份申请。"),
        ErrorCode.ILLEGAL_TRANSITION: _("申请当前的状态不允许这项操作。"),
        ErrorCode.REASON_REQUIRED: _("请写明理由。"),
    }
    if code in messages:
        return messages[code]
    return _field_message(error.field)


def offer_message(error: ApplicationError) -> str:
    if error.code == ErrorCode.ILLEGAL_TRANSITION:
        if error.why == "deadline_passed":
            return _("答复期限已过，不能再接受或放弃这个学位。")
        return _("这个学位已经答复过，不能更改。如有疑问请联系区教育局。")
    return _("找不到这个学位。")


def recheck_message(error: ApplicationError) -> str:
    if error.code == ErrorCode.REASON_REQUIRED:
        return _("请写明理由。")
    if error.code == ErrorCode.ILLEGAL_TRANSITION:
        if error.why == "already_open":
            return _("您已经申请过复核，正在处理中。")
        if error.why == "closed":
            return _("复核申请期已经结束。")
        return _("结果公布后才能申请复核。")
    return _("找不到这份申请。")


def step_of_field(field: str) -> str:
    """Which step of the application form a field lives on."""
    if field.startswith("child"):
        return "child"
    if field.startswith("guardians"):
        return "guardians"
    if field.startswith(("home", "preferences")):
        return "home"
    return "consent"


# --- registration -------------------------------------------------------------------------


class SignupForm(forms.Form):
    phone = forms.CharField(
        label=gettext_lazy("手机号码"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "tel", "inputmode": "tel", "autofocus": True}
        ),
        help_text=gettext_lazy("用于登录，也用于接收录取通知。"),
    )
    display_name = forms.CharField(
        label=gettext_lazy("您的称呼（可不填）"),
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    password = forms.CharField(
        label=gettext_lazy("密码"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy("至少 8 位，不要只用数字，也不要用常见密码。"),
    )
    password_again = forms.CharField(
        label=gettext_lazy("再次输入密码"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        """Every problem at once: the service's refusals of the number and the password are
        asked for here too, beside the form's own, so a parent corrects all in one go."""
        from enrollment.services.accounts import parent_register_problems

        cleaned = super().clean()
        phone, password = cleaned.get("phone"), cleaned.get("password")
        if password and password != cleaned.get("password_again"):
            self.add_error("password_again", _("两次输入的密码不一样。"))
        given = {"phone": bool(phone), "password": bool(password)}
        for problem in parent_register_problems(phone=phone or "", password=password or ""):
            # A field left empty already says so; its other problems would only repeat it.
            if given.get(problem.field):
                self.add_error(problem.field, signup_message(problem))
        return cleaned


def signup_message(error: ApplicationError) -> str:
    from enrollment.services.accounts import PHONE_TAKEN

    if error.field == "phone":
        if error.message == PHONE_TAKEN:
            return _("这个手机号码已经注册过，请直接登录。")
        return _("请填写 11 位手机号码，以 1 开头。")
    return _("密码太简单：至少 8 位，不要只用数字，也不要用常见密码。")


# --- the application's steps ----------------------------------------------------------------


class ChildForm(forms.Form):
    child_name = forms.CharField(
        label=gettext_lazy("孩子姓名"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    child_id_number = forms.CharField(
        label=gettext_lazy("孩子身份证号码"),
        max_length=18,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "inputmode": "text", "spellcheck": "false"}
        ),
        help_text=gettext_lazy("18 位，最后一位可能是 X。"),
    )

    def __init__(self, *args, policy: PolicyDocument | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.policy = policy

    def clean_child_name(self):
        name = self.cleaned_data["child_name"].strip()
        if not name:
            raise forms.ValidationError(_("请填写孩子的姓名。"))
        return name

    def clean_child_id_number(self):
        value = self.cleaned_data["child_id_number"]
        problem = child_id_problem(value, self.policy)
        if problem:
            raise forms.ValidationError(problem)
        return idnumber.normalise(value)


class GuardiansForm(forms.Form):
    guardian1_name = forms.CharField(label=gettext_lazy("监护人姓名"), max_length=64)
    guardian1_relation = forms.ChoiceField(
        label=gettext_lazy("与孩子的关系"), choices=Guardian.Relation.choices
    )
    guardian1_id_number = forms.CharField(
        label=gettext_lazy("监护人身份证号码"),
        max_length=18,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    guardian2_name = forms.CharField(
        label=gettext_lazy("第二位监护人姓名（可不填）"), max_length=64, required=False
    )
    guardian2_relation = forms.ChoiceField(
        label=gettext_lazy("与孩子的关系"),
        choices=Guardian.Relation.choices,
        required=False,
        initial=Guardian.Relation.FATHER,
    )
    guardian2_id_number = forms.CharField(
        label=gettext_lazy("第二位监护人身份证号码"),
        max_length=18,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, child_id_number: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.child_id_number = child_id_number

    def clean_guardian1_id_number(self):
        value = self.cleaned_data["guardian1_id_number"]
        problem = guardian_id_problem(value, child_id_number=self.child_id_number)
        if problem:
            raise forms.ValidationError(problem)
        return idnumber.normalise(value)

    def clean_guardian2_id_number(self):
        value = self.cleaned_data.get("guardian2_id_number", "")
        if not value.strip():
            return ""
        problem = guardian_id_problem(value, child_id_number=self.child_id_number)
        if problem:
            raise forms.ValidationError(problem)
        return idnumber.normalise(value)

    def clean(self):
        cleaned = super().clean()
        name2 = (cleaned.get("guardian2_name") or "").strip()
        id2 = cleaned.get("guardian2_id_number") or ""
        if name2 and not id2 and "guardian2_id_number" not in self.errors:
            self.add_error("guardian2_id_number", _("请填写第二位监护人的身份证号码。"))
        if id2 and not name2:
            self.add_error("guardian2_name", _("请填写第二位监护人的姓名。"))
        if id2 and id2 == cleaned.get("guardian1_id_number"):
            self.add_error("guardian2_id_number", _("两位监护人填写了同一个身份证号码，请核对。"))
        return cleaned

    def guardians(self) -> list[dict]:
        data = self.cleaned_data
        rows = [
            {
                "name": data["guardian1_name"].strip(),
                "id_number": data["guardian1_id_number"],
                "relation": data["guardian1_relation"],
            }
        ]
        if data.get("guardian2_id_number"):
            rows.append(
                {
                    "name": data["guardian2_name"].strip(),
                    "id_number": data["guardian2_id_number"],
                    "relation": data["guardian2_relation"] or Guardian.Relation.GUARDIAN,
                }
            )
        return rows


class HomeForm(forms.Form):
    home_community_code = forms.ChoiceField(label=gettext_lazy("家庭住址所在社区"))
    home_address = forms.CharField(
        label=gettext_lazy("详细地址"),
        max_length=255,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )

    def __init__(self, *args, policy: PolicyDocument | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        district = policy.district_code if policy else ""
        year = policy.admission_year if policy else 0
        # By name, the code a secondary detail; the page's search box narrows the list.
        self.fields["home_community_code"].choices = [("", _("请选择社区"))] + community_choices(
            district_code=district
        )
        schools = School.objects.filter(district_code=district, admission_year=year).order_by(
            "code"
        )
        school_choices = [("", _("不选"))] + [(s.code, s.name) for s in schools]
        for rank in range(1, MAX_PREFERENCES + 1):
            self.fields[f"school_{rank}"] = forms.ChoiceField(
                label=_("第 %(rank)s 志愿学校") % {"rank": rank},
                choices=school_choices,
                required=rank == 1,
            )

    def clean(self):
        cleaned = super().clean()
        seen = set()
        for rank in range(1, MAX_PREFERENCES + 1):
            code = cleaned.get(f"school_{rank}")
            if code and code in seen:
                self.add_error(f"school_{rank}", _("同一所学校不能选两次。"))
            seen.add(code)
        return cleaned

    def preferences(self) -> list[str]:
        return [
            self.cleaned_data[f"school_{rank}"]
            for rank in range(1, MAX_PREFERENCES + 1)
            if self.cleaned_data.get(f"school_{rank}")
        ]

    def school_fields(self):
        return [self[f"school_{rank}"] for rank in range(1, MAX_PREFERENCES + 1)]


class ConsentForm(forms.Form):
    given_by = forms.ChoiceField(label=gettext_lazy("同意人"), widget=forms.RadioSelect)
    agree = forms.BooleanField(
        label=gettext_lazy("我已阅读以上内容，同意为本次入学申请查询这些信息。"),
        error_messages={"required": gettext_lazy("需要您同意，系统才能查询并提交申请。")},
    )

    def __init__(self, *args, guardians: list[dict] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.guardian_rows = list(guardians)
        self.fields["given_by"].choices = [
            (str(index), f"{g['name']} ({idnumber.mask(g['id_number'])})")
            for index, g in enumerate(self.guardian_rows)
        ]
        if self.guardian_rows:
            self.fields["given_by"].initial = "0"

    def given_by_id_number(self) -> str:
        return self.guardian_rows[int(self.cleaned_data["given_by"])]["id_number"]


# --- after submission ---------------------------------------------------------------------


class EvidenceForm(forms.Form):
    fact = forms.ChoiceField(label=gettext_lazy("补充哪一项"), choices=Evidence.Fact.choices)
    kind = forms.ChoiceField(
        label=gettext_lazy("方式"),
        choices=Evidence.Kind.family_choices,
        widget=forms.RadioSelect,
        initial=Evidence.Kind.UPLOAD,
    )
    file = forms.FileField(
        label=gettext_lazy("证明材料（PDF、JPG 或 PNG，不超过 5 MB）"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
    )
    statement = forms.CharField(
        label=gettext_lazy("说明或承诺内容"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, facts: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if facts:
            self.fields["fact"].choices = [
                (value, label) for value, label in Evidence.Fact.choices if value in facts
            ]

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        upload = cleaned.get("file")
        if kind == Evidence.Kind.UPLOAD:
            if not upload:
                self.add_error("file", _("请选择要上传的文件。"))
            else:
                limit = settings.EVIDENCE_MAX_BYTES
                if upload.size > limit:
                    self.add_error("file", _("文件太大：不能超过 5 MB。"))
        if kind == Evidence.Kind.COMMITMENT and cleaned.get("fact") == Evidence.Fact.RELATION:
            self.add_error(
                "kind",
                _("监护关系需要上传户口簿页或出生医学证明，不能以承诺代替。"),
            )
        elif kind == Evidence.Kind.COMMITMENT and not (cleaned.get("statement") or "").strip():
            self.add_error("statement", _("请写下您承诺的内容。"))
        return cleaned


class RecheckForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("请说明您认为哪里不对"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("请写明理由。"))
        return reason
