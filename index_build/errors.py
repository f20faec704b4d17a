"""Corpus errors that name the file, row and field at fault, and the skip-or-stop policy."""

from __future__ import annotations

from dataclasses import dataclass, field


class CorpusError(ValueError):
    """A bad input row or file. ``row`` is what a user sees in the file (line or sheet row)."""

    def __init__(self, file: str, row: int | str | None, field_name: str | None, message: str):
        self.file = str(file)
        self.row = row
        self.field = field_name
        self.message = message
        where = self.file
        if row is not None:
            where += f", row {row}"
        if field_name:
            where += f", field '{field_name}'"
        super().__init__(f"{where}: {message}")


@dataclass
class ErrorPolicy:
    """``raise`` stops at the first bad row; ``skip`` records it and goes on."""

    mode: str = "raise"
    skipped: list[CorpusError] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.mode not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {self.mode!r}")

    def handle(self, error: CorpusError) -> None:
        if self.mode == "raise":
            raise error
        self.skipped.append(error)

    def summary(self, first: int = 5) -> str:
        if not self.skipped:
            return "skipped 0 rows"
        lines = [f"skipped {len(self.skipped)} rows; first {min(first, len(self.skipped))}:"]
        lines += [f"  - {e}" for e in self.skipped[:first]]
        return "\n".join(lines)
