"""The district data pool: department facts, where each came from, and who asked about them."""

from django.db import models
from django.db.models import F, Q

from registry.fields import CodeField


class Source(models.TextChoices):
    HUKOU = "hukou", "Public security: household registration"
    PROPERTY = "property", "Housing: property registration"
    RENTAL = "rental", "Housing: registered rentals"
    SOCIAL_INSURANCE = "social_insurance", "Human resources and social security"
    RESIDENCE_PERMIT = "residence_permit", "Public security: residence permits"


class Channel(models.TextChoices):
    FEED = "feed", "Department bulk feed"
    COUNTER = "counter", "One-stop counter capture"


class ImportBatch(models.Model):
    """One load of one department's file (or one counter capture): the provenance of its rows."""

    class Status(models.TextChoices):
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    source = models.CharField(max_length=32, choices=Source.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.FEED)
    file_name = models.CharField(max_length=255, blank=True)
    encoding = models.CharField(max_length=16, default="utf-8")
    as_of = models.DateField(help_text="The date the department's data describes.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.CharField(max_length=150, blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    rows_inserted = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    # [{"line": 12, "reason": "id_number: the check character does not match (GB 11643)",
    #   "code": "id_check_character", "params": {"field": "id_number"}}, ...]: the reason as
    # the report has it, and the code and parameters a page words (feeds.RowRejected). Batches
    # loaded before codes existed have line and reason only.
    rejections = models.JSONField(default=list, blank=True)
    # The one finding the load's report leads with (loading.report.Diagnosis.as_json): the
    # check most rejected rows failed, with exact counts and example lines, or why no row of
    # the file loaded. Null when the rejections had no common cause (or there were none).
    diagnosis = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name_plural = "import batches"

    def __str__(self) -> str:
        return f"{self.source} #{self.pk} ({self.status})"


class FeedUpload(models.Model):
    """A department file a data steward handed in through the portal, loaded by a worker.

    The file itself holds a department's personal data: it is deleted as soon as the load has
    ended, whatever the outcome. What remains is who handed in what and when, and the batch
    the load made (its counts and rejected lines).
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    source = models.CharField(max_length=32, choices=Source.choices)
    file = models.FileField(upload_to="feeds/%Y/%m/", blank=True)
    file_name = models.CharField(max_length=255, help_text="The name the file was handed in as.")
    size_bytes = models.PositiveBigIntegerField()
    encoding = models.CharField(max_length=16, default="utf-8")
    as_of = models.DateField(help_text="The date the department's data describes.")
    submitted_by = models.CharField(max_length=150)
    submitted_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The PostgreSQL backend loading the file, whose COPY progress the steward's page reads.
    backend_pid = models.PositiveIntegerField(null=True, blank=True)
    batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Why the file could not be loaded at all, in the import's words (for the operators), and
    # as a code with its parameters (for the steward's page): ImportFailed's codes, or
    # "stopped" when the load broke off.
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=32, blank=True)
    error_params = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.source} upload #{self.pk} ({self.status})"


class HeaderMapping(models.Model):
    """A department's name for one of a feed's columns (INTERCHANGE.md: the mapping is data).

    Mappings come in named sets, one per way of writing a feed's header (the Chinese names
    of INTERCHANGE.md, a city's own export): a file's header is read through all of its
    source's sets, and a file that matches none is refused naming the closest set. The
    English column names need no rows. `header` is stored as it is compared
    (registry.loading.rows.header_name: NFKC, trimmed, lower-cased).
    """

    source = models.CharField(max_length=32, choices=Source.choices)
    header_set = models.CharField(max_length=64)
    header = models.CharField(max_length=64)
    column = models.CharField(max_length=32)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["source", "header_set", "id"]
        # One header names one column of a source, whichever set it came with: a file's
        # header is read through all of them at once.
        constraints = [
            models.UniqueConstraint(fields=["source", "header"], name="header_mapping_unique")
        ]

    def __str__(self) -> str:
        return f"{self.source}: {self.header} → {self.column}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from registry.feeds.specs import FEEDS  # plain Python, no models: no cycle

        spec = FEEDS.get(self.source)
        if spec is not None and self.column not in spec.columns:
            raise ValidationError({"column": f"one of {', '.join(spec.columns)}"})


class RegistryRecord(models.Model):
    """Provenance every fact carries: which department, which batch, as of which date."""

    # No database-level constraint: it would queue one trigger check per loaded row (a third
    # of a bulk load's time). Batches are append-only provenance and never deleted; PROTECT
    # still guards deletion through the ORM. No index either: every reader comes to a record
    # by its natural key or a person's ID number and reads its batch from the row, none asks
    # for a batch's rows, and the index cost a tenth of a million-row load to build.
    batch = models.ForeignKey(
        ImportBatch,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    as_of = models.DateField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class HukouRecord(RegistryRecord):
    source = Source.HUKOU

    # Keys and lookup columns are declared in Meta rather than with unique=/db_index=, which on
    # PostgreSQL would add a second, `LIKE`-only index to every bulk load.
    id_number = CodeField(max_length=18)
    name = models.CharField(max_length=64)
    sex = models.CharField(max_length=1, choices=[("M", "male"), ("F", "female")])
    birth_date = models.DateField()
    hukou_district_code = models.CharField(max_length=6)
    community_code = models.CharField(max_length=12)
    address = models.CharField(max_length=255, blank=True)
    registered_on = models.DateField()
    household_no = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["id_number"], name="hukou_natural_key")]

    def __str__(self) -> str:
        return f"hukou {self.household_no or self.pk}"


class PropertyRecord(RegistryRecord):
    source = Source.PROPERTY

    certificate_no = CodeField(max_length=64)
    owner_id_number = CodeField(max_length=18)
    share_percent = models.DecimalField(max_digits=5, decimal_places=2)
    community_code = models.CharField(max_length=12)
    address = models.CharField(max_length=255, blank=True)
    registered_on = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["certificate_no", "owner_id_number"], name="property_natural_key"
            ),
            models.CheckConstraint(
                condition=Q(share_percent__gt=0, share_percent__lte=100),
                name="property_share_in_range",
            ),
        ]
        indexes = [models.Index(fields=["owner_id_number"], name="property_owner_idx")]

    def __str__(self) -> str:
        return f"property {self.certificate_no}"


class RentalRecord(RegistryRecord):
    source = Source.RENTAL

    registration_no = CodeField(max_length=64)
    tenant_id_number = CodeField(max_length=18)
    community_code = models.CharField(max_length=12)
    address = models.CharField(max_length=255, blank=True)
    start_date = models.DateField()
    end_date = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["registration_no", "tenant_id_number"], name="rental_natural_key"
            ),
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="rental_ends_after_start"
            ),
        ]
        indexes = [models.Index(fields=["tenant_id_number"], name="rental_tenant_idx")]

    def __str__(self) -> str:
        return f"rental {self.registration_no}"


class SocialInsuranceRecord(RegistryRecord):
    source = Source.SOCIAL_INSURANCE

    id_number = CodeField(max_length=18)
    # The first day of the contribution month: the feed's `YYYY-MM`.
    month = models.DateField()
    pension = models.BooleanField()
    medical = models.BooleanField()
    employer_name = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["id_number", "month"], name="si_natural_key"),
        ]

    def __str__(self) -> str:
        return f"social insurance {self.month:%Y-%m}"


class ResidencePermitRecord(RegistryRecord):
    source = Source.RESIDENCE_PERMIT

    permit_no = CodeField(max_length=64)
    id_number = CodeField(max_length=18)
    district_code = models.CharField(max_length=6)
    issued_on = models.DateField()
    expires_on = models.DateField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_on__gte=F("issued_on")), name="permit_expires_after_issue"
            ),
            models.UniqueConstraint(fields=["permit_no"], name="permit_natural_key"),
        ]
        indexes = [models.Index(fields=["id_number"], name="permit_holder_idx")]

    def __str__(self) -> str:
        return f"permit {self.permit_no}"


RECORD_MODELS = {
    Source.HUKOU: HukouRecord,
    Source.PROPERTY: PropertyRecord,
    Source.RENTAL: RentalRecord,
    Source.SOCIAL_INSURANCE: SocialInsuranceRecord,
    Source.RESIDENCE_PERMIT: ResidencePermitRecord,
}


class DepartmentClient(models.Model):
    """A department system allowed to ask the registry questions, as X-Road's client."""

    class Scope(models.TextChoices):
        VERIFY = "verify", "Ask verification questions"
        PUSH = "push", "Push counter-captured records"
        AUDIT = "audit", "Read the audit log about given people"
        IDENTITY = "identity", "Check a person's name against their ID number's hukou record"
        PLAN = "plan", "Ask for counts of children per community, for planning"

    client_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=128)
    # SHA-256 of the key; the key itself is shown once, when it is issued.
    api_key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    # The Ed25519 public keys that check this client's consent tokens (registry/consent.py),
    # base64, newest first. Usually one; two while the department rotates its key.
    consent_public_keys = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.client_id

    def has_scope(self, scope: str) -> bool:
        return self.is_active and scope in self.scopes

    # DRF treats the authenticated principal as a user; a department client is one.
    @property
    def is_authenticated(self) -> bool:
        return self.is_active


class AuditEntry(models.Model):
    """One registry query, answered or refused. Append-only, keyed and chained.

    `entry_hash` is an HMAC, under the key named by `key_id` (AUDIT_LOG_KEYS, never in the
    database), of the entry's own fields, the people it was about (`subjects_hash`) and the
    previous entry's hash: changing or deleting any entry or index row breaks it, and without
    the key nobody can compute a replacement. The head is anchored outside the database after
    every append (`manage.py verify_audit_chain` checks both).
    """

    class Outcome(models.TextChoices):
        ANSWERED = "answered"
        REFUSED = "refused"

    at = models.DateTimeField(db_index=True)
    client_id = models.CharField(max_length=64)
    end_user = models.CharField(max_length=150)
    purpose = models.CharField(max_length=128, blank=True)
    consent_reference = models.CharField(max_length=128, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    refusal_reason = models.CharField(max_length=255, blank=True)
    question_hash = models.CharField(max_length=64)
    answer_hash = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)
    # SHA-256 of the entry's subject digests, sorted: the keyed hash covers the index this way.
    subjects_hash = models.CharField(max_length=64, blank=True, db_default="")
    # Empty for entries written before the log was keyed, until `seal_audit_chain` re-keys them.
    # The database defaults, so a process still running the previous release can append.
    key_id = models.CharField(max_length=16, blank=True, db_default="")

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "audit entries"
        # As a constraint rather than unique=True: no second, LIKE-only index on PostgreSQL.
        constraints = [models.UniqueConstraint(fields=["entry_hash"], name="audit_entry_hash")]

    def __str__(self) -> str:
        return f"audit {self.pk} {self.outcome} by {self.client_id}"


class AuditSubject(models.Model):
    """Who an entry was about: a keyed hash of each ID number asked about, so a person can find
    who looked at their data without the log holding their numbers. The entry's
    `subjects_hash` covers these rows, so deleting or adding one breaks the chain."""

    # No foreign-key constraint in the database: PostgreSQL checks one row at a time, with a
    # plan it keeps for the connection's life. A worker that first appended while the log was
    # small keeps a sequential scan of the whole log per subject, so each batch cost grew with
    # the log (a ten-thousand-entry batch spent a minute in COMMIT). Subjects are written only
    # by `audit_append`, with their entries, in one transaction, and neither is ever deleted;
    # PROTECT still refuses a delete through the ORM.
    entry = models.ForeignKey(
        AuditEntry, on_delete=models.PROTECT, related_name="subjects", db_constraint=False
    )
    digest = models.CharField(max_length=64)

    class Meta:
        indexes = [models.Index(fields=["digest"], name="audit_subject_digest_idx")]

    def __str__(self) -> str:
        return f"audit {self.entry_id} subject"


class AuditChainHead(models.Model):
    """The chain's length and last hash, moved forward with every append (one row).

    Hashes alone cannot show that the newest entries were deleted: what is left still chains.
    The head can, as long as it is not rewritten along with them.
    """

    entries = models.PositiveBigIntegerField(default=0)
    last_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"audit chain head: {self.entries} entries"
