"""``gaokerena index check DIR``: verify an index folder file by file.

What ``open_index`` checks on every load (a valid manifest, the live generation inside the
folder, each file present at the size written, the dense index's dimension and count, the
passage store's counts, each lexical side's passages), plus what is too slow for every load:
each file's SHA-256 against the one written at commit, and SQLite's ``integrity_check``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from .index import open_index
from .manifest import IndexError_, generation_dir, safe_relative, sha256_file


@dataclass
class CheckReport:
    path: Path
    checked: list[str] = field(default_factory=list)  # what was verified, in words
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        lines = [f"{self.path}: {'ok' if self.ok else 'DAMAGED'}"]
        lines += [f"  ok: {c}" for c in self.checked]
        lines += [f"  problem: {p}" for p in self.problems]
        return "\n".join(lines)


def check_index(path: Path | str) -> CheckReport:
    """Every check there is on the index folder ``path``; problems are reported, not raised."""
    report = CheckReport(Path(path))
    try:
        files = open_index(path)
    except IndexError_ as exc:
        report.problems.append(str(exc))
        return report
    m = files.manifest
    files.store.close()
    report.checked.append(f"manifest valid, live generation {m['generation']}")
    report.checked.append(f"dense: {m['dense']['ntotal']} vectors of dimension {m['embedder']['dim']}")
    report.checked.append(f"passages: {m['counts']['documents']} documents, {m['counts']['passages']} passages; "
                          f"lexical sides {', '.join(files.lexical)}")
    live = generation_dir(path, m["generation"])
    written = m.get("files")
    if not written:
        report.problems.append("the manifest records no checksums (built before they were written): "
                               "rebuild with --fresh to add them")
    else:
        bad = [name for name, entry in written.items() if sha256_file(safe_relative(live, name)) != entry["sha256"]]
        report.problems += [f"{live / name}: content differs from what was written (SHA-256)" for name in bad]
        if not bad:
            report.checked.append(f"{len(written)} files match their SHA-256")
    with sqlite3.connect(f"file:{live / 'passages.sqlite'}?mode=ro", uri=True) as db:
        result = db.execute("PRAGMA integrity_check").fetchone()[0]
    if result == "ok":
        report.checked.append("passages.sqlite integrity_check ok")
    else:
        report.problems.append(f"{live / 'passages.sqlite'}: integrity_check says {result}")
    return report
