"""Answers identity questions (二要素核验): does this name match this ID number's hukou record?

Yes or no, and nothing else: not the record, not whether there is one. "No" for an ID number
the registry does not hold reads exactly as "no" for a name that differs, so a caller cannot
learn who is registered. Each question is consented, checked and audited like a family
question: no purpose, no consent reference or no valid consent token refuses the batch, and
every question, answered or refused, is an entry in the audit chain.
"""

import re
import unicodedata
from collections.abc import Sequence

from registry import idnumber
from registry.contract import (
    IdentityAnswer,
    IdentityQuestion,
    LookupContext,
    LookupRefused,
    to_json,
)
from registry.models import AuditEntry, HukouRecord
from registry.services.audit import AuditItem, audit_append, refused
from registry.services.consents import consents_check

# The separators written between the parts of a name in other scripts (艾力·买买提): the
# middle dot and its look-alikes, all one for comparing.
_NAME_DOTS = re.compile(r"[·‧•・･.．]")


def name_key(name: str) -> str:
    """A name as compared: NFKC (full-width letters to half-width), no spaces, one kind of
    middle dot, letters upper-case."""
    text = unicodedata.normalize("NFKC", name or "")
    text = "".join(text.split())
    return _NAME_DOTS.sub("·", text).upper()


def _refuse(context: LookupContext, questions: Sequence[IdentityQuestion], code: str, why: str):
    raise refused(
        context=context,
        questions=questions,
        code=code,
        why=why,
        subjects=lambda q: (idnumber.normalise(q.id_number),),
    )


def verify_identities(
    *, questions: Sequence[IdentityQuestion], context: LookupContext
) -> list[IdentityAnswer]:
    """Answer every question, in order, with one query for the names on record."""
    if not context.purpose.strip():
        _refuse(context, questions, "PURPOSE_MISSING", "a lookup must state its purpose")
    if any(not q.consent_reference.strip() for q in questions):
        _refuse(context, questions, "CONSENT_MISSING", "every lookup needs a consent reference")
    if not questions:
        return []
    try:
        consents_check(questions=questions, context=context)
    except LookupRefused as refusal:
        _refuse(context, questions, refusal.code, str(refusal))

    numbers = {idnumber.normalise(q.id_number) for q in questions}
    names = dict(
        HukouRecord.objects.filter(id_number__in=sorted(numbers)).values_list("id_number", "name")
    )
    answers = []
    for question in questions:
        on_record = names.get(idnumber.normalise(question.id_number))
        matches = on_record is not None and name_key(on_record) == name_key(question.name)
        answers.append(IdentityAnswer(key=question.key, matches=bool(matches)))
    entries = audit_append(
        items=[
            AuditItem(
                client_id=context.client_id,
                end_user=question.end_user,
                purpose=context.purpose,
                consent_reference=question.consent_reference,
                outcome=AuditEntry.Outcome.ANSWERED,
                question=to_json(question),
                answer=to_json(answer),
                subjects=(idnumber.normalise(question.id_number),),
            )
            for question, answer in zip(questions, answers, strict=True)
        ]
    )
    return [
        IdentityAnswer(key=answer.key, matches=answer.matches, audit_entry_id=entry.id)
        for answer, entry in zip(answers, entries, strict=True)
    ]
