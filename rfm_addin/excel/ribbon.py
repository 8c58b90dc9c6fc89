"""The ribbon's buttons, described once: the customUI of the template (:mod:`rfm_addin.build.template`)
and the dispatch of :func:`rfm_addin.excel.macros.ribbon` both read this table.

Importing it imports nothing else (no xlwings): the template is built from it without Excel.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Button:
    """One ribbon button.

    Attributes
    ----------
    id : str
        The control id, passed to :func:`rfm_addin.excel.macros.ribbon`.
    label, image, screentip, supertip : str
        What the ribbon shows (``image`` is an Office ``imageMso`` name).
    target : str or None
        The action it runs, "module:function" (declared with :func:`rfm_addin.excel.actions.action`);
        None for a button the VBA module handles itself ("import").
    feature : str
        The name messages give the feature.
    """

    id: str
    label: str
    image: str
    screentip: str
    supertip: str
    target: str | None
    feature: str


#: The ribbon's groups in order: (group id, group label, buttons).
GROUPS: tuple[tuple[str, str, tuple[Button, ...]], ...] = (
    ("rfmGroupAnalysis", "Analysis", (
        Button("analyze", "Analyze sheet", "PivotTableInsert", "Analyze the transactions on this sheet",
               "RFM scores, segments and clusters of the active sheet's transactions, written to new RFM sheets.",
               "rfm_addin.excel.macros:analyze_sheet", "Analyze"),
        Button("cluster", "Cluster sheet", "ChartTypeXYScatterInsertGallery", "Cluster a customer table",
               "K-Means clusters of a sheet that already has one row per customer.",
               "rfm_addin.excel.macros:cluster_sheet", "Cluster"),
        Button("compare", "Compare periods", "ChartTypeLineInsertGallery", "Who moved between segments",
               "Segment migration of the active sheet's transactions between the two dates on the RFM Settings "
               "sheet (Compare from, Compare to), with the revenue at stake.", "rfm_addin.excel.compare:compare_periods",
               "Compare periods"),
        Button("clvcheck", "CLV check", "ChartTypeColumnInsertGallery", "Check the lifetime value models",
               "Fits the CLV models on the transactions up to 'CLV check from' on the RFM Settings sheet and compares "
               "their predictions with what customers did after it.", "rfm_addin.excel.clv:check_clv", "CLV check"),
        Button("plantest", "Plan test", "WhatIfAnalysisMenu", "Plan a campaign test",
               "For the segments on the RFM Settings sheet (Test segments, Test lift, Test holdout): the customers "
               "there are, their baseline from history, the customers a test needs, and the arms.",
               "rfm_addin.excel.plan:plan_test", "Plan test"),
        Button("comparegroups", "Compare groups", "ChartTypeComboInsertGallery", "Compare two groups on every column",
               "Compares groups A and B of the 'Compare groups by' column of the active sheet (set on the RFM Settings "
               "sheet) on every column: the largest differences, in numbers and words. With a Usage events sheet set, "
               "it also plans a retention test for the weaker group.",
               "rfm_addin.excel.usage:compare_groups_sheet", "Compare groups"),
    )),
    ("rfmGroupData", "Data", (
        Button("load", "Load from database", "GetExternalDataFromOtherSources", "Load transactions from a database",
               "Customers aggregated by the database connection named on the RFM Settings sheet, then the "
               "analysis as after Analyze.", "rfm_addin.excel.load:load_data",
               "Load data"),
        Button("usage", "Build usage table", "TableInsertExcel", "Users of a subscription product",
               "From the event log (and payments) sheets named on the RFM Settings sheet: one row per user with days "
               "since last activity, weekly sessions, MRR, tenure and adoption; the Cluster button reads it.",
               "rfm_addin.excel.usage:build_usage_table", "Build usage table"),
        Button("share", "Share copy", "FileSendAsAttachment", "Save a copy to share",
               "Saves a copy of the results without macros or formulas, ready to send.",
               "rfm_addin.excel.share:share_workbook", "Share copy"),
    )),
    ("rfmGroupAddin", "Add-in", (
        Button("settings", "Settings", "PropertySheet", "Create or reset the RFM Settings sheet",
               "The analysis settings (as-of date, bins, weights, clusters, column names) on the RFM Settings "
               "sheet.", "rfm_addin.excel.macros:reset_settings", "Settings"),
        Button("import", "Import functions", "FunctionWizard", "Make the RFM worksheet functions available",
               "Imports RFM_TABLE, RFM_SCORE, RFM_SEGMENT and the other worksheet functions (needs trusted access "
               "to the VBA project object model).", None, "Import functions"),
        Button("help", "Help", "Help", "How to use the RFM add-in", "Opens the Start here sheet.",
               "rfm_addin.excel.macros:show_help", "Help"),
    )),
)

#: Every button by id, in ribbon order.
BUTTONS: dict[str, Button] = {button.id: button for _, _, buttons in GROUPS for button in buttons}
