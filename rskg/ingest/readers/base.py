"""The reader contract: one dataset family per module, TorchGeo style (class names as attributes,
errors that tell the user what to do)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from rskg.errors import DataError
from rskg.ingest.discovery import Root
from rskg.ingest.readers.metadata import DatasetInfo, resolve_info
from rskg.ingest.records import Decoded, Rejected, SampleRef


class DatasetReader(ABC):
    """Finds the samples of one dataset under ``root`` and decodes them.

    ``limit`` keeps the first N samples (by name) of every label folder, or N in all for datasets
    without label folders; it makes deterministic subsets for tests and benchmarks.
    """

    key: ClassVar[str]                          # reader key = default dataset id
    name: ClassVar[str]
    url: ClassVar[str] = ""
    license: ClassVar[str] = ""
    citation: ClassVar[str] = ""
    sensor: ClassVar[str | None] = None
    gsd_m: ClassVar[float | None] = None
    multi_label: ClassVar[bool] = False
    classes: ClassVar[tuple[str, ...]] = ()     # primary label names, as the dataset spells them
    default_labels_file: ClassVar[str | None] = None   # annotation file used when --labels is absent
    vocabulary: ClassVar[str | None] = None     # label-system dataset whose labels these are (default: key)

    def __init__(self, root: Root, dataset_id: str | None = None, labels_file: str | None = None,
                 limit: int | None = None, gsd_m: float | None = None) -> None:
        self.root = root
        self.info: DatasetInfo = resolve_info(
            DatasetInfo(self.name, self.gsd_m, self.sensor, license=self.license, citation=self.citation,
                        url=self.url), root, gsd_m)
        self.dataset_id = dataset_id or self.key
        self.labels_file = labels_file
        self.limit = limit
        self.rejected: list[Rejected] = []      # annotation rows etc. found unusable during discovery

    @property
    def label_vocabulary(self) -> str:
        """The label-system dataset id whose source-label mappings these labels use."""
        return self.vocabulary or self.key

    # --- label sets ------------------------------------------------------------------------------
    def label_sets(self) -> dict[str, tuple[str, ...]]:
        """Every label set this reader writes: id -> its label names (primary set first)."""
        return {self.dataset_id: self.classes}

    # --- the two steps ---------------------------------------------------------------------------
    @abstractmethod
    def discover(self) -> list[SampleRef]:
        """All samples, in a deterministic order."""

    @abstractmethod
    def decode(self, ref: SampleRef, blobs: list[bytes], sha256: str) -> Decoded:
        """Pixels and metadata from the sample's file bytes; raise DataError for unusable data."""

    def visual(self, batch: list[Decoded], state: dict[str, Any]) -> dict[str, Any] | None:
        """Set ``rgb`` of decoded samples that have only bands (multispectral), in the driver.

        ``state`` is the dataset's stored reader state (Zarr group attrs); return a new state to store
        it (e.g. a PCA basis fitted on the first batch), or None.
        """
        return None

    def read(self, ref: SampleRef) -> list[bytes]:
        """The bytes of the sample's files (hashed before decoding, so reruns skip cheaply)."""
        try:
            return [self.root.fs.cat_file(p) for p in ref.paths]
        except (OSError, FileNotFoundError) as exc:
            raise DataError(f"cannot read {ref.rel_path}: {exc}") from exc

    def check_label(self, label: str, where: str) -> None:
        if self.classes and label not in self.classes:
            raise DataError(
                f"{where}: {label!r} is not a class of {self.name} (classes: {', '.join(self.classes)})",
                f"Check that --dataset {self.key} is the right reader for this folder, or use "
                "--dataset imagefolder for a dataset with other class names.",
            )
