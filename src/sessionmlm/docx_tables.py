"""An ApaTable as a Word document (python-docx), laid out as APA style (7th ed., 7.8-7.21).

The table number in bold, the title in italic title case below it; horizontal rules only (above
the header, below the header, below the last row); panel headings (Random effects) in italics
across the table; the note below, starting with "Note." in italics. The file is the same bytes
for the same table: the zip entries carry a fixed date, not the time of the run.
"""

from __future__ import annotations

import io
import os
import re
import zipfile

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Pt

from sessionmlm import atomic
from sessionmlm.manuscript import ApaTable

FONT = "Times New Roman"
RULE = {"val": "single", "sz": "8", "space": "0", "color": "000000"}  # sz: eighths of a point
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry holds
# Statistical symbols APA sets in italics (abbreviations such as OR, CI, ICC stay upright).
SYMBOLS = re.compile(r"(?<![\w\[])(p|pd|n|N|M|SD|Mdn)(?![\w\]])")


# Word refuses a file whose elements are out of the schema's order: borders go before these.
AFTER_BORDERS = {
    "w:tblBorders": ("w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook", "w:tblCaption",
                     "w:tblDescription", "w:tblPrChange"),
    "w:tcBorders": ("w:shd", "w:noWrap", "w:tcMar", "w:textDirection", "w:tcFitText",
                    "w:vAlign", "w:hideMark", "w:headers", "w:cellIns", "w:cellDel",
                    "w:cellMerge", "w:tcPrChange"),
}  # fmt: skip
EDGES = ("top", "left", "bottom", "right", "insideH", "insideV")  # the schema's order


def _border(parent, tag: str, edges: dict[str, dict[str, str] | None]) -> None:
    """Give a table (tag w:tblBorders) or a cell (w:tcBorders) these edges; nil: none."""
    borders = OxmlElement(tag)
    for edge in (e for e in EDGES if e in edges):
        element = OxmlElement(f"w:{edge}")
        for key, value in (edges[edge] or {"val": "nil"}).items():
            element.set(qn(f"w:{key}"), value)
        borders.append(element)
    parent.insert_element_before(borders, *AFTER_BORDERS[tag])


def _runs(paragraph, text: str, italic: bool = False, symbols: bool = True) -> None:
    """Text as runs, its statistical symbols (p, SD, M, n) in italics unless symbols=False.

    Body cells hold data (a category coded "M"), so only headers and the note set symbols.
    """
    last = 0
    for match in SYMBOLS.finditer(text) if symbols else ():
        if match.start() > last:
            paragraph.add_run(text[last : match.start()]).italic = italic or None
        paragraph.add_run(match.group()).italic = True
        last = match.end()
    if last < len(text) or not text:
        paragraph.add_run(text[last:]).italic = italic or None


def _write(cell, text: str, centred: bool = False, indent: bool = False, **style) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.paragraph_format.space_after = Pt(0)
    if centred:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if indent:
        paragraph.paragraph_format.left_indent = Inches(0.25)
    _runs(paragraph, text, **style)


def _table(document, table: ApaTable) -> None:
    columns = len(table.header)
    grid = document.add_table(rows=1, cols=columns)
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    properties = grid._tbl.tblPr
    nothing = dict.fromkeys(("left", "right", "insideH", "insideV"))
    _border(properties, "w:tblBorders", {"top": RULE, "bottom": RULE} | nothing)
    header = grid.rows[0]
    repeat = OxmlElement("w:tblHeader")  # the header again on every page the table runs onto
    header._tr.get_or_add_trPr().append(repeat)
    for i, (cell, text) in enumerate(zip(header.cells, table.header, strict=True)):
        _write(cell, text, centred=i > 0)
        _border(cell._tc.get_or_add_tcPr(), "w:tcBorders", {"bottom": RULE})
    for row in table.rows:
        cells = grid.add_row().cells
        if row.panel:
            merged = cells[0].merge(cells[-1])
            _write(merged, row.cells[0], italic=True, symbols=False)
            continue
        for i, (cell, text) in enumerate(zip(cells, row.cells, strict=True)):
            _write(cell, text, centred=i > 0, indent=row.indent and i == 0, symbols=False)


def document_bytes(table: ApaTable) -> bytes:
    """The .docx file of one table."""
    document = Document()
    normal = document.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(12)
    document.core_properties.author = "sessionmlm"
    document.core_properties.last_modified_by = "sessionmlm"
    document.core_properties.title = f"Table {table.number}: {table.title}"
    number = document.add_paragraph()
    number.add_run(f"Table {table.number}").bold = True
    document.add_paragraph().add_run(table.title).italic = True
    if table.unavailable:
        document.add_paragraph(f"Not reported. {table.unavailable}")
    else:
        _table(document, table)
        note = document.add_paragraph()
        note.add_run("Note.").italic = True
        _runs(note, f" {table.note}")
    raw = io.BytesIO()
    document.save(raw)
    return _fixed_dates(raw.getvalue())


def _fixed_dates(data: bytes) -> bytes:
    """The same zip with every entry dated ZIP_DATE: equal tables give equal files."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for entry in source.infolist():
            fixed = zipfile.ZipInfo(entry.filename, ZIP_DATE)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, source.read(entry.filename))
    return out.getvalue()


def write_docx(path: str | os.PathLike, table: ApaTable) -> None:
    """Write one table's .docx atomically."""
    with atomic.atomic(path) as temporary:
        temporary.write_bytes(document_bytes(table))
