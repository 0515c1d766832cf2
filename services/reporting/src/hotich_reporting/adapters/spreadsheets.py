"""Reading survey files and writing reports: CSV (stdlib) and Excel .xlsx (openpyxl)."""

from __future__ import annotations

import csv
import io
from typing import Any

from hotich_reporting.service_layer.report_tables import ReportDocument

__all__ = ["XLSX_MEDIA_TYPE", "looks_like_xlsx", "read_rows", "to_csv", "to_xlsx"]

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def looks_like_xlsx(content: bytes) -> bool:
    """An .xlsx file is a ZIP archive."""
    return content[:4] == b"PK\x03\x04"


def read_rows(content: bytes) -> list[dict[str, Any]]:
    """Rows of a CSV (UTF-8, comma or semicolon) or .xlsx (first sheet) file, by heading.

    Raises:
        ValueError: not a readable CSV or Excel file.
    """
    if looks_like_xlsx(content):
        return _xlsx_rows(content)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError("a survey CSV must be UTF-8") from exc
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))


def _xlsx_rows(content: bytes) -> list[dict[str, Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise ValueError(f"not a readable .xlsx file: {exc}") from exc
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            return []
        names = [str(h).strip() if h is not None else "" for h in header]
        return [
            {name: value for name, value in zip(names, row, strict=False) if name}
            for row in rows
            if any(v is not None and str(v).strip() for v in row)
        ]
    finally:
        book.close()


def to_csv(document: ReportDocument, sheet_index: int = 0) -> bytes:
    """One table of a report as CSV: UTF-8 with a BOM (so Excel reads Vietnamese)."""
    sheet = document.sheets[sheet_index]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(sheet.headers)
    writer.writerows(_plain(row) for row in sheet.rows)
    if sheet.totals is not None:
        writer.writerow(_plain(sheet.totals))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _plain(row: list[Any]) -> list[Any]:
    return ["" if value is None else value for value in row]


def to_xlsx(document: ReportDocument) -> bytes:
    """A report as an Excel workbook: title lines, then one sheet per table."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    book = Workbook()
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    heading_fill = PatternFill("solid", fgColor="DDEBF7")
    for index, table in enumerate(document.sheets):
        sheet = book.active if index == 0 else book.create_sheet()
        assert sheet is not None
        sheet.title = table.title[:31]
        row = 1
        for line_no, line in enumerate(document.title_lines):
            cell = sheet.cell(row=row, column=1, value=line)
            cell.font = Font(bold=line_no < 2, size=13 if line_no == 1 else 11)
            row += 1
        row += 1
        header_row = row
        for column, heading in enumerate(table.headers, start=1):
            cell = sheet.cell(row=row, column=column, value=heading)
            cell.font = Font(bold=True)
            cell.fill = heading_fill
            cell.border = border
            cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        body: list[tuple[list[Any], bool]] = [(r, False) for r in table.rows]
        if table.totals is not None:
            body.append((table.totals, True))
        for values, is_total in body:
            row += 1
            for column, value in enumerate(values, start=1):
                cell = sheet.cell(row=row, column=column, value=value)
                cell.border = border
                if is_total:
                    cell.font = Font(bold=True)
                if isinstance(value, int) and not isinstance(value, bool):
                    cell.number_format = "#,##0"
        for column, heading in enumerate(table.headers, start=1):
            width = max(
                [len(str(heading)) // 2 + 2]
                + [len(str(r[column - 1])) + 2 for r, _ in body if column - 1 < len(r)]
            )
            sheet.column_dimensions[get_column_letter(column)].width = min(max(width, 8), 45)
        sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
