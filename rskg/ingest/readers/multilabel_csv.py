"""Multi-label annotation files: CSV with a path column and a ``|``-separated label column.

Rows that cannot be used (wrong column count, unknown label, empty label set, image missing) are
returned as :class:`Rejected` with the line number, so they are quarantined and the run goes on.
"""

from __future__ import annotations

import csv
import io

from rskg.errors import DataError
from rskg.ingest.discovery import Root
from rskg.ingest.records import Rejected, SampleRef


def read_multilabel_csv(root: Root, path: str, vocabulary: tuple[str, ...],
                        path_col: str = "image", labels_col: str = "labels",
                        ) -> tuple[dict[str, list[str]], list[Rejected]]:
    """Parse the file at ``path`` (fsspec path or local file) -> (rel image path -> labels, rejects)."""
    fs = root.fs
    try:
        text = fs.cat_file(path).decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read the annotation file {path}: {exc}",
                        "Pass --labels with a readable UTF-8 CSV (columns image,labels).") from exc
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or path_col not in header or labels_col not in header:
        raise DataError(f"{path}: header {header} lacks the columns {path_col!r}, {labels_col!r}",
                        "Use a CSV with a header line `image,labels` (labels separated by '|').")
    ip, lp = header.index(path_col), header.index(labels_col)
    name = path.rsplit("/", 1)[-1]
    table: dict[str, list[str]] = {}
    rejected: list[Rejected] = []
    allowed = set(vocabulary)
    for lineno, row in enumerate(reader, start=2):
        where = f"{name}#L{lineno}"
        ref = SampleRef(rel_path=where, paths=[path], labels=[])
        if len(row) != len(header):
            rejected.append(Rejected(ref, f"annotation row has {len(row)} fields, expected {len(header)}"))
            continue
        labels = [x.strip() for x in row[lp].split("|") if x.strip()]
        unknown = [x for x in labels if x not in allowed]
        if not labels or unknown:
            why = f"unknown labels {unknown}" if unknown else "empty label set"
            rejected.append(Rejected(ref, f"annotation row for {row[ip]!r}: {why}"))
            continue
        if not fs.exists(root.join(row[ip])):
            rejected.append(Rejected(ref, f"annotation row names a missing image {row[ip]!r}"))
            continue
        table[row[ip]] = labels
    return table, rejected
