"""
Fuzzing the loaders of untrusted input with hypothesis: random malformed COCO JSON, classification and
segmentation folders and config files end in the documented errors (DatasetError for datasets,
ValueError or FileNotFoundError for configs), never in another exception or a hang.
"""
import json
import string
import uuid

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from d2ext.data import DatasetError

from d2ext.data.coco import load_checked_coco_json

from d2ext.data.image_folder import load_image_folder

from d2ext.semantic_seg.data import load_sem_seg_folder
from d2ext.config import load_config

FUZZ = settings(max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 1000), st.floats(allow_nan=True, allow_infinity=True),
                    st.text(string.printable, max_size=12))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(string.ascii_letters, max_size=8), inner, max_size=4)),
                      max_leaves=12)


def expect_only(errors, load, *args):
    """Call load(*args); an exception of `errors` is an expected outcome, any other fails the test.
    The outcome ("accepted" or the error's type) is counted in hypothesis' statistics."""
    try:
        load(*args)
    except errors as e:
        event(type(e).__name__)
        return
    event("accepted")


def valid_coco():
    return {"images": [{"id": 1, "file_name": "a.png", "height": 8, "width": 8}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 4, 4], "area": 16, "iscrowd": 0}],
            "categories": [{"id": 1, "name": "thing"}]}


@st.composite
def malformed_coco(draw):
    """A valid COCO dict with one to three fields (at any depth of the first image/annotation) replaced by junk."""
    coco = valid_coco()
    for _ in range(draw(st.integers(1, 3))):
        section = draw(st.sampled_from(["images", "annotations", "categories", "top"]))
        if section == "top":
            coco[draw(st.sampled_from(["images", "annotations", "categories"]))] = draw(values)
        elif isinstance(coco.get(section), list) and coco[section] and isinstance(coco[section][0], dict):
            coco[section][0][draw(st.sampled_from(sorted(coco[section][0]) + ["extra"]))] = draw(values)
    return coco


@pytest.fixture(scope="module")
def image_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    cv2.imwrite(str(root / "a.png"), np.zeros((8, 8, 3), np.uint8))
    return str(root)


@FUZZ
@given(coco=st.one_of(malformed_coco(), values), raw=st.booleans(), text=st.text(max_size=40), skip_invalid=st.booleans())
def test_coco_json_loader_raises_only_dataset_errors(coco, raw, text, skip_invalid, image_root, tmp_path):
    json_file = tmp_path / "fuzz.json"
    json_file.write_text(text if raw else json.dumps(coco, allow_nan=True))
    expect_only(DatasetError, load_checked_coco_json, str(json_file), image_root, f"fuzz_{uuid.uuid4().hex}", skip_invalid)


@FUZZ
@given(names=st.lists(st.text(string.ascii_letters + string.digits + "._-", min_size=1, max_size=8), max_size=4),
       content=st.binary(max_size=64), classes=st.one_of(st.none(), st.lists(st.text(string.ascii_letters, max_size=4), max_size=3)))
def test_image_folder_loader_raises_only_dataset_errors(names, content, classes, tmp_path_factory):
    root = tmp_path_factory.mktemp("folder")
    for index, name in enumerate(names):
        folder = root / name if index % 2 else root / "cls"
        folder.mkdir(exist_ok=True)
        (folder / f"{index}.png").write_bytes(content)
    expect_only(DatasetError, load_image_folder, str(root), classes)


@FUZZ
@given(image=st.binary(max_size=64), mask=st.binary(max_size=64), same_name=st.booleans())
def test_sem_seg_folder_loader_raises_only_dataset_errors(image, mask, same_name, tmp_path_factory):
    root = tmp_path_factory.mktemp("semseg")
    (root / "images").mkdir()
    (root / "masks").mkdir()
    (root / "images" / "a.png").write_bytes(image)
    (root / "masks" / ("a.png" if same_name else "b.png")).write_bytes(mask)
    expect_only(DatasetError, load_sem_seg_folder, str(root / "images"), str(root / "masks"))


@FUZZ
@given(body=st.one_of(st.text(max_size=80), values.map(json.dumps)),
       key=st.sampled_from(["MODEL.DEVICE", "SOLVER.BASE_LR", "DATASETS.TRAIN", "NO.SUCH_KEY", "INPUT.CLS.RESIZE", "_BASE_"]))
def test_config_loader_raises_only_value_and_file_errors(body, key, tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "fuzz.yaml"
    path.write_text(body if body.strip().startswith(("{", "[")) else f"{key}: {body}")
    expect_only((ValueError, FileNotFoundError), load_config, str(path))
