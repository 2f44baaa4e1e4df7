"""Builds the demo district end to end, as `make demo` needs it, and prints the demo logins.

Every step is one of the product's own commands, so the demo is also a run of the whole
pipeline: generate -> import registry -> import schools and communities -> policy ->
applications (one of them submitted online by the demo parent) -> verify -> allocate and
publish.
"""

import io
import json
import re
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from enrollment import sms
from enrollment.consent_tokens import consent_public_key
from enrollment.models import Application, Role, User
from enrollment.selectors.notifications import inbox_list
from enrollment.services.applications import ApplicationInput, PersonInput, application_submit
from enrollment.services.delivery import notifications_send
from enrollment.services.identity import identity_code_confirm, identity_verify_start
from enrollment.services.policies import policy_install_default
from registry.interchange import ProductCommand

# Printed for the demo on purpose; the command refuses to run unless DEBUG is on.
DEMO_PASSWORD = "demo-pass-2027"  # noqa: S105
# The synthetic district's home district (Chancheng), whose officer the demo signs in as.
DEMO_DISTRICT = "440604"


class Command(ProductCommand):
    help = "Generate and load a synthetic district, run the pipeline, create demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--dir", default="var/demo")
        parser.add_argument("--year", type=int, default=2027)
        parser.add_argument("--households", type=int, default=400)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument(
            "--forms",
            choices=("canonical", "department"),
            default="department",
            help="how the district's feeds are written: as departments export them (the "
            "registry's front door, by default) or in the canonical form",
        )
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000/", help="where the portal will be served"
        )

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("demo_setup creates well-known logins; it runs only with DEBUG on")
        # The story's messages go out as it is told, whatever the hour: quiet hours would hold
        # its SMS until the morning (they still apply to what happens after the setup).
        with override_settings(NOTIFY_QUIET_START=0, NOTIFY_QUIET_END=0):
            self._build(**options)

    def _build(
        self, *, dir: str, year: int, households: int, seed: int, forms: str, url: str, **options
    ):
        out = Path(dir)
        self._step("Generating the synthetic district, its feeds as departments export them")
        call_command(
            "generate_district", households=households, seed=seed, year=year, out=str(out),
            forms=forms,
        )  # fmt: skip
        self._step("Loading the registry feeds")
        call_command("import_registry", str(out))
        self._step("Registering the education bureau's consent key with the registry")
        self._register_bureau()
        self._step("Loading schools and catchments")
        call_command("import_schools", str(out / "schools.csv"), year=year)
        self._step("Loading the communities' names and outlines")
        call_command("import_communities", str(out / "communities.geojson"))
        policy_install_default(admission_year=year)

        lines = (out / "applications.jsonl").read_text(encoding="utf-8").splitlines()
        if not lines:
            raise CommandError("the generated district has no applications")
        own, rest = json.loads(lines[0]), lines[1:]
        counter_file = out / "applications-counter.jsonl"
        counter_file.write_text("\n".join(rest) + "\n", encoding="utf-8")

        self._step("Creating demo logins")
        users = self._users(school_code=own["preferences"][0])
        self._step("Verifying the demo parent's identity against the household registry")
        self._verify_identity(users["parent"], own)
        self._step("Submitting the demo parent's application online")
        self._submit_online(own, parent=users["parent"], year=year)
        self._step("Importing counter-entered applications")
        call_command("import_applications", str(counter_file))
        self._step("Verifying and scoring every application")
        call_command("verify_applications", year=year, wait=True)
        self._step("Allocating places and publishing the result")
        call_command("run_allocation", year=year, seed=seed, district=DEMO_DISTRICT, publish=True)
        self._step("Messages to the demo parent (their inbox; the SMS are printed above)")
        self._messages(users["parent"])

        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Demo ready at {url}  — logins:"))
        for role, user in users.items():
            self.stdout.write(f"  {role:<8} {user.username:<10} password {DEMO_PASSWORD}")

    def _messages(self, parent: User) -> None:
        # In-process tasks sent each SMS after its event's commit; a worker sends them otherwise.
        while notifications_send().claimed:
            pass
        for message in inbox_list(user=parent, now=timezone.now())[::-1]:
            self.stdout.write(f"  [{message.subject}] {message.body}")

    def _step(self, text: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"== {text}"))

    def _register_bureau(self) -> None:
        """The registry checks every question's consent token with the key it registered for
        the asking department, as a data bureau would register it. In-process the bureau
        needs no API key, so the one issued is not shown."""
        public_key = consent_public_key()
        try:
            call_command(
                "create_department_client",
                client_id=settings.REGISTRY_CLIENT_ID,
                name="禅城区教育局",
                scopes="verify,audit,identity,plan",
                consent_public_key=public_key,
                stdout=io.StringIO(),
            )
        except CommandError:
            # Registered by an earlier run: it takes the current key (adding it twice is a
            # no-op).
            call_command(
                "department_consent_key",
                client_id=settings.REGISTRY_CLIENT_ID,
                add=public_key,
                stdout=io.StringIO(),
            )

    @transaction.atomic
    def _users(self, *, school_code: str) -> dict[str, User]:
        specs = {
            "parent": {"username": "parent", "role": Role.PARENT, "phone": "13800000001"},
            "officer": {
                "username": "officer",
                "role": Role.OFFICER,
                "district_code": DEMO_DISTRICT,
            },
            "school": {"username": "school", "role": Role.SCHOOL, "school_code": school_code},
            "steward": {
                "username": "steward",
                "role": Role.STEWARD,
                "district_code": DEMO_DISTRICT,
            },
        }
        users = {}
        for key, spec in specs.items():
            user = User.objects.filter(username=spec["username"]).first()
            if user is None:
                user = User.objects.create_user(password=DEMO_PASSWORD, **spec)
            users[key] = user
        return users

    def _verify_identity(self, parent: User, record: dict) -> None:
        """The demo parent goes through the real-name check as every parent does: the registry
        matches the consenting guardian's name to their ID number, and the code sent to the
        account's phone binds the account. Here the code is read from the in-memory outbox
        rather than a phone; a parent who signs up in the demo gets theirs printed by the
        console backend."""
        if parent.is_identity_verified:
            return
        given_by = record["consent"]["given_by"]
        guardian = next(g for g in record["guardians"] if g["id_number"] == given_by)
        with override_settings(SMS_BACKEND="enrollment.sms.LocmemBackend"):
            sms.outbox.clear()
            identity_verify_start(
                actor=parent, name=guardian["name"], id_number=given_by, consented=True
            )
            code = re.search(r"\d{6}", sms.outbox.pop().text).group()
        identity_code_confirm(actor=parent, code=code)

    def _submit_online(self, record: dict, *, parent: User, year: int) -> None:
        if Application.objects.filter(
            child_id_number=record["child"]["id_number"], admission_year=year
        ).exists():
            return
        application_submit(
            data=ApplicationInput(
                ref=record["ref"],
                admission_year=record["admission_year"],
                grade=record.get("grade", "primary1"),
                child=PersonInput(
                    name=record["child"]["name"], id_number=record["child"]["id_number"]
                ),
                guardians=[
                    PersonInput(name=g["name"], id_number=g["id_number"], relation=g["relation"])
                    for g in record["guardians"]
                ],
                home_community_code=record["home_community_code"],
                home_address=record.get("home_address", ""),
                preferences=record["preferences"],
                consent_given_by=record["consent"]["given_by"],
            ),
            actor=parent,
        )
