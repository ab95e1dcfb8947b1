"""The configuration of ``mplt track`` / ``mplt render``: one frozen dataclass per section.

``configs/track.yaml`` holds the defaults below, commented; :mod:`core.config` loads, checks,
overrides and dumps them (the one loader of the project). Library classes take typed sections
or plain keyword arguments (:func:`core.config.kwargs_of`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class CameraConfig:
    """How pixels relate to the ground.

    ``model``: ``auto`` (``pinhole`` when ``calib`` is given, else equirectangular for a 2:1
    frame, else ``image``), ``equirect``, ``pinhole`` (needs ``calib``), ``multiview`` (MPLT's
    2x3 mosaic of perspective views), ``image`` (uncalibrated perspective video: tracking in
    image space, no ground positions, unless ``height_m: auto`` places it from its people) or
    ``nominal`` (an uncalibrated perspective camera at ``height_m``, pitched by ``pitch_deg``,
    through a nominal lens). :func:`mplt.geometry.build_camera` builds the camera.
    """

    model: str = "auto"
    #: camera height above the ground, metres; "auto" = estimated from the people (panoramas;
    #: uncalibrated perspective video: height and pitch), None = unknown (positions from the
    #: person-height prior alone)
    height_m: float | Literal["auto"] | None = "auto"
    #: "auto": ``mplt track`` holds frames back at most this long (seconds) while the height is
    #: estimated, so that every frame is localized with it; 0 = never wait (earlier frames
    #: use the height prior)
    auto_height_delay_s: float = 10.0
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    calib: str | None = None  #: pinhole calibration file (YAML/JSON: K, dist, R|rvec, t)
    #: "auto": how far (fractions of a box's height) the detector's boxes reach above the
    #: head and below the feet, which the height estimate takes off; "auto" = what is
    #: measured for the detector that runs (the offline model's: 0.05 / 0.035), 0 for
    #: detections from a file (give your detector's)
    auto_box_top: float | Literal["auto"] = "auto"
    auto_box_bottom: float | Literal["auto"] = "auto"


@dataclass(frozen=True)
class DetectorConfig:
    """Person detector and its panoramic wrapper."""

    backend: str = "auto"  #: auto | yolo | hog (auto: yolo, else HOG when torch/weights fail)
    weights: str | None = None  #: weights file; None = yolo11n.pt, offline fallback if needed
    confidence_threshold: float = 0.1  #: low: the tracker uses weak detections (BYTE stage)
    nms_iou_threshold: float = 0.5
    imgsz: int = 640  #: network input size (pixels) per tile/view
    panorama_mode: str = "tiles"  #: tiles | views | whole
    tile_overlap: float = 0.25  #: fraction of a tile shared with its neighbour
    seam_pad_px: int = 128  #: circular padding of the global pass on each side of the panorama
    global_pass: bool = True  #: also run the whole (downscaled) panorama for near, big people
    target_px: float = 96.0  #: tiles: the height a 1.70 m person should reach the network at
    zoom_step: float = 1.5  #: tiles: zoom ratio one strip of rows spans
    max_range_m: float = 40.0  #: tiles: the farthest people searched for, metres
    near_views: int = 6  #: tiles: perspective views looking down at people next to the camera
    min_box_height_px: float = 8.0
    batch_size: int = 16  #: images (tiles/views) per forward pass
    device: str = "auto"  #: auto | cpu | cuda | cuda:N
    half: bool | None = None  #: fp16; None = on for CUDA
    #: pytorch | torchscript | onnx | tensorrt: a compiled engine exported once and cached
    #: next to the weights (mplt.detection.engine)
    engine: str = "pytorch"
    #: cut and resample the patches on the detector's device and detect them there (yolo);
    #: None = on for CUDA
    resample_on_device: bool | None = None


@dataclass(frozen=True)
class LocalizeConfig:
    """Ground positions from boxes (see :class:`mplt.localize.Localizer`)."""

    person_height_m: float = 1.70
    person_height_std_m: float = 0.09
    camera_height_std_m: float = 0.05
    pixel_std_px: float = 2.0
    pixel_std_frac: float = 0.05  #: box-edge noise that grows with the box height
    horizon_margin_deg: float = 3.0
    edge_margin_px: float = 2.0
    foot_offset_m: float = 0.0  #: foot point (real ground truth); body centres: ~0.12
    too_short_sigma: float = 4.0  #: boxes too short for a person where their feet are: no position
    foot_row_std_px: float = 1.5  #: a foot row's (mplt.feet) noise: hypot(px, frac * box height)
    foot_row_std_frac: float = 0.04


@dataclass(frozen=True)
class FeetConfig:
    """Where the feet meet the ground in the image (see :class:`mplt.feet.FootFinder`)."""

    #: foreground: the lowest foreground row near each box bottom against a background model
    #: (static cameras; the box bottom where it cannot tell), better on the real suite
    #: (README, *Positions*); box: the detector's box bottoms (a moving camera)
    source: Literal["foreground", "box"] = "foreground"
    history_frames: int = 200  #: frames the background remembers
    var_threshold: float = 16.0  #: MOG2's squared distance for a foreground pixel
    min_fill: float = 0.1  #: part of the box's middle columns a foreground row needs
    window_up: float = 0.3  #: rows searched above the box bottom, in box heights
    window_down: float = 0.3  #: and below it
    #: more of the frame outside the people in the foreground (camera moved): no foot rows
    max_foreground: float = 0.03
    warmup_frames: int = 30  #: frames learnt before the first foot row
    max_gap: float = 0.1  #: longest background gap below the body bridged, in box heights
    #: this many frames in a row over max_foreground (a moving camera) stop it; 0 = never
    moving_frames: int = 30


@dataclass(frozen=True)
class EmbedderConfig:
    """Appearance features for re-identification."""

    #: colour (built in, no weights) | imagenet (ImageNet MobileNetV2 features, offline weights
    #: of mplt[offline]) | reid (needs checkpoint) | fused (colour and checkpoint side by
    #: side) | none
    kind: str = "colour"
    checkpoint: str | None = None  #: a `mplt train` / `mplt adapt` checkpoint (reid, fused)
    colour_weight: float = 0.5  #: fused: the colour features' share of the cosine, in (0, 1)
    crop_height: int = 128  #: colour / imagenet crop; a trained re-ID model uses its own size
    crop_width: int = 64
    #: colour: a background pixel's vote where the foot finder's background model has a mask
    #: (feet.source foreground, a static camera); 1 = whole crops
    foreground_floor: float = 0.2
    foreground_min_px: float = 20.0  #: colour: narrower boxes (pixels) use whole crops
    batch_size: int = 64  #: crops per forward pass of a network (imagenet, reid)
    device: str = "auto"  #: auto | cpu | cuda | cuda:N (imagenet, reid; fp16 on CUDA)


@dataclass(frozen=True)
class TrackerConfig:
    """DeepSort-style tracker (see :class:`trackers.DeepSortTracker` for each field)."""

    name: str = "deepsort"
    mode: str = "auto"  #: auto (ground with a camera height) | ground | image
    max_cosine_distance: float = 0.2
    nn_budget: int = 100
    feature_ema: float | None = None
    gating_probability: float | None = None  #: None = 0.999 ground / 0.95 image mode
    appearance_weight: float = 0.75
    cascade_min_iou: float = 0.05  #: appearance stage: the boxes must overlap this much
    cascade_level_s: float = 0.1  #: appearance stage: tracks unseen this long form one level
    n_init: int = 5
    confirm_first_frame: bool = True
    max_age_frames: int | None = None
    max_age_s: float | None = None  #: None (and no max_age_frames) = 2 s
    max_iou_distance: float = 0.7
    min_score_new_track: float = 0.5
    high_score: float = 0.3  #: weaker detections only extend tracks seen last frame (BYTE)
    low_max_iou_distance: float = 0.4
    reupdate: bool = True  #: OC-SORT re-update of a track found again
    duplicate_iou: float = 0.85  #: a coasting track overlapping a matched one this much goes
    occlusion_noise: float = 5.0  #: box noise std x (1 + this x fraction hidden by a nearer box)
    occluded_feature_max: float = 0.2  #: a box more hidden than this adds no gallery feature
    merged_boxes: bool = True  #: a box holding an unmatched neighbour's prediction counts as hidden
    wide_box_ratio: float = 1.2  #: a box this much wider (w/h) than its track's counts as hidden
    ground_match_radius_m: float = 3.0
    max_speed_mps: float = 3.0
    accel_std: float = 1.5
    init_speed_std: float = 1.5
    reid_window_s: float = 5.0  #: lost-track memory: a deleted track's ID taken back (0: off)
    reid_max_cosine: float = 0.3
    reid_speed_mps: float = 1.5
    #: after a whole input, also write tracks_final.txt/.jsonl (mplt.finish): back-filled,
    #: fragments merged, short gaps interpolated
    finish: bool = True
    finish_max_gap_s: float = 2.0  #: longest gap interpolated
    finish_merge_gap_s: float = 3.0  #: longest gap between two fragments merged into one ID
    finish_merge_max_cosine: float = 0.25  #: their largest appearance (cosine) distance
    finish_merge_speed_mps: float = 2.0  #: how far off the extrapolated walk they may be
    finish_merge_min_s: float = 0.5  #: shorter fragments are never merged
    #: longest gap merged like a short one where both ends are away from the image edges
    finish_hidden_gap_s: float = 5.0
    finish_return_gap_s: float = 15.0  #: longest absence after which one who left keeps the ID
    finish_return_max_cosine: float = 0.1  #: their largest appearance (cosine) distance
    finish_smooth_accel_mps2: float = 0.7  #: the smoother's walking acceleration (0: none)


@dataclass(frozen=True)
class OutputConfig:
    """What a run writes besides tracks.txt / tracks.jsonl / config.yaml / summary.json."""

    render: bool = False  #: also write video.mp4
    write_tentative: bool = False  #: include unconfirmed tracks in the outputs
    write_lost: bool = False  #: include coasting (unmatched) tracks in the outputs


@dataclass(frozen=True)
class RenderConfig:
    """The annotated video (``mplt render``, ``mplt track --render``)."""

    layout: str = "side"  #: side (panorama | map) | below (map under the panorama) | map | pano
    width: int = 1920  #: output video width, px (panels scaled to fit; height follows)
    map_size_px: int = 720  #: bird's-eye map panel size (square), before scaling to the layout
    map_range_m: float | None = None  #: map radius in metres; None = auto from the tracks
    trail_length: int = 30  #: frames of trail behind each person (panorama and map)
    show_confidence: bool = False
    crf: int = 23  #: H.264 quality (lower = better, bigger)


@dataclass(frozen=True)
class FleetConfig:
    """``mplt track`` over many videos (:mod:`mplt.fleet`)."""

    workers: int = 1  #: videos tracked at once, each in its own process
    retries: int = 1  #: a failed video is tried again this many times
    ray_num_cpus: float = 1.0  #: Ray: CPUs each video's task asks for
    ray_num_gpus: float = 0.0  #: Ray: GPUs each video's task asks for (e.g. 1, or 0.5 to share)


@dataclass(frozen=True)
class AdaptConfig:
    """``mplt adapt`` (:mod:`mplt.adapt`): the re-ID encoder fine-tuned on a run's own tracklets.

    Mining: a track's confirmed, detected rows (no coasting predictions) at confidence
    ``min_conf`` or more, cut into pseudo-identities at gaps longer than ``max_gap_frames``
    (the tracker may have switched people there) and every ``max_tracklet_frames``; pieces
    observed on fewer than ``min_frames`` frames are dropped. Two pieces seen in the same frame
    are different people (the negatives); the video's time, cut into ``time_segments``, plays
    ECN's camera. Frames of every ``holdout_every``-th block of ``holdout_block_frames`` are
    held out to measure the embeddings' agreement with the pseudo-identities.
    """

    min_conf: float = 0.5
    min_frames: int = 8  #: shortest pseudo-identity kept, observed frames
    max_gap_frames: int = 3  #: a longer gap in a track starts a new pseudo-identity
    max_tracklet_frames: int = 150  #: a longer piece is cut (frames, 0 = never)
    frame_step: int = 2  #: one crop every this many frames of a tracklet
    max_crops_per_id: int = 48  #: crops kept per pseudo-identity (evenly spread)
    time_segments: int = 4  #: the "camera" labels: the video's frames cut into this many spans
    holdout_block_frames: int = 10
    holdout_every: int = 5  #: one block in this many is held out (at least 2)
    #: fine-tuning (the reid "tracklet" method on the shared engine)
    init: str | None = None  #: a `mplt train`/`mplt adapt` checkpoint; None = offline ImageNet
    backbone: str = "mobilenetv2"  #: without init: mobilenetv2 (offline ImageNet) | tiny (tests)
    epochs: int = 6
    max_steps_per_epoch: int | None = 20
    batch_ids: int = 8  #: pseudo-identities per batch (co-occurring ones first)
    crops_per_id: int = 4
    lr: float = 1e-4  #: Adam learning rate of the encoder
    #: ECN's neighbourhood invariance: the k nearest pseudo-identities of other time segments
    #: that never share a frame with one are its soft positives (someone who came back); 0 = off
    knn: int = 2
    device: str = "auto"  #: auto | cpu | cuda | cuda:N
    seed: int = 0
    #: ``mplt track --adapt``: at most this many track -> adapt -> track rounds
    iterations: int = 1
    #: label-free measure a round must improve to be kept and to go on: ``agreement`` (the
    #: held-out tracklet-retrieval mAP of the new encoder over the old one's, on the same
    #: tracklets) or ``fragmentation`` (agreement must rise and the tracks' detections per ID
    #: too, by ``min_gain``)
    stop_metric: Literal["agreement", "fragmentation"] = "fragmentation"
    #: ``mplt track --adapt``: the re-tracking's features: ``fused`` = the colour statistics
    #: and the adapted encoder side by side (embedder.kind fused), ``reid`` = the encoder alone,
    #: ``both`` = a re-tracking with each, the stopping rule keeping the better
    retrack_embedder: Literal["fused", "reid", "both"] = "both"
    #: ``mplt track --adapt``: the appearance gate (tracker.max_cosine_distance) of the
    #: re-tracking: "auto" = measured on the tracklets for the re-tracking's features, a
    #: number, or None = the run's own
    retrack_gate: float | Literal["auto"] | None = None
    min_gain: float = 0.005  #: smallest rise of the measure that counts (absolute for mAP,
    #: relative for detections per ID)


@dataclass(frozen=True)
class TrackConfig:
    """Everything ``mplt track`` needs besides the input."""

    camera: CameraConfig = field(default_factory=CameraConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    localize: LocalizeConfig = field(default_factory=LocalizeConfig)
    feet: FeetConfig = field(default_factory=FeetConfig)
    embedder: EmbedderConfig = field(default_factory=EmbedderConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    fleet: FleetConfig = field(default_factory=FleetConfig)
    adapt: AdaptConfig = field(default_factory=AdaptConfig)
    batch_frames: int = 4  #: frames decoded and detected together
    #: detect (and take appearance) on every N-th frame only; the tracker predicts the
    #: frames between, whose tracks are written too (1: every frame); tracker.n_init counts
    #: frames, so a track is confirmed after ceil(n_init / N) detections
    detect_every: int = 1
    #: frames decoded ahead in a thread while the pipeline works (0: decoded in turn)
    decode_ahead: int = 8
