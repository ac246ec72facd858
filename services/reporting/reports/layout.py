"""A report's figures and tables, from the gathered read models: pure, no I/O.

Every number a report shows is a *figure* with a stable key `<table>.<row>.<column>` (e.g.
`support.bhyt_poor.households`, `poverty.end.poor`, `fund.donations.amount_vnd`): its `data` (what
the read models say), for an upper level its `consolidated` value (its own rows plus the values of its
children's accepted reports), an officer's `override` with the reason, and the `value` shown. Counts,
amounts and quantities add up across units and may be overridden; rates, the fund's closing balance
and target actuals are derived from the values shown, so an overridden count moves its rate too.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.reporting.reports.figures import ReportData
from services.reporting.reports.numbers import vn_value
from shared.errors import Problem

Figure = dict[str, Any]
ADDITIVE = frozenset({"count", "vnd", "quantity"})
TRANSITIONS = {"newly_poor": "Hộ nghèo phát sinh", "re_poor": "Hộ tái nghèo", "escaped_poverty": "Hộ thoát nghèo",
               "escaped_near_poverty": "Hộ thoát cận nghèo", "became_near_poor": "Hộ cận nghèo mới"}
FUND_ROWS = {"opening": "Số dư đầu kỳ", "donations": "Vận động, tiếp nhận ủng hộ",
             "transfers_in": "Nhận từ quỹ cấp khác", "refunds": "Hoàn lại quỹ", "spent": "Chi hỗ trợ",
             "transfers_out": "Chuyển quỹ cấp khác", "closing": "Số dư cuối kỳ"}
INDICATORS = {  # the emulation service's indicator codes (docs/events.md "emulation": targets)
    "poor_rate_reduction": ("Giảm tỷ lệ hộ nghèo (điểm %)", "pp"),
    "near_poor_rate_reduction": ("Giảm tỷ lệ hộ cận nghèo (điểm %)", "pp"),
    "poor_rate": ("Tỷ lệ hộ nghèo cuối năm (%)", "rate"),
    "poor_households_reduced": ("Số hộ nghèo giảm", "count"),
    "temporary_houses_removed": ("Số nhà tạm, nhà dột nát được xóa", "count"),
    "support_delivered": ("Kinh phí hỗ trợ hộ nghèo, cận nghèo (triệu đồng)", "vnd"),
    "fund_raised": ("Vận động Quỹ \"Vì người nghèo\" (triệu đồng)", "vnd"),
}


# Words for the codes the events carry (docs/events.md), as a report writes them.
WORDS = {
    "model": "Mô hình", "initiative": "Sáng kiến", "person": "Cá nhân", "household": "Hộ gia đình",
    "collective": "Tập thể", "individual": "Cá nhân",
    "ten_plus_one": "Mô hình \"10+1\"", "humanitarian_address": "Địa chỉ nhân đạo",
    "monthly_rice": "Hỗ trợ gạo hàng tháng", "sponsorship": "Nhận đỡ đầu", "other": "Khác",
    "broadcasts": "lượt phát", "news_items": "tin, bài", "articles": "tin, bài", "reports": "phóng sự",
    "sessions": "buổi", "visits": "lượt", "participants": "lượt người",
}


def word(code_: str | None) -> str:
    return WORDS.get(code_ or "", code_ or "")


def code(text: str) -> str:
    """A row code safe inside a figure key (no dots)."""
    return (text or "-").replace(".", "_")


def figures_of(data: ReportData) -> dict[str, Figure]:
    """The figures the read models give, keyed; `value` is still the data."""
    out: dict[str, Figure] = {}

    def put(table: str, row: str, row_label: str, column: str, label: str, kind: str, value: Any) -> None:
        key = f"{table}.{code(row)}.{column}"
        out[key] = {"key": key, "table": table, "row": code(row), "row_label": row_label, "column": column,
                    "label": label, "kind": kind, "data": value, "order": len(out)}

    for row, label, f in (("start", f"Cuối năm {data.start_year} (đầu kỳ)", data.poverty_start),
                          ("end", f"Năm {data.end_year} (cuối kỳ)", data.poverty_end)):
        put("poverty", row, label, "households", "Tổng số hộ", "count", f["households"])
        put("poverty", row, label, "poor", "Số hộ nghèo", "count", f["poor"])
        put("poverty", row, label, "near_poor", "Số hộ cận nghèo", "count", f["near_poor"])
    for transition, label in TRANSITIONS.items():
        put("changes", transition, label, "households", "Số hộ", "count", data.transitions.get(transition, 0))
    for p in data.support.get("programmes", []):
        row, name = p["programme"], p["name"]
        for column, label in (("households", "Số hộ"), ("persons", "Số người"), ("turns", "Số lượt")):
            put("support", row, name, column, label, "count", p[column])
        put("support", row, name, "amount_vnd", "Kinh phí", "vnd", p["amount_vnd"])
        for q in p["quantities"]:
            put("support", row, name, f"quantity.{code(q['measure'])}", q["name"], "quantity", q["quantity"])
        for f in p["funding"]:
            put("support", row, name, f"funding.{code(f['source'])}", f["name"], "vnd", f["amount_vnd"])
    for row, label in FUND_ROWS.items():
        if row != "closing":
            put("fund", row, label, "amount_vnd", "Số tiền", "vnd", data.fund.get(row, 0))
    for a in data.activities:
        row = f"{a['group_name']}:{a['kind']}:{a['measure']}"
        name = a["kind_name"] or a["kind"]
        label = f"{name} ({word(a['measure'])})" if a["measure"] else name
        put("propaganda", row, label, "count", "Số lượng", "count", int(a["count"] or 0))
        if a["participants"] is not None:
            put("propaganda", row, label, "participants", "Lượt người tham gia", "count", int(a["participants"]))
    names = data.names
    for b in data.support.get("bodies", []):
        for column, label, kind in (("deliveries", "Số lần hỗ trợ", "count"), ("households", "Số hộ", "count"),
                                    ("amount_vnd", "Kinh phí", "vnd")):
            put("bodies", b["body"], b["name"], column, label, kind, b[column])
    for a in data.body_activities:
        body = a["body"]
        measure = names.get(("measure", a["measure"]), a["measure"])
        kind_name = names.get(("activity_kind", a["kind"]), a["kind"])
        put("bodies", body, names.get(("body", body), body), f"activity.{code(a['kind'])}:{code(a['measure'])}",
            f"{kind_name} ({measure})", "quantity", str(Decimal(str(a["quantity"])).normalize()))
    for s in data.sponsorships:
        body = s["body"]
        put("bodies", body, names.get(("body", body), body), f"sponsorships.{code(s['kind'])}",
            word(s["kind"]), "count", int(s["sponsorships"]))
        put("bodies", body, names.get(("body", body), body), f"sponsored_households.{code(s['kind'])}",
            f"{word(s['kind'])}, hộ được giúp", "count", int(s["households"] or 0))
    put("awards", "exemplars", "Điển hình tiên tiến, mô hình hay", "count", "Số lượng", "count", len(data.exemplars))
    put("awards", "awards", "Tập thể, cá nhân được khen thưởng", "count", "Số lượng", "count", len(data.awards))
    for t in data.targets:
        label, kind = INDICATORS.get(t["indicator"], (t["indicator"], "count"))
        row = f"{t['indicator']}:{t['year']}"
        put("targets", row, f"{label}, năm {t['year']}", "target", "Chỉ tiêu", "target",
            str(t["value"]) if t["value"] is not None else None)
        out[f"targets.{code(row)}.target"]["measure"] = kind
    return out


# ---- values: consolidation, overrides, derived figures -------------------------------------
def _add(a: Any, b: Any, kind: str) -> Any:
    if kind == "quantity":
        return str((Decimal(str(a or 0)) + Decimal(str(b or 0))).normalize())
    return int(a or 0) + int(b or 0)


def consolidate(figures: dict[str, Figure], own: dict[str, Figure], children: list[dict[str, Figure]]) -> None:
    """Set each additive figure's `consolidated`: the unit's own rows plus its children's accepted values."""
    for key, figure in figures.items():
        if figure["kind"] in ADDITIVE:
            figure["consolidated"] = own[key]["data"] if key in own else (0 if figure["kind"] != "quantity" else "0")
    for source in (own, *children):
        for key, theirs in source.items():
            if theirs.get("kind") not in ADDITIVE or key in figures:
                continue
            figures[key] = {**{k: theirs[k] for k in ("key", "table", "row", "row_label", "column", "label", "kind")},
                            "order": 100_000 + int(theirs.get("order", 0)),
                            "data": 0 if theirs["kind"] != "quantity" else "0",
                            "consolidated": own[key]["data"] if key in own else 0}
    for child in children:
        for key, theirs in child.items():
            if theirs.get("kind") in ADDITIVE:
                figures[key]["consolidated"] = _add(figures[key]["consolidated"], theirs.get("value"), theirs["kind"])


def check_overrides(figures: dict[str, Figure], overrides: dict[str, dict[str, Any] | None]) -> None:
    """422 naming each override that is not a whole, non-negative number (a decimal for a quantity) of a
    figure that may be overridden, or that gives no reason."""
    errors = []
    for key, override in overrides.items():
        if override is None:
            continue
        figure = figures.get(key)
        if figure is None or figure["kind"] not in ADDITIVE:
            errors.append({"field": f"overrides.{key}", "reason": "no figure that can be overridden has this key"})
            continue
        value = override.get("value")
        try:
            number = Decimal(str(value))
            ok = number >= 0 and (figure["kind"] == "quantity" or (number == number.to_integral_value()
                                                                    and not isinstance(value, float)))
        except ArithmeticError:
            ok = False
        if value is None or isinstance(value, bool) or not ok:
            what = "a non-negative decimal" if figure["kind"] == "quantity" else "a whole, non-negative number"
            errors.append({"field": f"overrides.{key}.value", "reason": f"must be {what}"})
        if not str(override.get("reason") or "").strip():
            errors.append({"field": f"overrides.{key}.reason", "reason": "say why the figure differs from the data"})
    if errors:
        raise Problem(422, "validation_error", "Invalid request",
                      "; ".join(f"{e['field']}: {e['reason']}" for e in errors), errors=errors)


def _rate(part: Any, whole: Any) -> float | None:
    return round(100.0 * int(part) / int(whole), 2) if whole else None


def finalise(figures: dict[str, Figure], overrides: dict[str, dict[str, Any]], consolidating: bool) -> None:
    """Set `value` (override, else consolidated for an upper level, else data) and the derived figures."""
    for key, figure in figures.items():
        override = overrides.get(key)
        base = figure.get("consolidated") if consolidating and "consolidated" in figure else figure["data"]
        figure["overridden"] = override is not None
        figure["reason"] = override.get("reason") if override else None
        if override is None:
            figure["value"] = base
        elif figure["kind"] == "quantity":
            figure["value"] = str(Decimal(str(override["value"])).normalize())
        else:
            figure["value"] = int(override["value"])

    def value(key: str) -> Any:
        return figures[key]["value"] if key in figures else 0

    def derive(key: str, label: str, kind: str, result: Any) -> None:
        table, row, column = key.split(".", 2)
        figures[key] = {"key": key, "table": table, "row": row, "row_label": label, "column": column, "label": label,
                        "kind": kind, "data": None, "value": result, "derived": True, "overridden": False,
                        "reason": None}

    for row in ("start", "end"):
        households = value(f"poverty.{row}.households")
        label = figures[f"poverty.{row}.households"]["row_label"] if f"poverty.{row}.households" in figures else row
        derive(f"poverty.{row}.poor_rate", label, "rate", _rate(value(f"poverty.{row}.poor"), households))
        derive(f"poverty.{row}.near_poor_rate", label, "rate", _rate(value(f"poverty.{row}.near_poor"), households))
    start, end = value("poverty.start.poor_rate"), value("poverty.end.poor_rate")
    near_start, near_end = value("poverty.start.near_poor_rate"), value("poverty.end.near_poor_rate")
    reduction = round(start - end, 2) if start is not None and end is not None else None
    near_reduction = round(near_start - near_end, 2) if near_start is not None and near_end is not None else None
    closing = sum(value(f"fund.{row}.amount_vnd") * (1 if row in ("opening", "donations", "transfers_in", "refunds")
                                                       else -1) for row in FUND_ROWS if row != "closing")
    derive("fund.closing.amount_vnd", FUND_ROWS["closing"], "vnd", closing)
    actuals = {
        "poor_rate_reduction": reduction, "near_poor_rate_reduction": near_reduction, "poor_rate": end,
        "poor_households_reduced": int(value("poverty.start.poor")) - int(value("poverty.end.poor")),
        "support_delivered": sum(int(f["value"] or 0) for f in figures.values()
                                 if f["table"] == "support" and f["column"] == "amount_vnd"),
        "fund_raised": int(value("fund.donations.amount_vnd")),
        "temporary_houses_removed": sum(int(Decimal(str(f["value"] or 0))) for f in figures.values()
                                        if f["table"] == "support" and f["column"] == "quantity.house"),
    }
    for key, figure in list(figures.items()):
        if figure["table"] == "targets" and figure["column"] == "target":
            indicator = figure["row"].split(":", 1)[0]
            derive(key.replace(".target", ".actual"), figure["row_label"], figure.get("measure", "count"),
                   actuals.get(indicator))


# ---- the sections and their tables, as a document shows them ----------------------------------
def _cell(figures: dict[str, Figure], key: str, zero: str | None = None) -> dict[str, Any]:
    """A figure's cell; `zero` is what to write for 0 where 0 means "not counted" (persons, turns)."""
    figure = figures.get(key)
    if figure is None:
        return {"text": "-", "figure": None}
    if zero is not None and figure["value"] in (0, "0"):
        return {"text": zero, "figure": key}
    return {"text": vn_value(figure["value"], figure.get("measure") or figure["kind"]), "figure": key}


def _text(text: Any) -> dict[str, Any]:
    return {"text": "" if text is None else str(text), "figure": None}


def _rows_of(figures: dict[str, Figure], table: str) -> list[tuple[str, str]]:
    """(row code, row label) of a table's figures, in the order they were put (a frozen report's figures
    come back from JSONB in another order, so the order is kept in each figure)."""
    seen: dict[str, str] = {}
    for f in sorted(figures.values(), key=lambda f: (f.get("order", 1_000_000), f["key"])):
        if f["table"] == table and not f.get("derived"):
            seen.setdefault(f["row"], f["row_label"])
    return list(seen.items())


def _joined(figures: dict[str, Figure], table: str, row: str, prefix: str, with_label: bool) -> dict[str, Any]:
    ordered = sorted(figures.values(), key=lambda f: (f.get("order", 1_000_000), f["key"]))
    parts = [(f["label"], vn_value(f["value"], f["kind"])) for f in ordered
             if f["table"] == table and f["row"] == row and f["column"].startswith(prefix)
             and f["value"] not in (0, "0")]
    return _text("; ".join(f"{label}: {text}" if with_label else f"{text} {label}" for label, text in parts) or "-")


def tables(figures: dict[str, Figure], lists: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The tables of each subsection: title, column headings, rows of cells (text and the figure key);
    `lists` holds the documents, models and awards with their dates written out (view.lists_of)."""
    def table(key: str, title: str, columns: list[str], rows: list[list[dict[str, Any]]]) -> dict[str, Any]:
        return {"key": key, "title": title, "columns": columns, "rows": rows}

    def f(key: str) -> dict[str, Any]:
        return _cell(figures, key)

    support_rows = [[_text(i), _text(label), f(f"support.{row}.households"),
                     _cell(figures, f"support.{row}.persons", "-"), _cell(figures, f"support.{row}.turns", "-"),
                     _joined(figures, "support", row, "quantity.", False),
                     f(f"support.{row}.amount_vnd"), _joined(figures, "support", row, "funding.", True)]
                    for i, (row, label) in enumerate(_rows_of(figures, "support"), start=1)]
    total = sum(int(x["value"] or 0) for x in figures.values()
                if x["table"] == "support" and x["column"] == "amount_vnd")
    support_rows.append([_text(""), _text("Tổng cộng"), _text(""), _text(""), _text(""), _text(""),
                         _text(vn_value(total, "vnd")), _text("")])
    bodies = []
    for i, (row, label) in enumerate(_rows_of(figures, "bodies"), start=1):
        bodies.append([_text(i), _text(label), f(f"bodies.{row}.deliveries"), f(f"bodies.{row}.households"),
                       f(f"bodies.{row}.amount_vnd"), _joined(figures, "bodies", row, "activity.", True),
                       _joined(figures, "bodies", row, "sponsorships.", True),
                       _joined(figures, "bodies", row, "sponsored_households.", True)])
    targets = [[_text(label), f(f"targets.{row}.target"), f(f"targets.{row}.actual")]
               for row, label in _rows_of(figures, "targets")]
    return {
        "I.1": [table("documents", "Văn bản đã ban hành", ["STT", "Số, ký hiệu", "Ngày ban hành", "Loại văn bản",
                                                           "Cơ quan ban hành", "Trích yếu"],
                      [[_text(i), _text(d["number"]), _text(d["issued_on"]), _text(d["doc_type_name"]),
                        _text(d["issuing_body"]), _text(d["summary"])]
                       for i, d in enumerate(lists["documents"], start=1)])],
        "II.1": [table("propaganda", "Kết quả tuyên truyền", ["STT", "Hoạt động", "Số lượng", "Lượt người tham gia"],
                       [[_text(i), _text(label), f(f"propaganda.{row}.count"), f(f"propaganda.{row}.participants")]
                        for i, (row, label) in enumerate(_rows_of(figures, "propaganda"), start=1)])],
        "II.2": [table("support", "Kết quả thực hiện các chính sách hỗ trợ",
                       ["STT", "Chính sách, chương trình", "Số hộ", "Số người", "Số lượt", "Số lượng",
                        "Kinh phí (triệu đồng)", "Nguồn kinh phí (triệu đồng)"], support_rows),
                 table("fund", "Quỹ \"Vì người nghèo\" (triệu đồng)", ["Nội dung", "Số tiền"],
                       [[_text(label), f(f"fund.{row}.amount_vnd")] for row, label in FUND_ROWS.items()])],
        "II.3": [table("poverty", "Hộ nghèo, hộ cận nghèo", ["Thời điểm", "Tổng số hộ", "Số hộ nghèo",
                                                              "Tỷ lệ hộ nghèo (%)", "Số hộ cận nghèo",
                                                              "Tỷ lệ hộ cận nghèo (%)"],
                       [[_text(figures[f"poverty.{row}.households"]["row_label"]), f(f"poverty.{row}.households"),
                         f(f"poverty.{row}.poor"), f(f"poverty.{row}.poor_rate"), f(f"poverty.{row}.near_poor"),
                         f(f"poverty.{row}.near_poor_rate")] for row in ("start", "end")]),
                 table("changes", "Biến động trong kỳ", ["Nội dung", "Số hộ"],
                       [[_text(label), f(f"changes.{row}.households")] for row, label in TRANSITIONS.items()]),
                 table("targets", "Chỉ tiêu được giao và kết quả thực hiện", ["Chỉ tiêu", "Kế hoạch", "Thực hiện"],
                       targets)],
        "II.4": [table("bodies", "Kết quả của Ủy ban MTTQ, các tổ chức chính trị - xã hội và đơn vị",
                       ["STT", "Đơn vị", "Số lần hỗ trợ", "Số hộ", "Kinh phí (triệu đồng)", "Hoạt động",
                        "Mô hình đỡ đầu", "Hộ được đỡ đầu"], bodies)],
        "II.5": [table("exemplars", "Điển hình tiên tiến, mô hình hay", ["STT", "Tên", "Loại", "Nội dung",
                                                                          "Công nhận", "Số quyết định"],
                       [[_text(i), _text(e["name"]), _text(word(e["kind"])), _text(e["summary"]),
                         _text(e["recognised_by"]), _text(e["document_number"])]
                        for i, e in enumerate(lists["exemplars"], start=1)]),
                 table("awards", "Khen thưởng", ["STT", "Tập thể, cá nhân", "Hình thức", "Số quyết định",
                                                 "Ngày quyết định", "Cấp khen"],
                       [[_text(i), _text(a["nominee_name"]), _text(a["form_name"] or a["form"]),
                         _text(a["decision_number"]),
                         _text(a["decision_date"]), _text(a["awarding_authority"])]
                        for i, a in enumerate(lists["awards"], start=1)])],
    }
