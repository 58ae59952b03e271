import pytest
import torch

from ocr.data.rec_dataset import MixedDataset, RatioSampler, RecFilter, RecLmdbDataset, collate_rec
from ocr.text import load_charset
from tests.helpers import make_rec_lmdb


def test_filters_report_reasons(tmp_path):
    path = make_rec_lmdb(tmp_path / "a", ["hello", "wörld", "x" * 30, "ok"])
    ds = RecLmdbDataset(path, load_charset("ascii95"), filt=RecFilter(max_length=25))
    assert ds.labels == ["hello", "ok"]
    assert ds.stats["characters outside charset"] == 1
    assert ds.stats["longer than 25"] == 1
    assert ds.unknown_chars == {"ö": 1}
    assert "kept 2 of 4" in ds.report()


def test_strip_mode_keeps_sample_and_counts(tmp_path):
    path = make_rec_lmdb(tmp_path / "a", ["Don't", "A-1"])
    ds = RecLmdbDataset(path, load_charset("lower36"), filt=RecFilter(unknown="strip"))
    assert ds.labels == ["dont", "a1"]
    assert ds.unknown_chars == {"'": 1, "-": 1}


def test_corrupt_record_is_skipped_and_counted(tmp_path):
    path = make_rec_lmdb(tmp_path / "a", ["one", "two", "three"], corrupt=(1,))
    ds = RecLmdbDataset(path, load_charset("lower36"))
    img, label = ds[1]
    assert label == "three" and ds.corrupt == 1
    assert img.shape[0] == 3 and img.shape[1] == 32


def test_collate_pads_to_common_width(tmp_path):
    path = make_rec_lmdb(tmp_path / "a", ["a", "a much longer text"])
    ds = RecLmdbDataset(path, load_charset("ascii95"))
    images, labels = collate_rec([ds[0], ds[1]])
    assert images.shape[0] == 2 and images.shape[3] % 8 == 0
    assert labels.texts == ["a", "a much longer text"]
    assert labels.widths == [ds[0][0].shape[2], ds[1][0].shape[2]] and labels.widths[0] < images.shape[3]


def test_collate_trailing_pad_leaves_grey_after_the_widest(tmp_path):
    path = make_rec_lmdb(tmp_path / "a", ["a", "a much longer text"])
    ds = RecLmdbDataset(path, load_charset("ascii95"))
    plain, _ = collate_rec([ds[0], ds[1]])
    padded, labels = collate_rec([ds[0], ds[1]], trailing_pad=2.0)
    widest = max(labels.widths)
    assert padded.shape[3] >= widest + 4 * padded.shape[2] > plain.shape[3]  # read grey + edge grey
    assert torch.all(padded[1, :, :, widest:] == 0)  # mid-grey after the text
    assert torch.equal(padded[:, :, :, : plain.shape[3]][..., :widest], plain[..., :widest])
    assert labels.read_widths == [w + 2 * padded.shape[2] for w in labels.widths]
    assert collate_rec([ds[0], ds[1]])[1].read_widths is None


def test_ratio_sampler_is_deterministic_and_resumable(tmp_path):
    a = RecLmdbDataset(make_rec_lmdb(tmp_path / "a", ["aa"] * 20), load_charset("lower36"))
    b = RecLmdbDataset(make_rec_lmdb(tmp_path / "b", ["bbbbbb"] * 5), load_charset("lower36"))
    mixed = MixedDataset([a, b])
    it = iter(RatioSampler(mixed, [0.8, 0.2], batch_size=4, seed=3, bucket=4))
    batches = [next(it) for _ in range(10)]
    it2 = iter(RatioSampler(mixed, [0.8, 0.2], batch_size=4, seed=3, bucket=4, start_batch=6))
    assert [next(it2) for _ in range(4)] == batches[6:]
    from_b = sum(idx >= 20 for batch in batches for idx, _ in batch)
    assert 2 <= from_b <= 18  # about 20% of 40 draws
    draws = [d for batch in batches for _, d in batch]
    assert len(set(draws)) == len(draws)


def test_sampler_rejects_bad_ratios(tmp_path):
    a = RecLmdbDataset(make_rec_lmdb(tmp_path / "a", ["aa"]), load_charset("lower36"))
    with pytest.raises(ValueError):
        RatioSampler(MixedDataset([a]), [0.5, 0.5], batch_size=2)
    with pytest.raises(ValueError):
        RatioSampler(MixedDataset([a]), [0.0], batch_size=2)


def test_augment_setting_picks_the_profile(tmp_path):
    path = make_rec_lmdb(tmp_path / "a", ["hello", "ok"])
    cs = load_charset("ascii95")
    assert RecLmdbDataset(path, cs).augment is None
    assert RecLmdbDataset(path, cs, augment=True).augment.profile == "light"
    assert RecLmdbDataset(path, cs, augment="scene").augment.profile == "scene"
    with pytest.raises(ValueError, match="augmentation"):
        RecLmdbDataset(path, cs, augment="heavy")


def test_width_jitter_stretches_some_samples_the_same_way_on_every_read(tmp_path):
    from ocr.data.rec_transforms import WidthJitter

    path = make_rec_lmdb(tmp_path / "a", ["hello", "world", "text", "crops"] * 5)
    cs = load_charset("ascii95")
    plain = RecLmdbDataset(path, cs, seed=4)
    jittered = RecLmdbDataset(path, cs, seed=4, width_jitter=WidthJitter(0.5, 0.6, 1.4))
    ratios = []
    for draw in range(20):
        a, _ = plain.get(draw, draw)
        b, label = jittered.get(draw, draw)
        again, _ = jittered.get(draw, draw)
        assert torch.equal(b, again) and b.shape[1] == a.shape[1] == 32
        ratios.append(b.shape[2] / a.shape[2])
    assert all(0.55 <= r <= 1.45 for r in ratios)
    stretched = [r for r in ratios if abs(r - 1) > 0.03]
    assert 3 <= len(stretched) <= 17  # about half of the samples
    assert min(ratios) < 0.95 and max(ratios) > 1.05  # narrower and wider both



def test_width_batches_sort_on_the_jittered_widths_they_are_read_at(tmp_path):
    """With width jitter, a batch holds crops of like width as read (after the stretch), so that
    jitter does not add padding; each sample's stretch still depends on its draw alone."""
    import random

    from ocr.data.rec_transforms import WidthJitter

    words = ["".join(random.Random(i).choices("abcdefgh", k=1 + i % 12)) for i in range(40)]
    data = RecLmdbDataset(make_rec_lmdb(tmp_path / "a", words), load_charset("lower36"), seed=2,
                          width_jitter=WidthJitter(1.0, 0.5, 2.0))
    sampler = RatioSampler(MixedDataset([data]), [1.0], batch_size=4, seed=1, bucket=5, by_width=True)
    it = iter(sampler)
    batches = [next(it) for _ in range(5)]  # one bucket: 20 samples sorted together
    widths = sorted([data.get(i, draw)[0].shape[2] for i, draw in batch] for batch in batches)
    for narrower, wider in zip(widths, widths[1:]):
        assert max(narrower) <= min(wider) + 2  # sorted as read (1 px of tie-breaking noise each)
    draws = [d for batch in batches for _, d in batch]
    assert sorted(draws) == list(range(20))
    again = iter(RatioSampler(MixedDataset([data]), [1.0], batch_size=4, seed=1, bucket=5, by_width=True))
    assert [next(again) for _ in range(5)] == batches

def test_width_jitter_rejects_bad_settings():
    from ocr.data.rec_transforms import WidthJitter

    for bad in [(1.5, 0.6, 1.4), (0.5, 1.2, 1.4), (0.5, 0.6, 0.9), (0.5, 0.0, 1.4)]:
        with pytest.raises(ValueError, match="width_jitter"):
            WidthJitter(*bad)
