"""Where and how big people are in a panorama: the scale plan of the panoramic detector.

A standing person of height ``H`` at horizontal range ``r`` from a camera ``h`` above the
ground has its feet at ground elevation ``e_b = -atan(h / r)`` and its head top at
``e_t = atan((H - h) / r)``: its angular height ``e_t - e_b`` is known for every range once
the camera height is. The plan turns that into *strips*: bands of panorama rows, each
resampled by one zoom so that the people whose feet lie in the band reach the network at
about ``target_px`` tall. Strips are built from the far limit inwards, a new one starting
whenever the zoom the people need has changed by more than ``zoom_step`` (so every person
of a strip is within ``target_px / sqrt(zoom_step) .. target_px * sqrt(zoom_step)``); the
rows of a strip run from the highest head to the lowest feet of its people plus a margin
(for taller people, box margins and tilt), through the camera's rotation, so a tilted camera
gets bands that follow its horizon. Near the camera (feet steeper than
``near_elevation_deg``, or where people are already big in the whole shrunk panorama) the
strips stop: there the global pass and perspective views looking down take over.

Without a camera height a small set of elevation bands is used (:func:`plan_unknown_height`)
until the height is estimated from the people (:mod:`mplt.selfcal`).

All angles are radians inside; the public arguments are degrees and metres. Rows are panorama
pixel rows (0 at the top), zooms output pixels per panorama pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mplt.geometry import Camera

#: Person heights (metres) the rows of a strip must hold: the prior's range.
PERSON_HEIGHT_RANGE_M = (1.45, 2.0)
#: A strip keeps boxes from MIN_NETWORK_FACTOR to MAX_NETWORK_FACTOR target heights tall at
#: the network (a known height's strips: from a third of their smallest people, for the
#: half-hidden): people seen bigger than the target are boxed well too -- on TUD-Stadtmitte
#: placed on the sphere, people zoomed to 2-3 targets matched their ground truth at IoU
#: 0.65-0.85 against 0.45-0.6 at one target -- and the strip that sees a person most
#: magnified within that range supplies its box (:class:`mplt.detection.PanoramicDetector`).
MIN_NETWORK_FACTOR, MAX_NETWORK_FACTOR = 0.6, 3.0


@dataclass(frozen=True)
class Strip:
    """One band of panorama rows, resampled by one zoom for the people whose feet are in it.

    Attributes:
        top, bottom: panorama rows ``[top, bottom)`` the strip covers.
        zoom: vertical zoom, output px per panorama px (> 1 upsamples).
        zoom_x: horizontal zoom; differs from ``zoom`` only for frames whose angular pixels
            are not square (full-sphere video stored at 16:9).
        feet_top, feet_bottom: rows ``[feet_top, feet_bottom)`` where the feet of this strip's
            people lie; a box whose bottom is elsewhere belongs to another strip.
        min_box_px: boxes lower than this (panorama px) are not this strip's people (a head
            or a hand of a nearer person).
        max_box_px: boxes taller than this (panorama px) are not either (a nearer person,
            whom a strip of lower zoom, the global pass or a view sees better).
        ranges_m: (near, far) ranges of its people, metres; NaN when the height is unknown.
    """

    top: int
    bottom: int
    zoom: float
    zoom_x: float
    feet_top: int
    feet_bottom: int
    min_box_px: float
    max_box_px: float
    ranges_m: tuple[float, float]


def person_elevations(
    camera_height_m: float, ranges_m: np.ndarray, person_height_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """(feet, head top) ground elevations, radians, of standing people at ``ranges_m`` (R,)."""
    r = np.asarray(ranges_m, np.float64)
    return -np.arctan2(camera_height_m, r), np.arctan2(person_height_m - camera_height_m, r)


def _rows_of_elevations(camera: Camera, lo_rad: float, hi_rad: float) -> tuple[int, int]:
    """Rows ``[top, bottom)`` holding every pixel whose ground elevation is in ``[lo, hi]``."""
    cols = np.linspace(0.5, camera.width - 0.5, 64)
    rows = np.arange(camera.height) + 0.5
    uv = np.stack(np.meshgrid(cols, rows), axis=-1).reshape(-1, 2)
    el = np.arcsin(np.clip(camera.pixel_to_ray(uv)[:, 2], -1.0, 1.0))
    inside = ((el >= lo_rad) & (el <= hi_rad)).reshape(len(rows), len(cols))
    hit = np.flatnonzero(inside.any(1))
    if len(hit) == 0:
        return 0, 0
    return int(hit[0]), int(hit[-1]) + 1


def _pixel_scales(camera: Camera) -> tuple[float, float]:
    """(vertical, horizontal) panorama pixels per radian."""
    return camera.height / np.pi, camera.width / (2.0 * np.pi)


def plan_for_height(
    camera: Camera,
    camera_height_m: float,
    *,
    target_px: float = 96.0,
    zoom_step: float = 1.5,
    max_range_m: float = 40.0,
    min_zoom: float = 0.0,
    near_elevation_deg: float = -60.0,
    max_person_deg: float = 30.0,
    person_height_m: float = 1.70,
    margin_deg: float = 1.5,
) -> list[Strip]:
    """The strips for a camera ``camera_height_m`` above the ground (see the module doc).

    Args:
        camera: the panorama (its rotation is honoured).
        camera_height_m: metres.
        target_px: the height a person of ``person_height_m`` should have at the network.
        zoom_step: the largest ratio of the zooms two people of one strip need (> 1).
        max_range_m: the farthest people searched, metres.
        min_zoom: strips stop where people need less zoom than this (they are big enough
            for the global pass, whose zoom this is).
        near_elevation_deg: strips stop where the feet are steeper than this (the nadir
            views' region); negative degrees.
        max_person_deg: strips stop where people are taller than this (degrees): near
            people are strongly distorted in the panorama's rows and boxed better in the
            views looking at them.
        person_height_m: the nominal person height of the zoom, metres.
        margin_deg: extra degrees above the heads and below the feet of each strip.

    Returns:
        Strips from far to near; empty when no range qualifies.
    """
    if not (camera_height_m > 0 and target_px > 0 and zoom_step > 1 and max_range_m > 0):
        raise ValueError("need camera_height_m, target_px, max_range_m > 0 and zoom_step > 1")
    s_v, s_h = _pixel_scales(camera)
    near_r = camera_height_m / np.tan(np.radians(-near_elevation_deg))
    if near_r >= max_range_m:
        return []
    # ranges sampled finely from far to near (geometric: sizes change with 1 / r)
    ranges = np.geomspace(max_range_m, near_r, 400)
    feet, head = person_elevations(camera_height_m, ranges, person_height_m)
    keep = head - feet <= np.radians(max_person_deg)
    ranges, feet, head = ranges[keep], feet[keep], head[keep]
    zoom = target_px / ((head - feet) * s_v)
    strips: list[Strip] = []
    start = 0
    while start < len(ranges):
        if zoom[start] <= min_zoom:
            break  # nearer people are big enough for the global pass
        stop = start + 1
        lo, hi = zoom[start], zoom[start]
        while stop < len(ranges) and max(hi, zoom[stop]) / min(lo, zoom[stop]) <= zoom_step:
            lo, hi = min(lo, zoom[stop]), max(hi, zoom[stop])
            stop += 1
        strips.append(
            _strip(
                camera,
                camera_height_m,
                ranges[start],
                ranges[stop - 1],
                np.sqrt(lo * hi),
                s_v,
                s_h,
                (target_px / zoom_step**0.5, target_px * zoom_step**0.5),
                margin_deg,
            )
        )
        start = stop
    return strips


def _strip(
    camera: Camera,
    h: float,
    far_m: float,
    near_m: float,
    zoom: float,
    s_v: float,
    s_h: float,
    sizes_px: tuple[float, float],
    margin_deg: float,
) -> Strip:
    """The strip for people between ``near_m`` and ``far_m`` (metres), who reach the network
    ``sizes_px`` (smallest, tallest) tall."""
    margin = np.radians(margin_deg)
    short, tall = PERSON_HEIGHT_RANGE_M
    r = np.array([near_m, far_m])
    feet, _ = person_elevations(h, r, short)
    _, head = person_elevations(h, r, tall)
    top, bottom = _rows_of_elevations(camera, feet.min() - margin, head.max() + margin)
    feet_top, feet_bottom = _rows_of_elevations(camera, feet.min() - margin, feet.max() + margin)
    # a box this strip accepts is at least a third of the smallest person's height it is for
    # (a head of a nearer person is not a person), at most three target heights at the network
    min_box_px = sizes_px[0] / zoom / 3.0
    max_box_px = MAX_NETWORK_FACTOR * (sizes_px[0] * sizes_px[1]) ** 0.5 / zoom
    return Strip(
        top,
        bottom,
        float(zoom),
        float(zoom * s_v / s_h),
        feet_top,
        feet_bottom,
        float(min_box_px),
        float(max_box_px),
        (float(near_m), float(far_m)),
    )


def plan_unknown_height(
    camera: Camera,
    *,
    target_px: float = 96.0,
    min_zoom: float = 0.0,
    max_person_deg: float = 30.0,
    margin_deg: float = 1.5,
) -> list[Strip]:
    """Strips for a camera of unknown height, until it is estimated from the people.

    Whatever the height, far people stand near the horizon and are small, nearer ones lower
    and bigger, and only near people reach high above the horizon. A small set of scales
    covers people from about 40 m to 1 m away: people 3, 6, 12, 24 ... degrees tall, band k
    holding feet from the horizon down to 4 such heights (at most 75 degrees) and heads up
    to 1.5 heights above the horizon, zoomed so that its people reach ``target_px``; each
    band keeps the people it shows from :data:`MIN_NETWORK_FACTOR` to
    :data:`MAX_NETWORK_FACTOR` targets tall (the first also everyone smaller). The series
    stops where the global pass (zoom ``min_zoom``) sees people that big, or they are taller
    than ``max_person_deg`` (near people, boxed better by the views looking at them).
    """
    s_v, s_h = _pixel_scales(camera)
    margin = np.radians(margin_deg)
    aim = target_px
    strips = []
    size_deg = 3.0
    while size_deg / MAX_NETWORK_FACTOR * 2 < max_person_deg:
        zoom = float(aim / (np.radians(size_deg) * s_v))
        if zoom <= min_zoom:
            break
        lo, hi = np.radians(-min(75.0, 4.0 * size_deg)), np.radians(1.5 * size_deg)
        top, bottom = _rows_of_elevations(camera, lo - margin, hi + margin)
        feet_top, feet_bottom = _rows_of_elevations(camera, lo - margin, margin)
        strips.append(
            Strip(
                top,
                bottom,
                zoom,
                zoom * s_v / s_h,
                feet_top,
                feet_bottom,
                # the first band keeps all smaller people too
                aim / zoom * (0.25 if not strips else MIN_NETWORK_FACTOR),
                aim / zoom * MAX_NETWORK_FACTOR,
                (float("nan"), float("nan")),
            )
        )
        size_deg *= 2.0
    return strips
