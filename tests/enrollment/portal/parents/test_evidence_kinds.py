"""A family offers evidence by upload or commitment; an officer's finding is never offered."""

from enrollment.portal.parents.forms import EvidenceForm


def test_the_familys_evidence_form_offers_upload_and_commitment_alone():
    form = EvidenceForm()

    assert [value for value, _label in form.fields["kind"].choices] == ["upload", "commitment"]
    refused = EvidenceForm(data={"fact": "housing", "kind": "finding", "statement": "属实"})
    assert not refused.is_valid()
    assert list(refused.errors) == ["kind"]
