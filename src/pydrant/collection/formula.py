"""Score boosting: a `formula` query rescores the points its prefetches found with an
expression over their prefetch scores (`$score`, `$score[i]`), payload values, conditions
(1 when met, else 0), arithmetic, geo distance, datetimes and decay functions.

The expression is checked when the request is parsed (a 400 before any search) and compiled
into closures; each point is then scored in Python, in the order of the prefetch results, as
multiplication and division stop at a zero operand (`0 * x` never looks at `x`, so a missing
`x` is no error there). Conditions are evaluated once per segment as filter masks. A missing
payload value without a default, a value that is not a number, or a non-finite result is a
400. Results are sorted by descending score (ties keep the prefetch order), as Qdrant does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from pydrant.errors import BadInput, MalformedJson
from pydrant.models.ids import PointId
from pydrant.segment.filtering.compile import compile_filter
from pydrant.segment.filtering.datetimes import parse_datetime
from pydrant.segment.filtering.evaluate import evaluate
from pydrant.segment.filtering.geo import haversine
from pydrant.segment.filtering.model import GeoPoint
from pydrant.segment.filtering.paths import checked_path, values_at

if TYPE_CHECKING:
    from pydrant.collection.search import Hit

DEFAULT_DECAY_MIDPOINT = 0.5
DEFAULT_DECAY_SCALE = 1.0
_UNARY = ("neg", "abs", "sqrt", "exp", "log10", "ln")
_DECAYS = ("lin_decay", "exp_decay", "gauss_decay")
_OPERATORS = frozenset(("mult", "sum", "div", "pow", "geo_distance", "datetime", "datetime_key", *_UNARY, *_DECAYS))


@dataclass
class _Point:
    """What an expression reads of the point being scored."""

    row: int  # position among the rescored points (indexes condition masks)
    point_id: PointId
    payload: dict[str, Any]


@dataclass
class _Scope:
    scores: list[dict[PointId, float]]  # per prefetch: point id -> its score there
    conditions: list[np.ndarray]  # per condition of the formula: met, per rescored point
    defaults: dict[str, Any]


Node = Callable[[_Scope, _Point], float]


@dataclass
class ScoreFormula:
    root: Node
    defaults: dict[str, Any]
    conditions: list[Any] = field(default_factory=list)  # compiled filters, one per condition

    def rescore(self, sources: list[list[Hit]], k: int, threshold: float | None) -> list[Hit]:
        """The best k of the prefetched points by the formula's score (descending)."""
        from pydrant.collection.search import Hit

        first: dict[PointId, Hit] = {}
        for source in sources:
            for hit in source:
                first.setdefault(hit.point_id, hit)
        points = list(first.values())
        scope = _Scope([{h.point_id: h.score for h in source} for source in sources], self._conditions(points), self.defaults)
        scored = []
        for row, hit in enumerate(points):
            value = self.root(scope, _Point(row, hit.point_id, hit.segment.payloads[hit.offset] or {}))
            with np.errstate(over="ignore"):  # past float32 range: inf, refused below
                score = np.float32(value)
            if not np.isfinite(score):
                raise BadInput(f"The formula's score {value} of point {hit.point_id} is not a finite 32-bit float")
            scored.append(Hit(float(score), hit.segment, hit.offset, hit.point_id))
        scored.sort(key=lambda h: -h.score)  # stable: ties keep the prefetch order
        best = scored[:k]
        return best if threshold is None else [h for h in best if h.score >= threshold]

    def _conditions(self, points: list[Hit]) -> list[np.ndarray]:
        """Each condition's value for each point, evaluated as a mask once per segment."""
        by_segment: dict[int, list[int]] = {}
        for row, hit in enumerate(points):
            by_segment.setdefault(id(hit.segment), []).append(row)
        out = []
        for compiled in self.conditions:
            met = np.zeros(len(points), dtype=bool)
            for rows in by_segment.values():
                segment = points[rows[0]].segment
                mask = evaluate(compiled, segment)
                met[rows] = mask[[points[r].offset for r in rows]]
            out.append(met)
        return out


def parse_formula(raw: dict[str, Any], where: str) -> ScoreFormula:
    """The `{"formula": ..., "defaults": {...}}` query, checked and compiled."""
    unknown = sorted(set(raw) - {"formula", "defaults"})
    if unknown:
        raise MalformedJson(f"{where}: unknown field `{unknown[0]}` beside `formula`")
    defaults = raw.get("defaults")
    if defaults is None:
        defaults = {}
    if not isinstance(defaults, dict):
        raise MalformedJson(f"{where}.defaults: expected an object")
    formula = ScoreFormula(lambda scope, point: 0.0, {})
    formula.root = _Compiler(formula).node(raw["formula"], f"{where}.formula")
    for key, value in defaults.items():
        index = _score_index(key, f"{where}.defaults")
        formula.defaults[f"$score[{index}]" if index is not None else key] = value
    return formula


def _score_index(variable: str, where: str) -> int | None:
    """The prefetch index of `$score` / `$score[i]`, None for a payload key."""
    if not variable.startswith("$score"):
        return None
    rest = variable[len("$score"):]
    if rest == "":
        return 0
    if not (rest.startswith("[") and rest.endswith("]") and rest[1:-1].isascii() and rest[1:-1].isdigit()):
        raise BadInput(f"{where}: invalid score variable `{variable}`, expected `$score` or `$score[<index>]`")
    return int(rest[1:-1])


class _Compiler:
    def __init__(self, formula: ScoreFormula) -> None:
        self.formula = formula

    def node(self, raw: Any, where: str) -> Node:
        if type(raw) in (int, float):
            constant = _float(raw, where)
            return lambda scope, point: constant
        if isinstance(raw, str):
            return self._variable(raw, where)
        if not isinstance(raw, dict):
            raise MalformedJson(f"{where}: expected a number, a variable name, an expression object or a condition")
        operators = [key for key in raw if key in _OPERATORS]
        if not operators:
            return self._condition(raw, where)
        op = operators[0]
        extra = sorted(set(raw) - {op})
        if extra:
            raise MalformedJson(f"{where}: unknown field `{extra[0]}` beside `{op}`")
        value, at = raw[op], f"{where}.{op}"
        if op in ("mult", "sum"):
            if not isinstance(value, list):
                raise MalformedJson(f"{at}: expected an array of expressions")
            parts = [self.node(item, f"{at}[{i}]") for i, item in enumerate(value)]
            return _product(parts) if op == "mult" else _sum(parts)
        if op in _UNARY:
            return _unary(op, self.node(value, at))
        if op == "div":
            return self._div(value, at)
        if op == "pow":
            params = _params(value, at, ("base", "exponent"), ())
            return _power(self.node(params["base"], f"{at}.base"), self.node(params["exponent"], f"{at}.exponent"))
        if op == "geo_distance":
            return self._geo_distance(value, at)
        if op == "datetime":
            seconds = _datetime_seconds(value, at)
            return lambda scope, point: seconds
        if op == "datetime_key":
            return self._datetime_key(value, at)
        return self._decay(op, value, at)

    def _variable(self, name: str, where: str) -> Node:
        index = _score_index(name, where)
        if index is not None:
            key = f"$score[{index}]"

            def score(scope: _Scope, point: _Point) -> float:
                if index < len(scope.scores):
                    found = scope.scores[index].get(point.point_id)
                    if found is not None:
                        return found
                default = scope.defaults.get(key)
                return 0.0 if default is None else _number(default, key)

            return score
        path = checked_path(name, where)

        def payload_value(scope: _Scope, point: _Point) -> float:
            return _number(_payload_value(name, path, point, scope), name)

        return payload_value

    def _condition(self, raw: dict[str, Any], where: str) -> Node:
        compiled = compile_filter({"must": [raw]}, where)
        index = len(self.formula.conditions)
        self.formula.conditions.append(compiled)
        return lambda scope, point: 1.0 if scope.conditions[index][point.row] else 0.0

    def _div(self, value: Any, at: str) -> Node:
        params = _params(value, at, ("left", "right"), ("by_zero_default",))
        left, right = self.node(params["left"], f"{at}.left"), self.node(params["right"], f"{at}.right")
        fallback = params.get("by_zero_default")
        if fallback is not None and type(fallback) not in (int, float):
            raise MalformedJson(f"{at}.by_zero_default: expected a number")

        def divide(scope: _Scope, point: _Point) -> float:
            a = left(scope, point)
            if a == 0.0:
                return a
            b = right(scope, point)
            if b == 0.0:
                if fallback is not None:
                    return _float(fallback, f"{at}.by_zero_default")
                raise _non_finite(f"{a}/{b}")
            result = a / b
            if not math.isfinite(result):
                raise _non_finite(f"{a}/{b}")
            return result

        return divide

    def _geo_distance(self, value: Any, at: str) -> Node:
        params = _params(value, at, ("origin", "to"), ())
        origin = params["origin"]
        if not (isinstance(origin, dict) and set(origin) == {"lat", "lon"} and all(type(origin[c]) in (int, float) for c in ("lat", "lon"))):
            raise MalformedJson(f"{at}.origin: expected {{\"lat\": <number>, \"lon\": <number>}}")
        if not (-90.0 <= origin["lat"] <= 90.0 and -180.0 <= origin["lon"] <= 180.0):
            raise BadInput(f"{at}.origin: latitude must be within [-90, 90] and longitude within [-180, 180]")
        center = GeoPoint(float(origin["lat"]), float(origin["lon"]))
        key = params["to"]
        path = checked_path(key, f"{at}.to")

        def distance(scope: _Scope, point: _Point) -> float:
            value = _payload_value(key, path, point, scope)
            if not (isinstance(value, dict) and _is_number(value.get("lat")) and _is_number(value.get("lon"))):
                raise BadInput(f"Expected a geo point for `{key}` in the payload and/or in the formula defaults")
            return float(haversine(np.asarray([value["lat"]], dtype=np.float64), np.asarray([value["lon"]], dtype=np.float64), center)[0])

        return distance

    def _datetime_key(self, value: Any, at: str) -> Node:
        if not isinstance(value, str):
            raise MalformedJson(f"{at}: expected a payload key")
        path = checked_path(value, at)

        def seconds(scope: _Scope, point: _Point) -> float:
            text = _payload_value(value, path, point, scope)
            micros = parse_datetime(text) if isinstance(text, str) else None
            if micros is None:
                raise BadInput(f"Expected a datetime for `{value}` in the payload and/or in the formula defaults")
            return micros / 1e6

        return seconds

    def _decay(self, op: str, value: Any, at: str) -> Node:
        params = _params(value, at, ("x",), ("target", "scale", "midpoint"))
        x = self.node(params["x"], f"{at}.x")
        target = self.node(params["target"], f"{at}.target") if params.get("target") is not None else None
        scale, midpoint = params.get("scale"), params.get("midpoint")
        for name, number in (("scale", scale), ("midpoint", midpoint)):
            if number is not None and type(number) not in (int, float):
                raise MalformedJson(f"{at}.{name}: expected a number")
        scale = DEFAULT_DECAY_SCALE if scale is None else float(scale)
        midpoint = DEFAULT_DECAY_MIDPOINT if midpoint is None else float(midpoint)
        if scale <= 0.0:
            raise BadInput(f"{at}.scale: must be a non-zero positive number, got {scale}")
        if op == "lin_decay":
            if not 0.0 <= midpoint <= 1.0:
                raise BadInput(f"{at}.midpoint: must be within [0, 1] for a linear decay, got {midpoint}")
        elif not 0.0 < midpoint < 1.0:
            raise BadInput(f"{at}.midpoint: must be within (0, 1), got {midpoint}")

        def decay(scope: _Scope, point: _Point) -> float:
            diff = x(scope, point) - (0.0 if target is None else target(scope, point))
            if op == "lin_decay":
                return max(0.0, 1.0 - (1.0 - midpoint) / scale * abs(diff))
            if op == "exp_decay":
                return math.exp(math.log(midpoint) / scale * abs(diff))
            return math.exp(math.log(midpoint) / (scale * scale) * diff * diff)

        return decay


def _params(value: Any, where: str, required: tuple[str, ...], optional: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedJson(f"{where}: expected an object with {', '.join(f'`{k}`' for k in required)}")
    for key in required:
        if key not in value:
            raise MalformedJson(f"{where}: missing field `{key}`")
    unknown = sorted(set(value) - set(required) - set(optional))
    if unknown:
        raise MalformedJson(f"{where}: unknown field `{unknown[0]}`")
    return value


def _product(parts: list[Node]) -> Node:
    def product(scope: _Scope, point: _Point) -> float:
        factors = []
        for part in parts:
            factor = part(scope, point)
            if factor == 0.0:
                return factor  # later factors are not evaluated
            factors.append(factor)
        return math.prod(factors)

    return product


def _sum(parts: list[Node]) -> Node:
    return lambda scope, point: sum(part(scope, point) for part in parts)


def _unary(op: str, inner: Node) -> Node:
    def unary(scope: _Scope, point: _Point) -> float:
        value = inner(scope, point)
        if op == "neg":
            return -value
        if op == "abs":
            return abs(value)
        if op == "sqrt":
            if value >= 0:
                return math.sqrt(value)
        elif op == "exp":
            try:
                return math.exp(value)
            except OverflowError:
                pass
        elif value > 0:  # log10, ln
            return math.log10(value) if op == "log10" else math.log(value)
        raise _non_finite(f"{op}({value})")

    return unary


def _power(base: Node, exponent: Node) -> Node:
    def power(scope: _Scope, point: _Point) -> float:
        b, e = base(scope, point), exponent(scope, point)
        try:
            result = math.pow(b, e)
        except (OverflowError, ValueError):  # too large; or undefined (negative base, fractional exponent)
            raise _non_finite(f"{b}^{e}") from None
        if not math.isfinite(result):
            raise _non_finite(f"{b}^{e}")
        return result

    return power


def _payload_value(key: str, path: Any, point: _Point, scope: _Scope) -> Any:
    """The value at `path` (a one-element array counts as its element), else the default (a
    null counts as no value)."""
    found = [v for v in values_at(point.payload, path) if v is not None]
    value: Any = found if found else scope.defaults.get(key)
    if isinstance(value, list):
        if not value:
            value = None
        elif len(value) == 1:
            value = value[0]
    if value is None:
        raise BadInput(f"No value found for `{key}` in the payload nor in the formula defaults")
    return value


def _number(value: Any, key: str) -> float:
    if not _is_number(value):
        raise BadInput(f"Expected a number for `{key}` in the payload and/or in the formula defaults, got {value!r}")
    return _float(value, key)


def _float(value: int | float, where: str) -> float:
    try:
        return float(value)
    except OverflowError:  # an integer beyond float range
        raise BadInput(f"{where}: {value} is out of the range of a number") from None


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def _datetime_seconds(value: Any, where: str) -> float:
    micros = parse_datetime(value) if isinstance(value, str) else None
    if micros is None:
        raise BadInput(f"{where}: `{value}` is not a datetime in a supported format")
    return micros / 1e6


def _non_finite(expression: str) -> BadInput:
    return BadInput(f"The expression {expression} produced a non-finite number")
