"""Camera geometry for mplt: camera models, seam-aware boxes, perspective crops (numpy only).

Conventions (pixels, panorama seam, ground frame, rotations) are written down once, in
:mod:`mplt.geometry.camera`.
"""

from mplt.geometry.boxes import (
    box_center_distance,
    box_iou,
    boxes_touch_edge,
    nms,
    split_at_seam,
    wrap_boxes,
)
from mplt.geometry.camera import (
    Camera,
    Equirectangular,
    MultiView,
    Pinhole,
    View,
    ground_to_pixel,
    pixel_to_ground,
    ray_to_azel,
    ray_to_ground,
    rotation_matrix,
)
from mplt.geometry.crops import (
    PerspectiveView,
    rectified_crop_maps,
    view_boxes_to_camera,
    view_maps,
)

__all__ = [
    "Camera",
    "Equirectangular",
    "MultiView",
    "PerspectiveView",
    "Pinhole",
    "View",
    "box_center_distance",
    "box_iou",
    "boxes_touch_edge",
    "ground_to_pixel",
    "nms",
    "pixel_to_ground",
    "ray_to_azel",
    "ray_to_ground",
    "rectified_crop_maps",
    "rotation_matrix",
    "split_at_seam",
    "view_boxes_to_camera",
    "view_maps",
    "wrap_boxes",
]
