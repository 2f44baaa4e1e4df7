"""400, 403, CSRF failure, 404 and 500 are the product's own pages, in the visitor's language,
in the demo too: it serves with config.settings.demo, DEBUG off, never Django's technical pages."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from enrollment.portal.parents import forms as portal_forms

ROOT = Path(__file__).resolve().parent.parent

NOT_FOUND = {
    "zh-hans": ('<html lang="zh-Hans">', "<h1>找不到页面</h1>", "您要找的页面不存在，或者您没有权限查看。"),
    "en": ('<html lang="en">', "<h1>Page not found</h1>", "This page does not exist, or you may not see it."),
}  # fmt: skip

DEMO_REQUESTS = """
import json
import django
django.setup()
from django.conf import settings
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()  # lets the test client's host in; DEBUG stays as the settings say
answers = {"debug": settings.DEBUG}
for language in ("zh-hans", "en"):
    response = Client(HTTP_ACCEPT_LANGUAGE=language).get("/no-such-page/")
    answers[language] = [response.status_code, response.content.decode()]
print(json.dumps(answers))
"""


def test_the_demo_serves_the_products_404_in_the_visitors_language(tmp_path):
    # given: the settings the demo's server runs with, as scripts/demo starts it
    script = (ROOT / "scripts" / "demo").read_text(encoding="utf-8")
    assert "DJANGO_SETTINGS_MODULE=config.settings.demo \\\n" in script
    assert script.rstrip().endswith('$PY manage.py runserver "$HOST:$PORT" --noreload')
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings.demo",
        # No table is read for an unknown address; a throwaway database all the same.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
    }

    # when
    done = subprocess.run(
        [sys.executable, "-c", DEMO_REQUESTS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # then
    assert done.returncode == 0, done.stderr[-2000:]
    answers = json.loads(done.stdout.strip().splitlines()[-1])
    assert answers["debug"] is False
    for language, words in NOT_FOUND.items():
        status, body = answers[language]
        assert status == 404
        assert all(word in body for word in words), (language, body[:500])
        assert "Django" not in body
        assert "Using the URLconf" not in body


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_an_unknown_address_is_the_products_404(db, language):
    response = Client(HTTP_ACCEPT_LANGUAGE=language).get("/no-such-page/")

    assert response.status_code == 404
    assert all(word in response.content.decode() for word in NOT_FOUND[language])


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("zh-hans", ("<h1>页面已过期</h1>", "请返回上一页，刷新后重新提交。")),
        ("en", ("<h1>This page has expired</h1>", "Please go back, reload the page and send it again.")),
    ],
)  # fmt: skip
def test_a_failed_csrf_check_is_the_products_page(db, language, words):
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE=language)

    response = client.post("/accounts/login/", {"username": "x", "password": "y"})

    assert response.status_code == 403
    body = response.content.decode()
    assert all(word in body for word in words)
    assert "CSRF verification failed" not in body


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("zh-hans", ("<h1>无法处理这个请求</h1>", "请从首页重新打开要办理的页面。")),
        ("en", ("<h1>This request cannot be handled</h1>", "Please open the page you need again from the home page.")),
    ],
)  # fmt: skip
def test_a_bad_request_is_the_products_400(db, language, words):
    response = Client(HTTP_ACCEPT_LANGUAGE=language, HTTP_HOST="evil.example").get("/")

    assert response.status_code == 400
    assert all(word in response.content.decode() for word in words)


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("zh-hans", ("<h1>系统暂时出错</h1>", "很抱歉，系统暂时出错。请稍后刷新页面再试。")),
        ("en", ("<h1>Something went wrong</h1>", "Sorry, something went wrong on our side.")),
    ],
)  # fmt: skip
def test_an_unexpected_error_is_the_products_500(db, monkeypatch, language, words):
    def broken(*args, **kwargs):
        raise RuntimeError("a defect")

    monkeypatch.setattr(portal_forms, "SignupForm", broken)
    client = Client(HTTP_ACCEPT_LANGUAGE=language, raise_request_exception=False)

    response = client.get("/accounts/signup/")

    assert response.status_code == 500
    assert all(word in response.content.decode() for word in words)
