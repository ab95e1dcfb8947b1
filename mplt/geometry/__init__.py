"""Camera geometry for mplt: camera models, seam-aware boxes, perspective crops (numpy only).

Conventions (pixels, panorama seam, ground frame, rotations) are written down once, in
:mod:`mplt.geometry.camera`. Cameras are built from the ``camera`` config section by the one
factory, :func:`build_camera` (:mod:`mplt.geometry.factory`); each carries its kind and its
:class:`BoxSpace`, the seam-aware box arithmetic everything else (the tracker included) uses.
"""

from mplt.geometry.boxes import (
    BoxSpace,
    box_center_distance,
    box_iou,
    boxes_touch_edge,
    covered_fraction,
    nms,
    split_at_seam,
    wrap_boxes,
)
from mplt.geometry.camera import (
    Camera,
    Equirectangular,
    ImageCamera,
    MultiView,
    NominalPinhole,
    Pinhole,
    View,
    box_centre_azel,
    ground_to_pixel,
    nominal_intrinsics,
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
from mplt.geometry.factory import CAMERAS, build_camera, camera_height_of, estimates_height

__all__ = [
    "CAMERAS",
    "BoxSpace",
    "Camera",
    "Equirectangular",
    "ImageCamera",
    "MultiView",
    "NominalPinhole",
    "PerspectiveView",
    "Pinhole",
    "View",
    "box_center_distance",
    "box_centre_azel",
    "box_iou",
    "boxes_touch_edge",
    "build_camera",
    "camera_height_of",
    "covered_fraction",
    "estimates_height",
    "ground_to_pixel",
    "nms",
    "nominal_intrinsics",
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
