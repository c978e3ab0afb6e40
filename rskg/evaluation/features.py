"""Re-export: the raw-feature cache moved to :mod:`rskg.feature_cache` (product code trains the head on it)."""

from rskg.feature_cache import RawFeatureCache, cache_key, encoder, fused_features, raw_features

__all__ = ["RawFeatureCache", "cache_key", "encoder", "fused_features", "raw_features"]
