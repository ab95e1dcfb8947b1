import dataclasses
import inspect
from pathlib import Path

import pytest
import yaml

from core.config import dump_config, load_config
from core.errors import UserError
from mplt.config import TrackConfig, TrackerConfig

REPO = Path(__file__).resolve().parents[1]


def test_defaults_file_matches_dataclass_defaults():
    from_file = load_config(TrackConfig, REPO / "configs" / "track.yaml")
    assert from_file == TrackConfig()


def test_overrides_are_typed(tmp_path):
    cfg = load_config(
        TrackConfig,
        None,
        ["tracker.n_init=5", "camera.height_m=1.6", "detector.weights=null", "output.render=true"],
    )
    assert cfg.tracker.n_init == 5
    assert cfg.camera.height_m == 1.6
    assert cfg.detector.weights is None
    assert cfg.output.render is True


def test_int_is_accepted_for_float_but_not_the_reverse():
    assert load_config(TrackConfig, None, ["camera.height_m=2"]).camera.height_m == 2.0
    with pytest.raises(UserError, match=r"tracker.n_init must be an integer, got 2.5; fix it"):
        load_config(TrackConfig, None, ["tracker.n_init=2.5"])


@pytest.mark.parametrize(
    "override, message",
    [
        ("tracker.n_inti=3", "unknown config key tracker.n_inti; valid keys here: "),
        ("nonsense=1", "unknown config key nonsense"),
        ("tracker", "--set expects key=value"),
        ("camera.height_m=tall", "camera.height_m must be float"),
    ],
)
def test_bad_overrides_name_the_problem(override, message):
    with pytest.raises(UserError, match=message):
        load_config(TrackConfig, None, [override])


def test_bad_yaml_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("tracker: [unclosed\n")
    with pytest.raises(UserError, match="not valid YAML at line"):
        load_config(TrackConfig, bad)
    with pytest.raises(UserError, match="does not exist"):
        load_config(TrackConfig, tmp_path / "missing.yaml")


def test_dump_round_trips(tmp_path):
    cfg = load_config(TrackConfig, None, ["tracker.max_age_s=2.5", "camera.height_m=2.1"])
    path = tmp_path / "config.yaml"
    path.write_text(dump_config(cfg))
    assert load_config(TrackConfig, path) == cfg
    assert list(yaml.safe_load(path.read_text()))[:2] == ["camera", "detector"]


def test_tracker_config_covers_the_constructor():
    from mplt.finish import FINISH_FIELDS
    from trackers import DeepSortTracker

    params = inspect.signature(DeepSortTracker.__init__).parameters
    config_fields = {f.name for f in dataclasses.fields(TrackerConfig)} - {"name", "mode"}
    config_fields -= set(FINISH_FIELDS)  # the offline finishing of mplt.finish
    wired_by_pipeline = {"mode", "fps", "box_space"}
    constructor = {n for n, p in params.items() if p.kind is p.KEYWORD_ONLY} - wired_by_pipeline
    assert config_fields == constructor


def test_a_section_given_in_part_keeps_the_rest_of_its_own_default():
    """A method's config whose section defaults differ from the section class's (ST-ReIDNet's
    data section, say) keeps them when a YAML file or --set gives a single key of it."""
    from core.config import load_config
    from reid.config import DataConfig, StReidNetConfig

    cfg = load_config(StReidNetConfig, None, ["data.batch_size=96"])
    own = StReidNetConfig().data
    assert cfg.data.batch_size == 96 and own.batch_size != 96
    assert cfg.data.sampler == own.sampler != DataConfig().sampler
    assert cfg.data.erase_prob == own.erase_prob


def test_the_fast_profile_only_narrows_the_detectors_search():
    fast = load_config(TrackConfig, REPO / "configs" / "fast.yaml")
    default = TrackConfig()
    assert (fast.detector.target_px, fast.detector.max_range_m, fast.detector.near_views) == (
        64.0,
        12.0,
        0,
    )
    assert fast.tracker == default.tracker and fast.camera == default.camera
