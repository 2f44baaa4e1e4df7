"""Shared pieces of the product's file exports.

The formula guard lives in the shared kernel (registry.interchange), which the registry's
downloads use too: one rule for every file the product hands to a spreadsheet.
"""

from registry.interchange import FORMULA_LEAD, FORMULA_START, safe_cell

__all__ = ["FORMULA_LEAD", "FORMULA_START", "safe_cell"]
