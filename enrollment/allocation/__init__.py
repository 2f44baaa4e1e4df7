"""Allocation of places: plain data in, plain data out, no database (see `deferred_acceptance`)."""

from enrollment.allocation.deferred_acceptance import (
    Allocation,
    Applicant,
    School,
    allocate,
    lottery_numbers,
)

__all__ = [
    "Allocation",
    "Applicant",
    "School",
    "allocate",
    "lottery_numbers",
]
