"""Listing ImageNet-style data: sorted folders, counted skips, TFRecord scans."""

import os

import pytest

from hrnet_tf.classification import sources
from hrnet_tf.errors import DataError

from .helpers import add_bad_files, image_folder


def test_listing_is_sorted_and_skips_and_counts_bad_files(tmp_path):
    image_folder(tmp_path, num_classes=2, train_per_class=3)
    bad = add_bad_files(tmp_path / "train" / "n00000000")
    listing = sources.list_image_folder(tmp_path / "train")
    assert listing.class_names == ["n00000000", "n00000001"]
    # The PNG named .JPEG is a complete image and stays; the three others are skipped.
    assert sorted(p for p, _ in listing.skipped) == bad
    assert listing.labels == [0, 0, 0, 0, 1, 1, 1]
    assert listing.paths == sorted(listing.paths)  # class folders and files in sorted order
    report = listing.report()
    assert report.startswith(f"{tmp_path / 'train'}: skipped 3 of 10 files")
    assert all(path in report for path in bad) and "truncated JPEG" in report


def test_missing_or_empty_folder_and_unknown_val_class_are_one_line(tmp_path):
    with pytest.raises(DataError) as info:
        sources.list_image_folder(tmp_path / "nope" / "train")
    assert str(tmp_path / "nope" / "train") in str(info.value)
    assert "train/<class>" in str(info.value) and "\n" not in str(info.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no class folders"):
        sources.list_image_folder(tmp_path / "empty")
    image_folder(tmp_path / "data")
    os.rename(tmp_path / "data" / "val" / "n00000001", tmp_path / "data" / "val" / "n99")
    with pytest.raises(DataError, match="n99: class folder not present in the training split"):
        sources.list_image_folder(tmp_path / "data" / "val", ["n00000000", "n00000001"])


def test_tfrecord_scan_counts_and_names_bad_records(tmp_path):
    image_folder(tmp_path / "data", num_classes=3, train_per_class=6)
    add_bad_files(tmp_path / "data" / "train" / "n00000000")
    files = sources.write_tfrecords(str(tmp_path / "data" / "train"),
                                    str(tmp_path / "rec" / "train-{:05d}-of-00002"), label_offset=1)
    split = sources.scan_tfrecords(tmp_path / "rec", "train-*", label_offset=1, num_classes=3)
    # 18 images + the PNG named .JPEG are fine; empty, text and truncated are not.
    assert split.files == files and sum(split.records) == 22 and split.num_examples == 19
    assert len(split.skipped) == 3 and all(why == "not a complete image" for _, why in split.skipped)
    # names are file#record in file order
    assert split.record_name(split.records[0]) == f"{files[1]}#0"
    assert "skipped 3 of 22 records" in split.report()
    # a label offset that is wrong puts labels out of range: counted too
    wrong = sources.scan_tfrecords(tmp_path / "rec", "train-*", label_offset=0, num_classes=3)
    assert any("label 3 outside 0..2" in why for _, why in wrong.skipped)
    with pytest.raises(DataError, match="no TFRecord shards match"):
        sources.tfrecord_files(tmp_path / "rec", "validation-*")
