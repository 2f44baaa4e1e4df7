"""The `matching` package (1.4.3) as a baseline of bench/allocation.py: HospitalResident,
resident-optimal, i.e. student-proposing deferred acceptance.

Each school's list of the applicants who ranked it is handed over already sorted by the same
ranks the compiled baseline gets (built untimed), so only the game's construction (which
deep-copies the players and runs `check_inputs`) and its solve are timed. The time spent in
`check_inputs` is measured on its own, by wrapping the method, so that its share can be shown.
"""

import sys
import threading
import time

STACK_BYTES = 1024 * 1024 * 1024


def available() -> str | None:
    """matching's version, or None when it is not installed."""
    try:
        from importlib.metadata import PackageNotFoundError, version

        import matching  # noqa: F401
    except ImportError:
        return None
    try:
        return version("matching")
    except PackageNotFoundError:
        return "unknown"


class MatchingBaseline:
    def __init__(self, compiled) -> None:
        """Preferences from a prepared `CompiledBaseline` (its keys, codes, pairs and ranks)."""
        keys, codes = compiled.keys, compiled.codes
        offsets, school_of, rank_of = compiled.offsets, compiled.school_of, compiled.rank_of
        self.keys = keys
        self.resident_prefs = {}
        ranked: list[list[tuple[int, str]]] = [[] for _ in codes]
        for i, key in enumerate(keys):
            start, end = offsets[i], offsets[i + 1]
            if start == end:
                continue
            self.resident_prefs[key] = [codes[s] for s in school_of[start:end]]
            for k in range(start, end):
                ranked[school_of[k]].append((rank_of[k], key))
        self.hospital_prefs = {
            code: [key for _, key in sorted(ranked[s])] for s, code in enumerate(codes)
        }
        self.capacities = dict(zip(codes, compiled.capacity, strict=True))
        self.check_inputs_seconds = 0.0
        self.last_game = None

    def run(self) -> dict:
        """Builds and solves one game; returns the placement and the seconds spent in
        `check_inputs` during this call. matching copies its players deeply (recursively), which
        needs a deep stack: the game runs in a thread with a 1 GB stack."""
        from matching.games import HospitalResident

        outcome: dict = {}
        checked = [0.0]
        unwrapped = HospitalResident.check_inputs

        def timed_check(game):
            started = time.perf_counter()
            try:
                return unwrapped(game)
            finally:
                checked[0] += time.perf_counter() - started

        def target():
            game = HospitalResident.create_from_dictionaries(
                self.resident_prefs, self.hospital_prefs, self.capacities
            )
            outcome["solved"] = game.solve(optimal="resident")
            outcome["game"] = game

        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(1_000_000)
        HospitalResident.check_inputs = timed_check
        threading.stack_size(STACK_BYTES)
        try:
            worker = threading.Thread(target=target)
            worker.start()
            worker.join()
        finally:
            threading.stack_size(0)
            HospitalResident.check_inputs = unwrapped
            sys.setrecursionlimit(limit)
        if "solved" not in outcome:
            raise RuntimeError("matching's game did not finish")
        placement = dict.fromkeys(self.keys)
        for hospital, residents in outcome["solved"].items():
            for resident in residents:
                placement[resident.name] = hospital.name
        # kept until `release()`, so that it is freed between the timed calls, not in one
        self.last_game = outcome["game"]
        return {"placement": placement, "check_inputs_seconds": checked[0]}

    def release(self) -> None:
        self.last_game = None
