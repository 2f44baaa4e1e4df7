"""`manage.py import_communities FILE`: names from a .csv, names and outlines from a
.geojson; keyed by code, all or nothing."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from enrollment.models import Community

pytestmark = pytest.mark.django_db

SQUARE = [[113.1, 23.0], [113.11, 23.0], [113.11, 23.01], [113.1, 23.01], [113.1, 23.0]]


def feature(code, name, coordinates=None, kind="Polygon", **extra):
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, **extra},
        "geometry": {"type": kind, "coordinates": coordinates or [SQUARE]},
    }


def write_geojson(path, *features):
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": list(features)}, ensure_ascii=False),
        encoding="utf-8",
    )
    return path


def run(path) -> str:
    out = io.StringIO()
    call_command("import_communities", str(path), stdout=out)
    return out.getvalue()


def test_names_and_outlines_load_and_loading_again_changes_nothing(tmp_path):
    Community.objects.create(code="440604010001", district_code="440604")
    path = write_geojson(
        tmp_path / "communities.geojson",
        feature("440604010001", "祖庙街道岭南社区"),
        feature("440604010002", "祖庙街道同济社区", [[SQUARE]], kind="MultiPolygon"),
    )

    first = run(path)
    second = run(path)

    assert first == "communities.geojson: read 2, inserted 1, updated 1, unchanged 0, rejected 0\n"
    assert second == "communities.geojson: read 2, inserted 0, updated 0, unchanged 2, rejected 0\n"
    assert list(Community.objects.order_by("code").values_list("code", "name", "shape")) == [
        ("440604010001", "祖庙街道岭南社区", {"type": "Polygon", "coordinates": [SQUARE]}),
        ("440604010002", "祖庙街道同济社区", {"type": "MultiPolygon", "coordinates": [[SQUARE]]}),
    ]


def test_a_csv_renames_and_keeps_the_outlines(tmp_path):
    run(write_geojson(tmp_path / "c.geojson", feature("440604010001", "旧名")))
    path = tmp_path / "communities.csv"
    path.write_text(
        "\ufeffcode,name,district_code\r\n440604010001,祖庙街道岭南社区,440604\r\n",
        encoding="utf-8",
    )

    assert run(path) == (
        "communities.csv: read 1, inserted 0, updated 1, unchanged 0, rejected 0\n"
    )
    community = Community.objects.get()
    assert (community.name, community.shape["type"]) == ("祖庙街道岭南社区", "Polygon")


def test_a_gbk_csv_loads_with_its_encoding(tmp_path):
    path = tmp_path / "communities.csv"
    path.write_bytes("code,name\n440604010001,祖庙街道岭南社区\n".encode("gbk"))

    call_command("import_communities", str(path), "--encoding", "gbk", stdout=io.StringIO())

    assert Community.objects.get().name == "祖庙街道岭南社区"


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (
            feature("440605", "短"),
            "feature 2: code must be a 12-digit community code of the city (4406...)",
        ),
        (
            feature("445202010001", "外市"),
            "feature 2: code must be a 12-digit community code of the city (4406...)",
        ),
        (feature("440604010002", ""), "feature 2: name is required (at most 128 characters)"),
        (
            feature("440604010002", "错区", district_code="440605"),
            "feature 2: district_code 440605 is not the district of community 440604010002",
        ),
        (
            feature("440604010002", "点", [113.1, 23.0], kind="Point"),
            "feature 2: geometry must be a Polygon or a MultiPolygon",
        ),
        (feature("440604010002", "开口", [SQUARE[:-1]]), "feature 2: a ring ends where it starts"),
        (
            feature("440604010002", "反了", [[[23.0, 213.1], *SQUARE[1:]]]),
            "feature 2: a position is [longitude, latitude] in degrees",
        ),
        (feature("440604010001", "重复"), "feature 2: 440604010001 repeats feature 1"),
    ],
)
def test_one_bad_feature_rejects_the_file_and_writes_nothing(tmp_path, bad, reason):
    path = write_geojson(tmp_path / "c.geojson", feature("440604010001", "岭南社区"), bad)

    out = io.StringIO()

    with pytest.raises(CommandError, match="c.geojson: 1 rejected; nothing was written"):
        call_command("import_communities", str(path), stdout=out)

    assert out.getvalue().splitlines()[1:] == [f"  {reason}"]
    assert Community.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("c.geojson", "{not json", "not a GeoJSON file"),
        ("c.geojson", '{"type": "Feature"}', "not a GeoJSON FeatureCollection"),
        ("c.csv", "code,district_code\n", "missing columns: name"),
        ("c.txt", "", "expected a .csv or .geojson file"),
    ],
)
def test_an_unreadable_file_is_refused_in_one_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")

    with pytest.raises(CommandError, match=message):
        call_command("import_communities", str(path), stdout=io.StringIO())

    assert Community.objects.count() == 0
