"""The default knowledge base: MF3QA train consultations, built once into a cache folder.

The main command uses it when no ``--index`` is given. The first run builds it
from the MF3QA folder (``../shared/data/mf3qa`` or a path given; without a local
folder, the hub dataset); later runs find it up to date by the inputs' size and
modification time recorded in its manifest, and load it in seconds.

What is embedded: each consultation (question, then answer) is one passage of up
to 300 words, and the dense side embeds only its first ``embed_max_words`` (40) words,
which hold the patient's question (patients phrase alike, so question-to-question
similarity is the strongest dense signal) and the start of the answer; BM25 indexes
the full text. This keeps the first build within minutes on a 2-core laptop.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from gaokerena_rag.embedders import default_cache_dir
from gaokerena_rag.index import IndexError_, IndexSettings, MANIFEST, read_manifest
from gaokerena_rag.progress import BuildProgress, as_progress

from . import kb_messages
from .builder import BuildReport, build_index, fingerprint
from .errors import CorpusError
from .presets import MF3QA_LOCAL, mf3qa_source


@dataclass(frozen=True)
class KnowledgeBase:
    data: str = MF3QA_LOCAL
    path: Path | None = None
    settings: IndexSettings = IndexSettings(chunk_words=300, chunk_overlap=40, embed_max_words=40)

    @property
    def index_path(self) -> Path:
        return self.path or Path(os.environ.get("GAOKERENA_INDEX") or default_cache_dir() / "kb-mf3qa")

    def source(self) -> tuple[str, str | None]:
        """(input, preset): the local MF3QA folder if it exists, else the hub dataset."""
        return mf3qa_source(self.data)

    def _manifest(self) -> tuple[dict | None, bool]:
        """The cached index's manifest (None if there is none or it is damaged), and whether it is damaged."""
        if not (self.index_path / MANIFEST).exists():
            return None, False
        try:
            return read_manifest(self.index_path), False
        except IndexError_:
            return None, True

    def _current(self, manifest: dict | None, source: str) -> bool:
        return (manifest is not None and manifest.get("sources") == [fingerprint(source)]
                and manifest.get("embedder", {}).get("spec") == self.settings.embedder)

    def is_current(self) -> bool:
        return self._current(self._manifest()[0], self.source()[0])

    def ensure(self, progress: bool | BuildProgress = True, rebuild: bool = False,
               stream: TextIO | None = None) -> BuildReport | None:
        """Build or refresh the index when needed (``rebuild``: from scratch, even if current); return
        the report, or None if it was current. A damaged cache, or one built with another embedder
        (an earlier default), is rebuilt from scratch, deleting nothing its manifest names.

        A build is announced on ``stream`` (stderr) before it starts (what, from where, into where)
        and closed with where the index lives, its size and how to rebuild it; ``progress`` is the
        one bar between (``False``: none; the two announcements are still made)."""
        manifest, damaged = self._manifest()
        source, preset = self.source()
        if self._current(manifest, source) and not rebuild:
            return None
        # another embedder: every passage is embedded again
        other = manifest is not None and manifest.get("embedder", {}).get("spec") != self.settings.embedder
        if source.startswith("hf:") and hub_offline():
            raise self._unavailable(source, "downloads are off: HF_HUB_OFFLINE / HF_DATASETS_OFFLINE is set")
        stream = stream or sys.stderr
        why = ("rebuild" if rebuild else "damaged" if damaged else "embedder" if other
               else "first" if manifest is None else "changed")
        say(stream, kb_messages.announcement(why, source, self.index_path))
        shown = as_progress(progress, "knowledge base", stream)
        try:
            report = build_index([source], self.index_path, self.settings, preset=preset, split="train",
                                 progress=shown, fresh=damaged or other or rebuild)
        except CorpusError as exc:
            if source.startswith("hf:") and exc.row is None:
                raise self._unavailable(source, exc.message) from None
            raise
        shown.finish(f"{report.passages_embedded:,} passages embedded")
        say(stream, kb_messages.closing(self.index_path, folder_mib(self.index_path), report))
        return report

    def _unavailable(self, source: str, why: str) -> CorpusError:
        return CorpusError(self.data, None, None, f"no MF3QA folder here, and the hub dataset {source[3:]} could not "
                                                  f"be read ({why}). Pass --data PATH (the folder of the published "
                                                  "MF3QA Excel files) or --index DIR (an index built with "
                                                  "'gaokerena index build')")


def hub_offline() -> bool:
    """Whether the user has switched hub downloads off (``HF_HUB_OFFLINE`` or ``HF_DATASETS_OFFLINE``)."""
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
               for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def folder_mib(path: Path) -> float:
    """What an index folder takes on disk, in MiB."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file() and not f.is_symlink()) / 2**20


def say(stream: TextIO, lines: list[str]) -> None:
    for line in lines:
        print(line, file=stream, flush=True)


def default_index(data: str | None = None, progress: bool = True,
                  rebuild: bool = False) -> tuple[Path, BuildReport | None]:
    """The ``gaokerena.knowledge_bases`` entry point ``default``: the knowledge base's folder, built or
    refreshed first when needed (``rebuild``: built again from scratch), and the build's report (None
    when it was current)."""
    kb = KnowledgeBase(data=data or MF3QA_LOCAL)
    return kb.index_path, kb.ensure(progress=progress, rebuild=rebuild)
