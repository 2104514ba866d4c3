"""Small Hugging Face data sets built with `datasets` itself, in the three places a user keeps them.

- `hub_folder`: a folder in hub layout (one parquet file per config and split, and a README whose
  `configs:` block names them), as `huggingface-cli download` or a `git clone` of the repo leaves it.
- `save_to_disk_folder`: a `DatasetDict.save_to_disk` folder.
- `cache_offline`: the prepared copy `datasets` keeps in `HF_DATASETS_CACHE` after a first online
  load (`<owner>___<name>/<config>/...`), which `load_dataset("owner/name", config)` reads offline.

Every builder takes `{config: {split: {column: values}}}` plus optional `datasets.Features` per config,
so each test writes the real data sets' column names, config names and label features.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Mapping

Configs = Mapping[str, Mapping[str, Mapping[str, list]]]


def _dataset(columns: Mapping[str, list], features: Any = None):
    import datasets

    return datasets.Dataset.from_dict(dict(columns), features=features)


def hub_folder(root: Path, hub_id: str, configs: Configs, *, features: Mapping[str, Any] | None = None) -> Path:
    """`root/OWNER/NAME` in hub layout; returns that folder (pass it as `hf:FOLDER`)."""
    folder = Path(root) / hub_id
    folder.mkdir(parents=True, exist_ok=True)
    card = ["---", "configs:"]
    for config, splits in configs.items():
        card += [f"- config_name: {config}", "  data_files:"]
        for split, columns in splits.items():
            target = folder / config / f"{split}-00000-of-00001.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            _dataset(columns, (features or {}).get(config)).to_parquet(str(target))
            card += [f"  - split: {split}", f"    path: {config}/{split}-*"]
    card += ["---", f"# {hub_id} (test copy)", ""]
    (folder / "README.md").write_text("\n".join(card), encoding="utf-8")
    return folder


def save_to_disk_folder(folder: Path, splits: Mapping[str, Mapping[str, list]], *, features: Any = None) -> Path:
    import datasets

    datasets.DatasetDict({name: _dataset(columns, features) for name, columns in splits.items()}).save_to_disk(str(folder))
    return Path(folder)


def cache_offline(cache_root: Path, hub_id: str, configs: Configs, *, features: Mapping[str, Any] | None = None, work: Path) -> Path:
    """Put `hub_id`'s configs into `cache_root` (HF_DATASETS_CACHE) as a first online load would have."""
    import datasets

    source = hub_folder(work, hub_id, configs, features=features)
    prepared = Path(work) / "prepared"
    for config in configs:
        datasets.load_dataset(str(source), config, cache_dir=str(prepared))
    owner, name = hub_id.split("/")
    target = Path(cache_root) / f"{owner}___{name}"
    # A local folder's prepared copy sits under the folder's name; the hub's under owner___name.
    shutil.copytree(prepared / name, target, dirs_exist_ok=True)
    return target


def laser_tatoeba_files(folder: Path, pairs: Mapping[str, tuple[list[str], list[str]]]) -> Path:
    """LASER's Tatoeba layout, `tatoeba.{laser}-eng.{laser|eng}`, for comparing a hub copy with the files."""
    folder.mkdir(parents=True)
    for laser, (other, english) in pairs.items():
        (folder / f"tatoeba.{laser}-eng.{laser}").write_text("\n".join(other) + "\n", encoding="utf-8")
        (folder / f"tatoeba.{laser}-eng.eng").write_text("\n".join(english) + "\n", encoding="utf-8")
    return folder
