"""Worksheet-function arguments read at the cost of the used rows, not of the reference.

On desktop Excel, ``xlwings.udfs.call_udf`` converts a range argument with
``conversion.read(Range, None, options)``; xlwings' default accessor then reads the whole
``Range.Value``, so ``=RFM_SCORE(B:B, C:C, D:D)`` moves 1,048,576 rows of each argument
through COM on every recalculation (xlwings issues #397 and #674). The accessor
registered here as ``"rfm_used"`` is xlwings' ``ValueAccessor`` reader with one stage in
front of the read: a reference that reaches below the sheet's used range is cut at the
used range's last row (a handful of COM calls). Values that arrive as values (array
constants, the results of other functions such as ``FILTER``) have no range and are
converted exactly as by the default accessor.

Only the reading side exists: the worksheet functions return plain lists.
"""
from __future__ import annotations

from typing import Any

from xlwings.conversion import Accessor, Pipeline
from xlwings.conversion.standard import (
    AdjustDimensionsStage,
    BaseAccessor,
    CleanDataFromReadStage,
    Ensure2DStage,
    ReadValueFromRangeStage,
)

#: The ``convert`` option of the worksheet functions' column arguments.
CONVERT = "rfm_used"


def used_part(rng: Any) -> Any:
    """``rng`` cut at the last row of its sheet's used range (at least one row)."""
    used = rng.sheet.used_range
    last_used = used.row + used.shape[0] - 1
    rows, columns = rng.shape
    if rng.row + rows - 1 <= last_used:
        return rng
    return rng.resize(max(1, last_used - rng.row + 1), columns)


def _trim(ctx: Any) -> None:
    if ctx.range is not None:
        ctx.range = used_part(ctx.range)


class UsedRowsAccessor(Accessor):
    """xlwings' value reader, reading only the used rows of a range argument."""

    @staticmethod
    def reader(options: dict) -> Pipeline:
        return (
            BaseAccessor.reader(options)
            .append_stage(_trim)
            .append_stage(ReadValueFromRangeStage(options))
            .append_stage(Ensure2DStage())
            .append_stage(CleanDataFromReadStage(options))
            .append_stage(AdjustDimensionsStage(options))
        )


UsedRowsAccessor.register(CONVERT)
