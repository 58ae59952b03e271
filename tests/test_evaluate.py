"""``ocr eval`` names each dataset so that split folders stay distinguishable."""
from ocr.engine.evaluate import dataset_name


def test_split_folders_are_named_with_their_parent():
    assert dataset_name("data/real/ic15_det/val") == "ic15_det_val"
    assert dataset_name("data/real/svt") == "svt"
    assert dataset_name("val") == "val"
