"""The district's communities: names and outlines from `communities.csv` or
`communities.geojson` (INTERCHANGE.md, "Communities")."""

import codecs
import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from enrollment.models import Community

_CODE = re.compile(r"^4406\d{8}$")
# A real community's outline has tens to a few thousand points; far more is not an outline.
MAX_POINTS = 20_000


class CommunityImportError(Exception):
    """The file cannot be imported at all; the message is one line."""


@dataclass
class CommunityImportReport:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    # (line or feature number, reason): CSV lines count the header as 1, features from 1.
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"read {self.read}, inserted {self.inserted}, updated {self.updated}, "
            f"unchanged {self.unchanged}, rejected {len(self.rejected)}"
        )


def _text(path: Path, encoding: str) -> str:
    try:
        data = path.read_bytes()
        if codecs.lookup(encoding).name == "utf-8":
            encoding = "utf-8-sig"
        return data.decode(encoding)
    except OSError as error:
        raise CommunityImportError(f"{path}: cannot read ({error.strerror or error})") from None
    except LookupError:
        raise CommunityImportError(f"{path}: unknown encoding {encoding}") from None
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise CommunityImportError(
            f"{path}: line {line} is not {encoding.removesuffix('-sig')} text (try --encoding)"
        ) from None


def _clean(code: str, name: str, district: str) -> dict:
    code, name, district = (code or "").strip(), (name or "").strip(), (district or "").strip()
    if not _CODE.match(code):
        raise ValueError("code must be a 12-digit community code of the city (4406...)")
    if not name or len(name) > 128:
        raise ValueError("name is required (at most 128 characters)")
    if district and district != code[:6]:
        raise ValueError(f"district_code {district} is not the district of community {code}")
    return {"code": code, "name": name, "district_code": code[:6]}


def _ring(ring) -> list[list[float]]:
    if not isinstance(ring, list) or len(ring) < 4:
        raise ValueError("a ring has at least four positions")
    points = []
    for position in ring:
        if (
            not isinstance(position, list)
            or len(position) < 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in position)
        ):
            raise ValueError("a position is [longitude, latitude]")
        lon, lat = float(position[0]), float(position[1])
        if not (
            math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90
        ):
            raise ValueError("a position is [longitude, latitude] in degrees")
        points.append([lon, lat])
    if points[0] != points[-1]:
        raise ValueError("a ring ends where it starts")
    return points


def _geometry(geometry) -> dict:
    """A Polygon or MultiPolygon as stored: positions as [lon, lat] floats, nothing else."""
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise ValueError("geometry must be a Polygon or a MultiPolygon")
    coordinates = geometry.get("coordinates")
    polygons = [coordinates] if geometry["type"] == "Polygon" else coordinates
    if not isinstance(polygons, list) or not polygons:
        raise ValueError("geometry has no coordinates")
    cleaned = []
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise ValueError("a polygon is a list of rings")
        cleaned.append([_ring(ring) for ring in polygon])
    if sum(len(ring) for polygon in cleaned for ring in polygon) > MAX_POINTS:
        raise ValueError(f"the outline has more than {MAX_POINTS} points")
    if geometry["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": cleaned[0]}
    return {"type": "MultiPolygon", "coordinates": cleaned}


def _read_geojson(text: str, path: Path, report: CommunityImportReport) -> list[dict]:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise CommunityImportError(f"{path}: not a GeoJSON file ({error})") from None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise CommunityImportError(f"{path}: not a GeoJSON FeatureCollection")
    features = document.get("features")
    if not isinstance(features, list):
        raise CommunityImportError(f"{path}: the FeatureCollection has no features")
    rows = []
    for number, feature in enumerate(features, start=1):
        report.read += 1
        try:
            if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
                raise ValueError("a feature has properties code and name")
            properties = feature["properties"]
            values = _clean(
                str(properties.get("code") or ""),
                str(properties.get("name") or ""),
                str(properties.get("district_code") or ""),
            )
            values["shape"] = _geometry(feature.get("geometry"))
        except ValueError as error:
            report.rejected.append((number, f"feature {number}: {error}"))
            continue
        rows.append((number, values))
    return rows


def _read_csv(text: str, path: Path, report: CommunityImportReport) -> list[dict]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        missing = [name for name in ("code", "name") if name not in header]
        if missing:
            raise CommunityImportError(f"{path}: missing columns: {', '.join(missing)}")
        rows = []
        for fields in reader:
            if not fields:
                continue
            report.read += 1
            row = dict(zip(header, fields, strict=False))
            try:
                values = _clean(row.get("code"), row.get("name"), row.get("district_code"))
            except ValueError as error:
                report.rejected.append((reader.line_num, f"line {reader.line_num}: {error}"))
                continue
            rows.append((reader.line_num, values))
        return rows
    except csv.Error as error:
        raise CommunityImportError(
            f"{path}: line {reader.line_num}: not a CSV file ({error})"
        ) from None


@transaction.atomic
def communities_import(*, path: Path, encoding: str = "utf-8") -> CommunityImportReport:
    """Load community names (`.csv`) or names and outlines (`.geojson`).

    Keyed by code: loading the same file again changes nothing, and a CSV leaves the outlines
    a GeoJSON loaded. All or nothing: when any row or feature is rejected, the report lists
    each and nothing is written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".geojson", ".json"):
        raise CommunityImportError(f"{path}: expected a .csv or .geojson file")
    report = CommunityImportReport()
    text = _text(path, encoding)
    reader = _read_csv if suffix == ".csv" else _read_geojson
    rows = reader(text, path, report)
    seen: dict[str, int] = {}
    cleaned = []
    for number, values in rows:
        if values["code"] in seen:
            unit = "line" if suffix == ".csv" else "feature"
            report.rejected.append(
                (number, f"{unit} {number}: {values['code']} repeats {unit} {seen[values['code']]}")
            )
            continue
        seen[values["code"]] = number
        cleaned.append(values)
    if report.rejected:
        report.rejected.sort()
        return report
    existing = {c.code: c for c in Community.objects.select_for_update().filter(code__in=seen)}
    created, changed = [], []
    for values in cleaned:
        community = existing.get(values["code"])
        if community is None:
            created.append(Community(**values))
            continue
        if all(getattr(community, name) == value for name, value in values.items()):
            report.unchanged += 1
            continue
        for name, value in values.items():
            setattr(community, name, value)
        changed.append(community)
    Community.objects.bulk_create(created, batch_size=500)
    Community.objects.bulk_update(changed, ["name", "district_code", "shape"], batch_size=500)
    report.inserted, report.updated = len(created), len(changed)
    return report
