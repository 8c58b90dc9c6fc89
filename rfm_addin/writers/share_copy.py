"""A macro-free, formula-free copy of a results workbook, for readers without the add-in.

``share_copy("results.xlsm", "results (share).xlsx")`` (CLI: ``rfm-addin share``; ribbon:
"Share copy") writes a ``.xlsx`` in which every formula is replaced by the value Excel last
calculated and saved, so a reader on a phone, Excel on the web or a laptop without Python
sees numbers, not ``#NAME?``. Tables, charts, formatting, colour scales and pictures are
kept: the copy is made at the package level (the zip of XML parts), because openpyxl
drops charts when it loads a workbook.

What happens, part by part:

- worksheets: every ``<c>`` with an ``<f>`` keeps only its cached ``<v>``; a formula
  string (``t="str"``) becomes an inline string; cached errors stay error values. A
  formula with no saved value (a workbook written by a program and never calculated) is
  reported by sheet and cell, and **nothing is written**.
- tables: calculated-column and totals-row formulas are removed (the cells keep values).
- the "RFM Settings" and "xlwings.conf" sheets (and Excel 4 macro or dialog sheets) are
  removed with their tables, drawings and defined names; sheet-scoped names of the kept
  sheets are renumbered.
- the VBA project, the custom ribbon, the calculation chain and links to other
  workbooks are removed; the workbook becomes a plain ``.xlsx`` (content type).
- document properties: title, description with the as-of date, and this generator.

The input is only read; the copy is written atomically (:mod:`rfm_addin.writers.safe`).
"""
from __future__ import annotations

import datetime as dt
import os
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, unescape

from .._version import __version__
from ..sources.files import asks_full_calculation
from ..core.errors import RfmError
from .safe import atomic_write

#: Sheets that hold the add-in's settings, never shared.
REMOVED_SHEETS = ("RFM Settings", "xlwings.conf", "_xlwings.conf")
GENERATOR = f"rfm_addin {__version__}"

_ENTITIES = {"&apos;": "'", "&quot;": '"'}
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_REL = _REL_NS + "/"
_MAIN_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
_MAIN_TYPES = ("application/vnd.ms-excel.sheet.macroEnabled.main+xml",
               "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
               "application/vnd.ms-excel.template.macroEnabled.main+xml")
_VBA_TYPE = "application/vnd.ms-office.vbaProject"
#: Relationship types dropped from the workbook and package: (type ending, what the report says).
_DROPPED_RELS = {
    "vbaProject": "the VBA project (macros)",
    "calcChain": None,  # rebuilt by Excel; lists formula cells that are no longer formulas
    "externalLink": "links to other workbooks",
    "ui/extensibility": "the custom ribbon (RFM tab)",
}
_MAX_LISTED = 20


@dataclass
class ShareReport:
    """What :func:`share_copy` did."""

    path: str
    formulas: int = 0
    removed_sheets: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The report as lines for a terminal or a message box."""
        out = [f"Wrote {self.path}: {self.formulas:,} formula{'' if self.formulas == 1 else 's'} replaced by "
               "their saved values; no macros."]
        if self.removed_sheets:
            out.append("Sheets left out: " + ", ".join(self.removed_sheets) + ".")
        out += [f"Not carried over: {what}." for what in self.removed]
        out += self.notes
        return out


# --------------------------------------------------------------------------------------
# Small XML helpers (regular expressions keep every namespace prefix as it was)
# --------------------------------------------------------------------------------------
def _attr(tag: str, name: str) -> str | None:
    match = re.search(r'(?:^|\s)' + re.escape(name) + r'\s*=\s*"([^"]*)"', tag)
    if match is None:
        match = re.search(r"(?:^|\s)" + re.escape(name) + r"\s*=\s*'([^']*)'", tag)
    return None if match is None else unescape(match.group(1), _ENTITIES)


def _rid(tag: str) -> str | None:
    match = re.search(r'\s[\w.-]+:id\s*=\s*"([^"]*)"', tag)
    return None if match is None else match.group(1)


def _rels_path(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _resolve(source: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


@dataclass
class _Rel:
    id: str
    type: str
    target: str
    external: bool
    xml: str


def _relationships(text: str) -> list[_Rel]:
    rels = []
    for match in re.finditer(r"<(?:\w+:)?Relationship\b[^>]*?/>|<(?:\w+:)?Relationship\b[^>]*>.*?"
                             r"</(?:\w+:)?Relationship>", text, re.S):
        tag = match.group(0)
        rels.append(_Rel(_attr(tag, "Id") or "", _attr(tag, "Type") or "", _attr(tag, "Target") or "",
                         (_attr(tag, "TargetMode") or "") == "External", tag))
    return rels


# --------------------------------------------------------------------------------------
# Cells
# --------------------------------------------------------------------------------------
_CELL = re.compile(r"<(?P<p>(?:\w+:)?)c\b(?P<attrs>[^>]*?)(?:/>|>(?P<body>.*?)</(?P=p)c>)", re.S)
_FORMULA = re.compile(r"<(?P<p>(?:\w+:)?)f\b[^>]*?(?:/>|>.*?</(?P=p)f>)", re.S)
_VALUE = re.compile(r"<(?P<p>(?:\w+:)?)v\b[^>]*?(?:/>|>(?P<text>.*?)</(?P=p)v>)", re.S)


def values_only(sheet_xml: str) -> tuple[str, int, list[str]]:
    """Replace every formula cell of a worksheet part by its cached value.

    Returns
    -------
    (xml, formulas, missing)
        The new part, the number of formulas replaced and the cells (``A1`` references)
        whose formula has no saved value.
    """
    count = 0
    missing: list[str] = []

    def cell(match: re.Match) -> str:
        nonlocal count
        body = match.group("body")
        if not body or "f" not in body or _FORMULA.search(body) is None:
            return match.group(0)
        p, attrs = match.group("p"), match.group("attrs")
        kind = _attr(attrs, "t") or "n"
        value = _VALUE.search(body)
        text = None if value is None else (value.group("text") or "")
        count += 1
        if text is None or (text == "" and kind not in ("str", "inlineStr")):
            missing.append(_attr(attrs, "r") or "?")
            return match.group(0)
        rest = _VALUE.sub("", _FORMULA.sub("", body))  # other children (e.g. extLst) stay
        attrs = re.sub(r'\s(?:cm)\s*=\s*"[^"]*"', "", attrs)  # dynamic-array metadata of the formula
        if kind == "str":
            attrs = re.sub(r'\st\s*=\s*"[^"]*"', "", attrs) + ' t="inlineStr"'
            return f'<{p}c{attrs}><{p}is><{p}t xml:space="preserve">{text}</{p}t></{p}is>{rest}</{p}c>'
        return f"<{p}c{attrs}><{p}v>{text}</{p}v>{rest}</{p}c>"

    return _CELL.sub(cell, sheet_xml), count, missing


def _table_without_formulas(xml: str) -> str:
    xml = re.sub(r"<(\w+:)?(calculatedColumnFormula|totalsRowFormula)\b[^>]*?(?:/>|>.*?</\1?\2>)", "", xml,
                 flags=re.S)
    return re.sub(r'\stotalsRowFunction\s*=\s*"[^"]*"', "", xml)


# --------------------------------------------------------------------------------------
# The copy
# --------------------------------------------------------------------------------------
def _find_as_of(parts: dict[str, bytes]) -> str | None:
    core = parts.get("docProps/core.xml", b"").decode("utf-8", "replace")
    match = re.search(r"as of (\d{4}-\d{2}-\d{2})", core)
    return match.group(1) if match else None


def _core_xml(old: str | None, title: str, description: str) -> str:
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if not old:
        old = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
               'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
               'xmlns:dcmitype="http://purl.org/dc/dcmitype/" '
               'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"></cp:coreProperties>')
    for ns, local, value in (("dc", "title", title), ("dc", "description", description),
                             ("cp", "lastModifiedBy", GENERATOR)):
        pattern = re.compile(rf"<{ns}:{local}\b[^>]*?(?:/>|>.*?</{ns}:{local}>)", re.S)
        element = f"<{ns}:{local}>{escape(value)}</{ns}:{local}>"
        if pattern.search(old):
            old = pattern.sub(lambda m: element, old, count=1)
        else:
            old = re.sub(r"(</(?:\w+:)?coreProperties>)", lambda m: element + m.group(1), old, count=1)
    modified = f'<dcterms:modified xsi:type="dcterms:W3CDTF">{now}</dcterms:modified>'
    pattern = re.compile(r"<dcterms:modified\b[^>]*?(?:/>|>.*?</dcterms:modified>)", re.S)
    if pattern.search(old):
        old = pattern.sub(lambda m: modified, old, count=1)
    return old


def _app_xml() -> str:
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
            'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
            f"<Application>{escape(GENERATOR)}</Application><DocSecurity>0</DocSecurity></Properties>")


def _refers_to(text: str, sheets: list[str], tables: list[str]) -> bool:
    text = unescape(text, _ENTITIES).casefold()
    for name in sheets:
        quoted = "'" + name.replace("'", "''") + "'!"
        if quoted.casefold() in text or re.search(r"(?<![\w.'])" + re.escape(name.casefold()) + "!", text):
            return True
    return any(re.search(r"(?<![\w.])" + re.escape(t.casefold()) + r"\[", text) for t in tables)


def share_copy(source: str | os.PathLike, target: str | os.PathLike, title: str | None = None,
               as_of: str | None = None) -> ShareReport:
    """Write a macro-free ``.xlsx`` copy of ``source`` holding values instead of formulas.

    Parameters
    ----------
    source : path
        A ``.xlsx`` or ``.xlsm`` workbook saved by Excel (so formulas have saved values).
    target : path
        The ``.xlsx`` to write (not the source).
    title : str, optional
        Document title; default "RFM results as of <as-of date>" or the file name.
    as_of : str, optional
        The as-of date for the document properties; default read from the source's
        document properties (written by the add-in).

    Returns
    -------
    ShareReport

    Raises
    ------
    RfmError
        The source is not a workbook, the target is not a ``.xlsx`` or is the source, or
        some formulas have no saved value (listed by sheet and cell; nothing is written).
    """
    source, target = Path(source), Path(target)
    if target.suffix.lower() != ".xlsx":
        raise RfmError(f"The share copy is a macro-free .xlsx file: name it like {target.stem}.xlsx.")
    report = ShareReport(path=str(target))
    package = open_package(source)
    sheets = choose_sheets(package, report)
    rewrite_workbook(package, sheets, report)
    said = drop_relationships(package, sheets, report)
    keep = reachable_parts(package)
    values_only_sheets(package, sheets, report, said)
    rewrite_content_types(package, keep)
    set_properties(package, title, as_of)
    write_package(package, keep, target)
    return report


@dataclass
class Package:
    """The parts of a workbook being turned into its share copy (stage 1, :func:`open_package`)."""

    source: Path
    order: list[str]
    parts: dict[str, bytes]
    text: dict[str, str]
    workbook: str
    root_rels: list
    wb_rels_path: str
    wb_rels: list
    by_id: dict


@dataclass
class SheetChoice:
    """Which sheets leave the copy and which stay (stage 2, :func:`choose_sheets`)."""

    tags: list[str]
    removed_names: list[str]
    removed_index: set[int]
    kept: list[tuple[str, object]]
    new_index: dict[int, int]
    removed_tables: list[str]


def open_package(source: Path) -> Package:
    """Stage 1: read the workbook's parts (errors when it is not a workbook)."""
    if not source.is_file():
        raise RfmError(f"{str(source)!r} does not exist.")
    try:
        with zipfile.ZipFile(source) as archive:
            order = [i.filename for i in archive.infolist() if not i.is_dir()]
            parts = {name: archive.read(name) for name in order}
    except (zipfile.BadZipFile, OSError) as exc:
        raise RfmError(f"{str(source)!r} is not an Excel workbook (.xlsx or .xlsm): {exc}.") from exc
    if "[Content_Types].xml" not in parts:
        raise RfmError(f"{str(source)!r} is not an Excel workbook (.xlsx or .xlsm).")
    text = {name: data.decode("utf-8") for name, data in parts.items() if name.endswith((".xml", ".rels"))}
    root_rels = _relationships(text.get("_rels/.rels", ""))
    workbook = next((_resolve("", r.target) for r in root_rels if r.type.endswith("/officeDocument")), None)
    if workbook is None or workbook not in text:
        raise RfmError(f"{str(source)!r} is not an Excel workbook (no workbook part).")
    wb_rels_path = _rels_path(workbook)
    wb_rels = _relationships(text.get(wb_rels_path, ""))
    return Package(source, order, parts, text, workbook, root_rels, wb_rels_path, wb_rels, {r.id: r for r in wb_rels})


def choose_sheets(package: Package, report: ShareReport) -> SheetChoice:
    """Stage 2: the settings sheets, macro sheets and dialog sheets leave; the rest keep their order."""
    text, by_id = package.text, package.by_id
    wb_xml = text[package.workbook]
    tags = re.findall(r"<(?:\w+:)?sheet\b[^>]*?/>", re.search(r"<(?:\w+:)?sheets\b.*?</(?:\w+:)?sheets>",
                                                             wb_xml, re.S).group(0))
    removed_names, removed_index, kept, new_index = [], set(), [], {}
    for i, tag in enumerate(tags):
        name = _attr(tag, "name") or ""
        rel = by_id.get(_rid(tag) or "")
        kind = rel.type.rsplit("/", 1)[-1] if rel else ""
        if name.casefold() in {s.casefold() for s in REMOVED_SHEETS} or kind in ("macrosheet", "dialogsheet"):
            removed_names.append(name)
            removed_index.add(i)
            if kind in ("macrosheet", "dialogsheet"):
                report.removed.append(f"the {kind.replace('sheet', ' sheet')} {name!r}")
        else:
            new_index[i] = len(kept)
            kept.append((name, rel))
    if not kept:
        raise RfmError(f"{str(package.source)!r} has no sheet to share once the settings sheets are left out.")
    report.removed_sheets = removed_names
    # Tables on removed sheets (defined names may refer to them).
    removed_tables = []
    for i in removed_index:
        rel = by_id.get(_rid(tags[i]) or "")
        if rel is None:
            continue
        part = _resolve(package.workbook, rel.target)
        for r in _relationships(text.get(_rels_path(part), "")):
            table_part = _resolve(part, r.target)
            if r.type.endswith("/table") and table_part in text:
                head = re.search(r"<(?:\w+:)?table\b[^>]*>", text[table_part])
                if head:
                    removed_tables += [n for n in (_attr(head.group(0), "name"),
                                                   _attr(head.group(0), "displayName")) if n]
    return SheetChoice(tags, removed_names, removed_index, kept, new_index, removed_tables)


def rewrite_workbook(package: Package, sheets: SheetChoice, report: ShareReport) -> None:
    """Stage 3: workbook.xml without the removed sheets, the defined names that refer to them or to
    other workbooks, and external references; sheet-scoped names and the active tab renumbered."""
    wb_xml = package.text[package.workbook]
    for i in sorted(sheets.removed_index, reverse=True):
        wb_xml = wb_xml.replace(sheets.tags[i], "", 1)
    dropped_names = []

    def defined_name(match: re.Match) -> str:
        tag, body = match.group(1), match.group(2)
        name = _attr(tag, "name") or ""
        local = _attr(tag, "localSheetId")
        if local is not None and local.isdigit():
            if int(local) in sheets.removed_index:
                return ""
            tag = re.sub(r'localSheetId\s*=\s*"\d+"', f'localSheetId="{sheets.new_index[int(local)]}"', tag)
        if _refers_to(body, sheets.removed_names, sheets.removed_tables):
            if not name.startswith("_xlnm."):
                dropped_names.append(name)
            return ""
        if "[" in body and re.search(r"\[\d+\]", body):  # a reference to another workbook
            dropped_names.append(name)
            return ""
        return tag + body + match.group(3)

    wb_xml = re.sub(r"(<(?:\w+:)?definedName\b[^>]*>)(.*?)(</(?:\w+:)?definedName>)", defined_name, wb_xml,
                    flags=re.S)
    wb_xml = re.sub(r"<(?:\w+:)?definedNames>\s*</(?:\w+:)?definedNames>", "", wb_xml)
    if dropped_names:
        report.notes.append("Defined names removed (they referred to left-out sheets or other workbooks): "
                            + ", ".join(dropped_names) + ".")
    wb_xml = re.sub(r"<(\w+:)?externalReferences\b.*?</\1?externalReferences>", "", wb_xml, flags=re.S)
    active = re.search(r'activeTab\s*=\s*"(\d+)"', wb_xml)
    if active:
        new_active = sheets.new_index.get(int(active.group(1)), 0)
        wb_xml = wb_xml.replace(active.group(0), f'activeTab="{new_active}"')
    wb_xml = re.sub(r'firstSheet\s*=\s*"\d+"', 'firstSheet="0"', wb_xml)
    package.text[package.workbook] = wb_xml


def drop_relationships(package: Package, sheets: SheetChoice, report: ShareReport) -> set[str]:
    """Stage 4: the relationships to removed sheets, macros and other left-out parts go (each kind
    said once in the report); returns what was said."""
    text = package.text

    def drop_rels(path: str, rels: list, drop) -> None:
        xml = text.get(path)
        if xml is None:
            return
        for rel in rels:
            if drop(rel):
                xml = xml.replace(rel.xml, "", 1)
        text[path] = xml

    removed_rids = {_rid(sheets.tags[i]) for i in sheets.removed_index}
    said: set[str] = set()

    def dropped(rel) -> bool:
        for ending, what in _DROPPED_RELS.items():
            if rel.type.endswith("/" + ending):
                if what and what not in said:
                    said.add(what)
                    report.removed.append(what)
                return True
        return False

    drop_rels(package.wb_rels_path, package.wb_rels, lambda rel: rel.id in removed_rids or dropped(rel))
    drop_rels("_rels/.rels", package.root_rels, dropped)  # (its ids are not the workbook's)
    return said


def reachable_parts(package: Package) -> set[str]:
    """Stage 5: the parts still reachable from the package's relationships (the others are left out)."""
    text, parts = package.text, package.parts
    reachable, todo = set(), ["_rels/.rels"]
    while todo:
        rels_part = todo.pop()
        owner = posixpath.join(posixpath.dirname(posixpath.dirname(rels_part)),
                               posixpath.basename(rels_part)[:-len(".rels")])
        for rel in _relationships(text.get(rels_part, "")):
            if rel.external:
                continue
            part = _resolve(owner if rels_part != "_rels/.rels" else "", rel.target)
            if part in parts and part not in reachable:
                reachable.add(part)
                if _rels_path(part) in parts:
                    todo.append(_rels_path(part))
    return {"[Content_Types].xml", "_rels/.rels"} | reachable | {_rels_path(p) for p in reachable
                                                                 if _rels_path(p) in parts}


def values_only_sheets(package: Package, sheets: SheetChoice, report: ShareReport, said: set[str]) -> None:
    """Stage 6: kept worksheets and tables hold values instead of formulas; a formula without a saved
    value (or a workbook never calculated) is an error listing the cells, and nothing is written."""
    text, workbook = package.text, package.workbook
    missing: list[str] = []
    for name, rel in sheets.kept:
        if rel is None or not rel.type.endswith("/worksheet"):
            continue
        part = _resolve(workbook, rel.target)
        if part not in text:
            continue
        xml, count, cells = values_only(text[part])
        text[part] = xml
        report.formulas += count
        missing += [f"{name}!{cell}" for cell in cells]
        for r in _relationships(text.get(_rels_path(part), "")):
            target_part = _resolve(part, r.target)
            if r.type.endswith("/table") and target_part in text:
                text[target_part] = _table_without_formulas(text[target_part])
            if r.type.endswith(("/control", "/ctrlProp")) and "controls" not in said:
                said.add("controls")
                report.notes.append(f"Controls (buttons, check boxes) on {name!r} are kept but run no macros.")
    if report.formulas and asks_full_calculation(text.get(workbook, "")):
        raise RfmError(f"{package.source.name} was written by a program and its formulas were never calculated (it "
                       "asks Excel to calculate everything when opened), so their saved values would be wrong. Open "
                       "it in Excel, let it calculate and save it, then make the share copy again.")
    if missing:
        listed = ", ".join(missing[:_MAX_LISTED])
        more = f" and {len(missing) - _MAX_LISTED:,} more" if len(missing) > _MAX_LISTED else ""
        raise RfmError(f"{len(missing):,} formula{'s have' if len(missing) > 1 else ' has'} no saved value, so the "
                       f"share copy was not written: {listed}{more}. Open the workbook in Excel, let it calculate "
                       "and save it (or convert it with LibreOffice), then make the copy again.")


def rewrite_content_types(package: Package, keep: set[str]) -> None:
    """Stage 7: content types of the kept parts only; the workbook becomes a macro-free .xlsx."""
    def override(match: re.Match) -> str:
        tag = match.group(0)
        part = (_attr(tag, "PartName") or "").lstrip("/")
        if part not in keep:
            return ""
        if part == package.workbook:
            for old in _MAIN_TYPES:
                tag = tag.replace(old, _MAIN_XLSX)
        return tag

    ct = re.sub(r"<(?:\w+:)?Override\b[^>]*?/>", override, package.text["[Content_Types].xml"])
    ct = re.sub(r"<(?:\w+:)?Default\b[^>]*?/>", lambda m: "" if _VBA_TYPE in m.group(0) else m.group(0), ct)
    package.text["[Content_Types].xml"] = ct


def set_properties(package: Package, title: str | None, as_of: str | None) -> None:
    """Stage 8: the document title and description say what the copy is."""
    text, source = package.text, package.source
    as_of = as_of or _find_as_of(package.parts)
    title = title or (f"RFM results as of {as_of}" if as_of else source.stem)
    description = (f"As of {as_of}. " if as_of else "") + (
        f"Share copy of {source.name}: values only (no formulas), no macros; made by {GENERATOR}.")
    core_part = next((_resolve("", r.target) for r in _relationships(text["_rels/.rels"])
                      if r.type.endswith("/core-properties")), None)
    if core_part is not None:
        text[core_part] = _core_xml(text.get(core_part), title, description)
    app_part = next((_resolve("", r.target) for r in _relationships(text["_rels/.rels"])
                     if r.type.endswith("/extended-properties")), None)
    if app_part is not None:
        text[app_part] = _app_xml()


def write_package(package: Package, keep: set[str], target: Path) -> None:
    """Stage 9: the kept parts, in their order, written atomically (never over the source)."""
    def write(temp: str) -> None:
        with zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as out:
            names = ["[Content_Types].xml"] + [n for n in package.order if n != "[Content_Types].xml"]
            for name in names:
                if name not in keep:
                    continue
                data = package.text[name].encode("utf-8") if name in package.text else package.parts[name]
                out.writestr(name, data)

    atomic_write(target, write, inputs=(package.source,))
