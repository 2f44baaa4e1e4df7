"""The compiled baseline of bench/allocation.py: plain student-proposing deferred acceptance
in C (bench/_da_baseline.c), built with `cc -O2` into a temporary directory at run time.

The schools' priorities are computed here from DOMAIN.md's rules, independently of
`enrollment.allocation`'s own preparation: the published lottery (`lottery_numbers`), the
global order of `sort_key`, and per school the tiers (a place held from an earlier round, then
home in the catchment, then everyone else). A pair's rank is `tier * n + global position`, the
same integers `allocate()` compares. They go to the C program untimed, as one binary file of
native 32-bit integers (the program runs on the same machine); the program times its own
solve with clock_gettime and reports it.
"""

import json
import shutil
import subprocess
import tempfile
from array import array
from pathlib import Path

from enrollment.allocation import lottery_numbers
from enrollment.policy.engine import sort_key

SOURCE = Path(__file__).resolve().parent / "_da_baseline.c"
TIER_HELD, TIER_CATCHMENT, TIER_OTHER = 0, 1, 2


class CompiledBaseline:
    """One compiled program and one input file per population; `run()` solves it once."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="bench_da_"))
        self.program = self.directory / "da"
        compiler = shutil.which("cc") or shutil.which("gcc")
        if compiler is None:
            raise SystemExit("the compiled baseline needs a C compiler (cc or gcc)")
        subprocess.run(
            [compiler, "-O2", "-o", str(self.program), str(SOURCE)],
            check=True,
            capture_output=True,
        )
        self.compiler = subprocess.run(
            [compiler, "--version"], check=True, capture_output=True, text=True
        ).stdout.splitlines()[0]
        self.input = self.directory / "input.bin"
        self.output = self.directory / "placement.bin"
        self.keys: list[str] = []
        self.codes: list[str] = []
        self.offsets = self.school_of = self.rank_of = self.capacity = array("i")

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def prepare(self, people, schools, seed: int) -> None:
        """Writes the population's capacities, preference lists and ranks (untimed)."""
        n = len(people)
        if 3 * n >= 2**31:
            raise ValueError("ranks must fit in 32 bits")
        self.keys = [a.key for a in people]
        self.codes = [school.code for school in schools]
        school_index = {code: s for s, code in enumerate(self.codes)}
        lottery = lottery_numbers(self.keys, seed)
        order = sorted(
            range(n),
            key=lambda i: sort_key(
                people[i].total_points,
                people[i].hukou_class,
                people[i].housing_class,
                people[i].residence_months,
                people[i].si_months,
                lottery[self.keys[i]],
            ),
        )
        position = [0] * n
        for place, i in enumerate(order):
            position[i] = place
        offsets, school_of, rank_of = array("i", [0]), array("i"), array("i")
        for i, a in enumerate(people):
            for code in a.preferences:
                s = school_index[code]
                if a.held_school == code:
                    tier = TIER_HELD
                elif a.home_community in schools[s].catchment:
                    tier = TIER_CATCHMENT
                else:
                    tier = TIER_OTHER
                school_of.append(s)
                rank_of.append(tier * n + position[i])
            offsets.append(len(school_of))
        capacity = array("i", (max(int(school.capacity), 0) for school in schools))
        header = array("i", [n, len(schools), len(school_of)])
        self.offsets, self.school_of, self.rank_of, self.capacity = (
            offsets,
            school_of,
            rank_of,
            capacity,
        )
        with self.input.open("wb") as file:
            for part in (header, capacity, offsets, school_of, rank_of):
                part.tofile(file)

    def run(self) -> dict:
        """Solves once; the program's own figures (`solve_seconds`, `solve_cpu_seconds`,
        `proposals`, `rounds`, `process_cpu_seconds`) and the placement as school indices."""
        self.output.unlink(missing_ok=True)
        done = subprocess.run(
            [str(self.program), str(self.input), str(self.output)],
            check=True,
            capture_output=True,
            text=True,
        )
        figures = json.loads(done.stdout)
        placement = array("i")
        with self.output.open("rb") as file:
            placement.fromfile(file, len(self.keys))
        figures["placement"] = placement
        return figures

    def placement(self, indices) -> dict[str, str | None]:
        """Every applicant's school code (None when not placed), as `Allocation.placement`."""
        codes = self.codes
        return {
            key: codes[s] if s >= 0 else None for key, s in zip(self.keys, indices, strict=True)
        }
