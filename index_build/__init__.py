"""index_build: corpus dumps (JSONL, CSV/TSV, Parquet, XLSX, text folders, `datasets`) → an index folder."""

from .builder import BuildReport, MassRemovalError, build_index, iter_documents
from .errors import CorpusError, ErrorPolicy
from .loaders import FieldMap, read_records
from .presets import PRESETS, iter_mf3qa, mf3qa_pairs

__all__ = ["BuildReport", "CorpusError", "MassRemovalError", "ErrorPolicy", "FieldMap", "PRESETS", "build_index", "iter_documents",
           "iter_mf3qa", "mf3qa_pairs", "read_records"]
