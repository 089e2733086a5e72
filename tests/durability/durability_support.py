"""Shared pieces of the durability tests: storage layout lookups, server log sections, full reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from helpers.rest import RestClient
from helpers.server import ServerProcess

START_MARKER = "\n=== start "
# Retrieve calls are chunked so one request body stays small.
RETRIEVE_CHUNK = 500


def collection_dirs(storage: Path) -> list[Path]:
    """Every live collection directory (each holds config.json) under a storage root."""
    root = storage / "collections"
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / "config.json").exists())


def only_collection_dir(storage: Path) -> Path:
    dirs = collection_dirs(storage)
    assert len(dirs) == 1, f"expected one collection directory under {storage}, found {dirs}"
    return dirs[0]


def wal_files(collection_dir: Path) -> list[Path]:
    """The WAL segment files of a collection, oldest first (names are zero-padded op numbers)."""
    return sorted((collection_dir / "wal").glob("*.wal"))


def log_of_last_start(server: ServerProcess) -> str:
    """The server log written since the most recent start (the harness marks each start)."""
    text = server.log_path.read_text(errors="replace")
    cut = text.rfind(START_MARKER)
    return text[cut:] if cut >= 0 else text


def warning_lines(log_text: str, *needles: str) -> list[str]:
    """Log lines at WARNING level that contain every needle (case-sensitive: storage paths
    of these tests contain words like "wal" in lower case)."""
    out = []
    for line in log_text.splitlines():
        if "WARNING" in line.split() and all(n in line for n in needles):
            out.append(line)
    return out


def retrieve_all(rest: RestClient, collection: str, ids: Iterable[Any], *, vectors: bool = True) -> dict[Any, dict[str, Any]]:
    """Retrieve the given ids (with payload and vectors) and index the records by id."""
    wanted = list(ids)
    found: dict[Any, dict[str, Any]] = {}
    for start in range(0, len(wanted), RETRIEVE_CHUNK):
        chunk = wanted[start:start + RETRIEVE_CHUNK]
        records = rest.ok("POST", f"/collections/{collection}/points",
                          json={"ids": chunk, "with_payload": True, "with_vector": vectors})
        for record in records:
            assert record["id"] not in found, f"retrieve returned id {record['id']} twice"
            found[record["id"]] = record
    return found


def scroll_ids(rest: RestClient, collection: str, page: int = 97) -> list[Any]:
    """Every id a full scroll returns, in order, duplicates kept (an odd page size on purpose)."""
    ids: list[Any] = []
    offset: Any = None
    while True:
        body: dict[str, Any] = {"limit": page, "with_payload": False, "with_vector": False}
        if offset is not None:
            body["offset"] = offset
        result = rest.ok("POST", f"/collections/{collection}/points/scroll", json=body)
        ids.extend(p["id"] for p in result["points"])
        offset = result["next_page_offset"]
        if offset is None:
            return ids
        assert len(ids) < 10_000_000, "scroll does not terminate"


def exact_count(rest: RestClient, collection: str, flt: dict[str, Any] | None = None) -> int:
    body: dict[str, Any] = {"exact": True}
    if flt is not None:
        body["filter"] = flt
    return int(rest.ok("POST", f"/collections/{collection}/points/count", json=body)["count"])


def try_keyword_index(rest: RestClient, collection: str, field: str) -> str | None:
    """Create a keyword payload index; None on success, else why the server could not."""
    resp = rest.request("PUT", f"/collections/{collection}/index", params={"wait": "true"},
                        json={"field_name": field, "field_schema": "keyword"}, allow_5xx=True)
    if resp.status_code == 200:
        return None
    return f"PUT /collections/{collection}/index -> {resp.status_code}: {resp.text[:300]}"
