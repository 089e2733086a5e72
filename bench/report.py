"""Turn per-target results into a comparison table (markdown pipes) with pydrant-vs-other factors."""

from __future__ import annotations

from typing import Any

# (pydrant target, other target) pairs that get a factor column, in column order
PAIRS = [("pydrant-http", "local-mem"), ("pydrant-qc", "local-mem"), ("pydrant-http", "local-disk"),
         ("pydrant-http", "qdrant-edge")]


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "":
        return f"{value:.3f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def factor(p: float | None, local: float | None, better: str) -> float | None:
    """How many times better pydrant is (>1 = pydrant better): p/local for higher-is-better, else local/p."""
    if p is None or local is None or p <= 0 or local <= 0:
        return None
    return p / local if better == "higher" else local / p


def rows(results: dict[str, Any]) -> list[tuple[str, str, str, dict[str, float]]]:
    """(metric, unit, better, {target: value}) in order of first appearance."""
    seen: dict[str, tuple[str, str, dict[str, float]]] = {}
    for tname, t in results["targets"].items():
        for wl in t["workloads"].values():
            for m in wl.get("metrics", []):
                entry = seen.setdefault(m["name"], (m["unit"], m["better"], {}))
                entry[2][tname] = m["value"]
    return [(name, unit, better, vals) for name, (unit, better, vals) in seen.items()]


def table(results: dict[str, Any]) -> str:
    targets = list(results["targets"])
    pairs = [(a, b) for a, b in PAIRS if a in targets and b in targets]
    head = ["metric", "unit"] + [f"{t} (N={results['targets'][t]['points']:,})" for t in targets]
    head += [f"{a} vs {b}" for a, b in pairs]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, unit, better, vals in rows(results):
        cells = [name, unit + (" ↑" if better == "higher" else " ↓")]
        cells += [fmt(vals.get(t), unit) for t in targets]
        for a, b in pairs:
            f = factor(vals.get(a), vals.get(b), better)
            mark = "*" if results["targets"][a]["points"] != results["targets"][b]["points"] else ""
            cells.append("–" if f is None else f"{f:.2f}×{mark}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def notes(results: dict[str, Any]) -> str:
    out = []
    for tname, t in results["targets"].items():
        for wname, wl in t["workloads"].items():
            if wl["status"] != "ok":
                out.append(f"- {tname} / {wname}: {wl['status']}: {wl['note']}")
        out.extend(f"- {tname}: {n}" for n in t["notes"])
    return "\n".join(out)


def render(results: dict[str, Any]) -> str:
    legend = ("↑ higher is better, ↓ lower is better. Factor columns: how many times better pydrant is "
              "(>1 = pydrant better); * = the two targets ran with different N (one was capped).")
    text = [table(results), "", legend]
    n = notes(results)
    if n:
        text += ["", "Notes:", n]
    return "\n".join(text)
