from django.core.management import call_command


def test_openapi_schema_generates_without_warnings_and_validates(tmp_path):
    schema = tmp_path / "schema.yaml"

    call_command("spectacular", "--file", str(schema), "--validate", "--fail-on-warn")

    text = schema.read_text()
    assert "ApplicationSubmitInput:" in text
    assert "\n    Input:" not in text
