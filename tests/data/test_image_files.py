"""The `images` and `unpaired` dataset types: every image under a folder from its listing, channel counts, clear errors."""
import logging
import os

import pytest
from detectron2.config import CfgNode
from detectron2.data import DatasetCatalog, MetadataCatalog
from PIL import Image

from d2ext.config import get_cfg
from d2ext.data import DatasetError, build_mapper, register_declared_datasets
from d2ext.gan.data import (count_image_channels, load_image_files, load_unpaired, log_channel_conversions,
                            register_image_files, register_unpaired)
from opened_files import opened_files

CHANNELS = {"L": 1, "LA": 2, "RGB": 3, "P": 3, "RGBA": 4}


def _write_image(path, width=8, height=6, mode="RGB"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.new(mode, (width, height)).save(path)


def _declare(cfg, name, **entry):
    cfg.DATASETS.REGISTER[name] = CfgNode(entry)


@pytest.fixture
def faces(tmp_path):
    """root/ with images at three depths, an upper-case extension, a non-image and hidden files and folders."""
    root = tmp_path / "faces"
    _write_image(root / "b.png", 10, 20)
    _write_image(root / "a" / "z.JPG", 12, 4)
    _write_image(root / "a" / "deep" / "c.webp", 16, 12)
    _write_image(root / ".cache" / "d.png")
    _write_image(root / ".hidden.png")
    (root / "a" / "notes.txt").write_text("not an image")
    return root


def test_images_at_any_depth_sorted_by_path_hidden_skipped(faces):
    records = load_image_files(str(faces))
    assert [r["image_id"] for r in records] == ["a/deep/c.webp", "a/z.JPG", "b.png"]
    assert records[0] == {"file_name": str(faces / "a" / "deep" / "c.webp"), "image_id": "a/deep/c.webp"}


def test_missing_root_and_root_without_images(faces, tmp_path):
    with pytest.raises(DatasetError, match=r"missing: image root is not a directory.*ROOT"):
        load_image_files(str(tmp_path / "missing"))
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "sub" / "notes.txt").write_text("")
    _write_image(tmp_path / "empty" / ".hidden" / "x.png")
    with pytest.raises(DatasetError, match=rf"{tmp_path / 'empty'}: no images \(\.png, \.jpg, .*\) under this folder.*"
                                           r"Add images or point ROOT \(or ROOT_A, ROOT_B\) at the folder"):
        load_image_files(str(tmp_path / "empty"))


def test_loading_opens_no_image_and_the_mapper_names_an_unreadable_one(faces, tmp_path):
    (faces / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    _write_image(tmp_path / "zebras" / "0.png")
    (tmp_path / "zebras" / "1.png").write_bytes(b"not an image")
    with opened_files(tmp_path) as opened:
        register_image_files("faces_unopened", str(faces))
        register_unpaired("faces2zebras_unopened", str(faces), str(tmp_path / "zebras"))
        records = DatasetCatalog.get("faces_unopened")
        unpaired = DatasetCatalog.get("faces2zebras_unopened")
    assert opened == [] and (len(records), len(unpaired)) == (4, 6)
    cfg = get_cfg()
    cfg.INPUT.DATASET_MAPPER = "GANDatasetMapper"
    mapper = build_mapper(cfg, is_train=False)
    mapped = mapper(next(r for r in records if r["image_id"] == "a/z.JPG"))
    assert (mapped["height"], mapped["width"]) == (4, 12)
    with pytest.raises(DatasetError, match=r"a/broken\.png: cannot read this image"):
        mapper(next(r for r in records if r["image_id"] == "a/broken.png"))


@pytest.fixture
def mixed(tmp_path):
    """Records of one image per mode of CHANNELS, plus a second RGB image."""
    for mode in CHANNELS:
        _write_image(tmp_path / "mixed" / f"{mode}.png", mode=mode)
    _write_image(tmp_path / "mixed" / "RGB2.png")
    for mode in CHANNELS:
        with Image.open(tmp_path / "mixed" / f"{mode}.png") as image:
            assert image.mode == mode  # PNG keeps the mode, so the counts below test the mapping
    return load_image_files(str(tmp_path / "mixed"))


def test_channel_counts_from_the_header_mode(mixed):
    assert count_image_channels(mixed) == {1: 1, 2: 1, 3: 3, 4: 1}


def test_conversions_are_logged_with_counts(mixed, caplog):
    with caplog.at_level(logging.WARNING, logger="d2ext"):
        counts = log_channel_conversions(mixed, "RGB", "mixed")
    assert counts == {1: 1, 2: 1, 3: 3, 4: 1}
    assert ("dataset 'mixed': 1 of 6 images have 1 channel, 1 have 2 (alpha dropped), 1 have 4 (alpha dropped); "
            "they are converted to RGB (INPUT.FORMAT) when read.") in caplog.text
    assert 'INPUT.FORMAT "L"' not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="d2ext"):
        log_channel_conversions(mixed, "L", "mixed")
    assert ("dataset 'mixed': 1 of 6 images have 2 channels (alpha dropped), 3 have 3, 1 have 4 (alpha dropped); "
            "they are converted to L (INPUT.FORMAT) when read.") in caplog.text


def test_a_large_dataset_is_sampled(mixed, caplog):
    """Of more records than the sample size, only evenly spaced ones are read: here 0, 2 and 4 of 6."""
    for record in mixed[1::2]:
        with open(record["file_name"], "wb") as f:
            f.write(b"not read")
    with caplog.at_level(logging.WARNING, logger="d2ext"):
        counts = log_channel_conversions(mixed, "RGB", "mixed", sample_size=3)
    assert counts == {1: 1, 3: 2}  # L.png, P.png and RGB2.png of L, LA, P, RGB, RGB2, RGBA
    assert "dataset 'mixed' (3 evenly spaced of its 6 images read): 1 of 3 images have 1 channel" in caplog.text


def test_no_conversion_logs_nothing_and_all_grayscale_suggests_format_l(mixed, caplog):
    rgb = [r for r in mixed if r["image_id"] in ("RGB.png", "RGB2.png")]
    gray = [r for r in mixed if r["image_id"] == "L.png"]
    with caplog.at_level(logging.INFO, logger="d2ext"):
        log_channel_conversions(rgb, "BGR", "rgb")
        log_channel_conversions(gray, "L", "gray")
    assert caplog.text == ""
    with caplog.at_level(logging.WARNING, logger="d2ext"):
        log_channel_conversions(gray, "RGB", "gray")
    assert "1 of 1 images have 1 channel; they are converted to RGB" in caplog.text
    assert 'Set INPUT.FORMAT "L" to train a 1-channel model' in caplog.text


def test_unpaired_records_are_domain_a_then_b(faces, tmp_path):
    _write_image(tmp_path / "zebras" / "0.png")
    records = load_unpaired(str(faces), str(tmp_path / "zebras"))
    assert [(r["image_id"], r["domain"]) for r in records] == [
        ("A/a/deep/c.webp", "A"), ("A/a/z.JPG", "A"), ("A/b.png", "A"), ("B/0.png", "B")]
    assert records[-1]["file_name"] == str(tmp_path / "zebras" / "0.png")


def test_declared_in_config(faces, tmp_path, monkeypatch):
    """Relative roots are resolved against the working directory; a missing root fails only when loaded."""
    monkeypatch.chdir(tmp_path)
    _write_image(tmp_path / "zebras" / "0.png")
    cfg = get_cfg()
    _declare(cfg, "faces_cfg", TYPE="images", ROOT="faces")
    _declare(cfg, "faces2zebras_cfg", TYPE="unpaired", ROOT_A="faces", ROOT_B=str(tmp_path / "zebras"))
    _declare(cfg, "absent_cfg", TYPE="images", ROOT=str(tmp_path / "absent"))
    register_declared_datasets(cfg)
    assert [r["image_id"] for r in DatasetCatalog.get("faces_cfg")] == ["a/deep/c.webp", "a/z.JPG", "b.png"]
    metadata = MetadataCatalog.get("faces_cfg")
    assert (metadata.evaluator_type, metadata.image_root) == ("gan", str(faces))
    assert [r["domain"] for r in DatasetCatalog.get("faces2zebras_cfg")] == ["A", "A", "A", "B"]
    metadata = MetadataCatalog.get("faces2zebras_cfg")
    assert (metadata.evaluator_type, metadata.domains) == ("gan", ["A", "B"])
    assert (metadata.image_root_a, metadata.image_root_b) == (str(faces), str(tmp_path / "zebras"))
    with pytest.raises(DatasetError, match=r"absent: image root is not a directory"):
        DatasetCatalog.get("absent_cfg")


def test_declared_entry_with_a_missing_key_names_it():
    cfg = get_cfg()
    _declare(cfg, "half_cfg", TYPE="unpaired", ROOT_A="a")
    with pytest.raises(DatasetError, match=r"DATASETS.REGISTER.half_cfg \(TYPE unpaired\): missing key\(s\) "
                                           r"\['ROOT_B'\]"):
        register_declared_datasets(cfg)
