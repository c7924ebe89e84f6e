"""Backbone features of training images, remembered while the backbone is frozen.

With ``FREEZE_DETECTOR=True`` the relation stage runs the same frozen, eval-mode backbone on the
same training images epoch after epoch; on a CPU that forward pass is ~85 % of a synthetic RelDN
iteration (docs/benchmarks.md). The cache keys each image by a hash of its bytes — the model's raw
input tensor when given (uint8, 4x fewer bytes than the normalised one) plus the padded batch size,
else the preprocessed, padded tensor — so a flipped or differently resized copy is a different entry
and nothing depends on the data pipeline's bookkeeping; it keeps the per-level feature maps
(optionally in float16) up to a byte budget. Misses are computed in one backbone call on just the
missing images, which gives the same maps as the full batch because eval-mode normalisation treats
images independently.
"""

from __future__ import annotations

import hashlib
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

__all__ = ["FeatureCache"]

CacheKey = Tuple[Tuple[int, ...], Tuple[int, ...], str, bytes]


class FeatureCache:
    """Per-image backbone feature maps, bounded by ``max_bytes``.

    Entries are added until the budget is reached, then the cache stops growing (every image of a
    dataset is equally likely to come back, so eviction would gain nothing). ``hits`` / ``misses``
    count images.
    """

    def __init__(self, max_bytes: int, dtype: Optional[torch.dtype] = torch.float16) -> None:
        """
        Args:
            max_bytes: budget for the stored tensors (> 0).
            dtype: storage dtype (None: keep the backbone's); outputs are cast back to the
                backbone's dtype.
        """
        if max_bytes <= 0:
            raise ValueError(f"FeatureCache: max_bytes must be > 0, got {max_bytes}")
        self.max_bytes = int(max_bytes)
        self.dtype = dtype
        self.nbytes = 0
        self.hits = 0
        self.misses = 0
        self._store: Dict[CacheKey, Dict[str, torch.Tensor]] = {}
        self._out_dtype = torch.float32  # the backbone's output dtype, seen on the first miss

    def __len__(self) -> int:
        return len(self._store)

    @staticmethod
    def key(image: torch.Tensor, padded_shape: Tuple[int, ...] = ()) -> CacheKey:
        """(padded shape, shape, dtype, blake2b digest of the bytes) of one image tensor.

        Args:
            image: the image the features are a deterministic function of (the raw input or the
                preprocessed tensor), any shape and dtype.
            padded_shape: the (H, W) the batch is padded to (part of what the features depend on).
        """
        data = image.detach().contiguous().cpu()
        raw = data.reshape(-1).view(torch.uint8).numpy()
        digest = hashlib.blake2b(raw.tobytes(), digest_size=16).digest()
        return tuple(padded_shape), tuple(data.shape), str(data.dtype), digest

    def __call__(
        self,
        images: torch.Tensor,
        backbone: Callable[[torch.Tensor], Dict[str, torch.Tensor]],
        sources: Optional[Sequence[torch.Tensor]] = None,
    ) -> Dict[str, torch.Tensor]:
        """Backbone features of a padded batch, computing only the images not yet cached.

        Args:
            images: (N, C, H, W) preprocessed batch (``ImageList.tensor``).
            backbone: the frozen backbone (called under ``torch.no_grad``).
            sources: optional N raw input images from which ``images`` was derived
                deterministically (normalisation, padding); hashed instead of ``images``.

        Returns:
            ``{level: (N, C_l, H_l, W_l)}`` exactly as ``backbone(images)`` would (up to the storage
            dtype's rounding for cached images).
        """
        padded = tuple(images.shape[-2:])
        if sources is not None:
            if len(sources) != len(images):
                raise ValueError(f"FeatureCache: {len(sources)} sources for {len(images)} images")
            keys = [self.key(src, padded) for src in sources]
        else:
            keys = [self.key(img, padded) for img in images]
        missing = [i for i, k in enumerate(keys) if k not in self._store]
        fresh: Dict[int, Dict[str, torch.Tensor]] = {}
        if missing:
            with torch.no_grad():
                computed = backbone(images[missing])
            for row, i in enumerate(missing):
                fresh[i] = {name: f[row] for name, f in computed.items()}
                self._add(keys[i], fresh[i])
        self.misses += len(missing)
        self.hits += len(keys) - len(missing)
        per_image: List[Dict[str, torch.Tensor]] = [
            fresh[i] if i in fresh else self._store[k] for i, k in enumerate(keys)
        ]
        ref = next(iter(fresh.values()), None)
        levels = list(per_image[0])
        out: Dict[str, torch.Tensor] = {}
        for name in levels:
            dtype = ref[name].dtype if ref is not None else self._out_dtype
            out[name] = torch.stack([p[name].to(dtype) for p in per_image])
        return out

    def _add(self, key: CacheKey, feats: Dict[str, torch.Tensor]) -> None:
        self._out_dtype = next(iter(feats.values())).dtype
        dtype = self.dtype or self._out_dtype
        size = sum(f.numel() for f in feats.values()) * torch.empty((), dtype=dtype).element_size()
        if self.nbytes + size > self.max_bytes:
            return  # full: no copy made
        self._store[key] = {name: f.to(dtype, copy=True) for name, f in feats.items()}
        self.nbytes += size
