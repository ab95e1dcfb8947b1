"""Run the reference DeepSORT (PyPI ``deep-sort-realtime``) on a MOT detection file.

Used by ``bench/compare_trackers.py`` as the DeepSORT of the comparison; benchmark helper, not
part of mplt. ``deep-sort-realtime`` is the original DeepSORT (Wojke et al.: cascade by
appearance and Mahalanobis gate, IoU fallback) packaged for real-time use; it runs with its
defaults (``max_age`` 30 frames, ``n_init`` 3, ``max_cosine_distance`` 0.2, no budget) and is
given mplt's colour features of the same boxes (``--embeddings``) instead of its own
MobileNet embedder, whose weights cannot be downloaded here. Detections below ``min_score``
are dropped first (DeepSORT has no score threshold of its own). Output: the confirmed tracks
matched in the frame (``time_since_update == 0``), with the filter's box, as DeepSORT's
``deep_sort_app`` writes them.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def run(
    det: Path, embeddings: Path, out: Path, num_frames: int, min_score: float = 0.3
) -> tuple[float, int]:
    """Track ``det`` into the MOT file ``out``; returns (seconds in ``update_tracks``, frames)."""
    from deep_sort_realtime.deepsort_tracker import DeepSort

    text = det.read_text().strip()
    rows = np.loadtxt(det, delimiter=",", ndmin=2) if text else np.zeros((0, 10))
    emb = np.load(embeddings)
    if len(emb) != len(rows):
        raise SystemExit(f"{embeddings}: {len(emb)} rows, {det} has {len(rows)}")
    keep = rows[:, 6] >= min_score
    rows, emb = rows[keep], emb[keep]
    tracker = DeepSort(embedder=None)
    frames = rows[:, 0].astype(np.int64) - 1
    lines = []
    spent = 0.0
    for f in range(num_frames):
        idx = np.flatnonzero(frames == f)
        raw = [
            ([rows[i, 2] - 1, rows[i, 3] - 1, rows[i, 4], rows[i, 5]], float(rows[i, 6]), 0)
            for i in idx
        ]
        start = time.perf_counter()
        tracks = tracker.update_tracks(raw, embeds=[emb[i] for i in idx])
        spent += time.perf_counter() - start
        for t in tracks:
            if not t.is_confirmed() or t.time_since_update > 0:
                continue
            x1, y1, x2, y2 = t.to_ltrb()
            score = t.det_conf if t.det_conf is not None else 1.0
            lines.append(
                f"{f + 1},{int(t.track_id)},{x1 + 1:.2f},{y1 + 1:.2f},{x2 - x1:.2f},"
                f"{y2 - y1:.2f},{score:.3f},-1,-1,-1\n"
            )
    out.write_text("".join(lines))
    return spent, num_frames
