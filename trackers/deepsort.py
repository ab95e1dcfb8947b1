"""DeepSORT-style tracker on the ground plane (or in the image), built for stable IDs.

Per frame (:meth:`DeepSortTracker.update`):

1. Predict every track: a constant-velocity Kalman filter on the ground plane (ground mode)
   and one on its image box (both modes; in ground mode it only predicts the box drawn while
   the track coasts and the box used for IoU matching).
2. Stage 1, matching cascade: confirmed tracks, most recently seen first (one Hungarian solve
   per level: the tracks unseen for ``(0, L]``, ``(L, 2L]``, ... seconds, ``L`` =
   ``cascade_level_s``), against all detections. Cost
   ``w * cosine + (1 - w) * d2 / gate`` (StrongSORT-style fusion; ``d2`` the squared Mahalanobis
   distance, ``gate`` its chi-square threshold) when the detections carry embeddings, ``d2 /
   gate`` alone when they do not. Pairs outside the chi-square gate, above
   ``max_cosine_distance``, (ground mode) further than the jump cap or with an IoU of the
   predicted box and the detection box below ``cascade_min_iou`` (0.05: the boxes must
   touch) are never matched. Without that IoU gate the Mahalanobis gate of a track that has
   coasted a few frames spans its neighbours, and a neighbour in similar clothes passes the
   appearance gate, so a coasting track jumps to another person. In ground mode it applies to
   coasting tracks only: a track seen in the previous frame has a tight ground gate, and the
   box filter of a person next to the camera (fast in the image) lags behind its box.
3. Stage 2, IoU: tentative tracks and confirmed tracks seen in the previous frame against the
   detections left, cost ``1 - IoU`` of the predicted box and the detection box, gated by
   ``max_iou_distance`` and, in ground mode, by the Mahalanobis gate. The jump cap is not
   applied here: overlapping boxes one frame apart already bound the jump in the image, and
   for far people (ground std of metres) the image is the more reliable cue.
4. Stage 3, weak detections (BYTE): stages 1 and 2 see only detections scored at least
   ``high_score``; the weaker ones are matched by IoU (``low_max_iou_distance``) to the
   confirmed tracks seen in the previous frame that are still unmatched. A weak box can so
   extend a track through a partial occlusion but neither take a match from a strong box nor
   re-find a lost track (it could be anything: a sign, half of a neighbour).
5. Correction. A detection box partly hidden by a nearer person's box (one whose bottom edge
   is lower in the image, scored at least ``high_score``) boxes only the visible part, and its
   centre and size slide towards the seen side as long as the occlusion lasts: the box
   filter's measurement noise std is multiplied by ``1 + occlusion_noise * f``, ``f`` the
   fraction of the box's area inside the nearer box (the largest over the nearer boxes), so
   the filter keeps more of the walk it knew; and a box more than ``occluded_feature_max``
   hidden adds no appearance feature to its track's gallery (its colours are partly the
   occluder's). A box that holds most of the predicted box of another confirmed track seen in
   the previous frame and unmatched in this one (``merged_boxes``) likely boxes two people
   walking together or crossing: it counts as hidden by that fraction, with the same noise
   and gallery rule, so the track that has it keeps its own walk and colours while the other
   coasts inside it. So does a box whose width-to-height ratio exceeds its track's predicted
   box's by more than ``wide_box_ratio``, by its excess width ``1 - ratio_track /
   ratio_box``: it boxes more than the person. A track found again after missed frames has
   its filters re-run from their state at the last measurement along the straight line to
   the new one (OC-SORT's observation-centric re-update, ``reupdate``), instead of keeping
   the velocity and covariance it drifted into while coasting.
6. Unmatched detections with ``score >= min_score_new_track`` start tentative tracks; a
   tentative track is confirmed after ``n_init`` consecutive hits and deleted on its first miss
   (the first update's tracks are confirmed at once, ``confirm_first_frame``: no earlier frame
   could have confirmed the people in view when the video starts);
   a confirmed track coasts (state LOST) and is deleted after ``max_age`` frames unmatched,
   or at once when its box overlaps that of a confirmed track matched in this frame by
   ``duplicate_iou`` or more (ByteTrack's duplicate removal): two tracks on one person take
   the person's box in turns, a switch each time. Of the two the older ID (confirmed first)
   lives on, with the matched track's state and the older one's appearance gallery. A pair
   that had boxes of their own (IoU below ``duplicate_iou``) in the frame the coasting one was
   last seen in is two people, not one person twice, and is left alone: the one who lost the
   box to a merged box of both coasts until they part (it was removed as a duplicate before).
   The frames of a track before its confirmation are kept for offline back-filling
   (:meth:`DeepSortTracker.take_early_frames`, used by ``mplt.finish``).
7. Lost-track memory for someone hidden inside the view (``reid_window_s``, 5 s): a deleted
   confirmed track whose last box touches no image edge (the box space's
   :meth:`~trackers.space.BoxSpace.touches_edge`; a panorama's sides are none) is remembered
   (mean feature, last measured position and velocity, last box) for ``reid_window_s`` after
   it was last seen; a track confirmed meanwhile whose first box touches no edge either takes
   a remembered ID back when their mean features are within ``reid_max_cosine`` and it started
   within ``1 m + reid_speed_mps * gap`` of where the old walk leads (in the image: in person
   heights, and neither box more than 1.5 times the other's height), one to one by a
   Hungarian solve. Who was lost at an edge may have left the view, and who starts at one came
   into it: returns are the finished files' (``mplt.finish``), which also judge every ID taken
   back here again with the whole video in hand (an ID taken back is a new fragment to them).

What each stage buys, measured on the real suite of ``bench/compare_trackers.py`` (real
Faster R-CNN and YOLOv8s detections on PETS09-S2L1 perspective with its calibration and on a
2048 x 1024 sphere through the seam with the camera height given, estimated and unknown,
PETS with YOLOv8s, TUD-Stadtmitte and TUD-Campus in image mode; ``bench/tracker_lab.py``,
streaming output, mean HOTA / IDF1 / ID switches over the 7 sequences):

=====================================================  =====  =====  ====
configuration                                          HOTA   IDF1   IDSW
=====================================================  =====  =====  ====
before this tuning (no stage 3, no re-update, fixed
pixel noise, IoU gate 0.3 image / off ground,
``n_init`` 3)                                          34.6   50.4   48.3
defaults (the sphere without a camera height tracked
in the image: ``mplt.pipeline``, mode ``auto``)        40.9   61.7   14.0
defaults with a cascade level per frame
(``cascade_level_s`` 0)                                40.4   60.7   14.3
defaults without the stage-1 IoU gate (0)              37.0   54.3   14.6
defaults without stage 3 (``high_score`` 0)            39.6   59.3   14.7
defaults with a fixed pixel noise (localizer)          39.7   59.5   17.9
defaults placing boxes too short for a person
(``localize.too_short_sigma`` 0)                       40.5   60.9   14.0
defaults without the re-update                         40.9   61.7   14.0
defaults with ``n_init`` 3                             41.0   61.3   20.0
defaults + offline finishing (``tracks_final.txt``)    44.9   65.8   10.4
=====================================================  =====  =====  ====

(Before the image-mode fallback without a camera height the defaults scored 39.4 / 58.8 / 22.1,
and without the re-update 39.3 / 58.7 / 24.0: the re-update's gain was all on that sequence.)

The cascade's levels are slots of ``cascade_level_s`` (0.1 s), not frames. At 7 fps that is
one level per frame, as in DeepSORT; at 25 fps a track missed for one or two frames (40-80 ms,
as well predicted as one seen in the last frame) is solved together with those seen in the last
frame instead of after them. A level per frame let a track seen in the last frame take the box
of a neighbour missed once (TUD-Campus, frame 40: two people parting after one merged box):
TUD-Campus streaming 38.9 / 61.5 / 4 -> 42.1 / 68.8 / 2, finished 45.6 / 66.8 / 6 -> 49.3 / 75.3
/ 4, the other sequences unchanged; 0.15 and 0.2 s measure alike. Longer slots also merge
levels at 7 fps, which is fragile: 0.25 s (frames 2 and 3 unseen as one level) takes PETS
perspective from 41.9 to 39.7, 0.3 s (frames 1 and 2 as one) to 45.8 but TUD-Stadtmitte from
46.9 to 44.3 (finished 53.3 -> 51.5); one solve for all confirmed tracks (no cascade): mean
40.5 / 60.2 / 14.0, TUD-Stadtmitte 44.5 (finished 45.1).

The IoU gate of stage 1 is the largest single gain (PETS perspective 34.1 -> 41.9, TUD-
Stadtmitte 42.6 -> 46.9; in ground mode on the sphere with an unknown camera height, where
positions are poor, it took HOTA from 27.4 to 31.2 and ID switches from 149 to 81); 0.03-0.1
measured alike, 0.2 and more lose re-found people. Lifting it for tracks coasting longer than
0.5 / 1 / 1.5 s (their predicted boxes drift off people who turn) loses over the 20 replays
(mean HOTA 44.9 -> 43.4 / 43.2 / 43.9; in ground mode only, 0.5 s: 44.5, PETS perspective
reversed 37.6 -> 39.9 but forward 48.2 -> 45.2). The box-size-dependent localization noise
matters for near, big boxes (PETS perspective: HOTA 33.0 -> 41.9). Confirming on the fifth hit
rather than the third halves the ID switches on PETS (30 -> 17): fragments of clutter and of
split boxes no longer become tracks; the finished files back-fill the wait. Stage 3 matters
where the detector's scores are low (PETS with YOLOv8s, scores mostly 0.3-0.6: HOTA 39.1 -> 42.2
with ``high_score`` 0.3, TUD-Stadtmitte 40.8 -> 46.9; 0.4 drops to about 30, as most of that
detector's true boxes become weak); with Faster R-CNN boxes (all scored >= 0.5) it does nothing.
The re-update is neutral on this suite now; it is kept for people who turn or stop while hidden
(the scripted test of it in ``tests/trackers/test_stages.py``). People lost for longer than
``max_age`` are left to the offline fragment merging of ``mplt.finish``, except those hidden
inside the view (stage 7). Remembering every lost track, as stage 7 first did, gave people who
are new the ID of someone who left in similar clothes, which costs IDF1 without counting as an
ID switch (``reid_window_s`` 5 s: mean 38.4 / 56.9 / 22.1 against 39.4 / 58.8 / 22.1 without;
measured before the occlusion stages; again on the 20 replays of today's suite: forward IDF1
71.8 -> 71.5, TUD-Stadtmitte on the sphere 77.3 -> 75.2). Remembering only who was lost away
from the edges, with the height-ratio gate in the image, on the pillar suite of
``bench/compare_trackers.py`` (people hidden behind a painted pillar for a median 3.5 s,
streaming ``tracks.txt``, HOTA / IDF1 / ID switches), at ``reid_max_cosine`` 0.2: PETS
perspective 34.4 / 43.9 / 21 -> 40.3 / 60.8 / 14 (DeepSORT there: 37.3 / 55.8 / 23), PETS on the
sphere 34.3 / 44.4 / 21 -> 36.3 / 50.7 / 16 (DeepSORT 34.3 / 46.4 / 34), TUD-Stadtmitte 44.7 /
69.1 / 6 -> 43.9 / 69.1 / 6; at 0.3 (the default, below) 41.7 / 62.6 / 13, 42.2 / 62.8 / 12 and
43.9 / 69.1 / 6. On
the real suite's 10 forward replays 47.4 / 71.8 / 9.2 -> 47.3 / 71.7 / 8.9 against MOT's truth,
45.7 / 68.7 / 10.4 -> 46.1 / 69.6 / 9.8 against the truth of people (PETS on the sphere 66.8 ->
69.1 IDF1: one of the two who leave and come back taken back; PETS without a camera height
55.8 -> 59.3); reversed 42.9 / 63.6 / 10.3 -> 43.3 / 64.9 / 10.0 (people).
The height-ratio gate keeps TUD-Stadtmitte on the sphere at 77.3 (a 178 px box was taken back
by an 81 px one 3.3 s later: 75.2 without it). ``reid_max_cosine`` (the figures above at 0.2):
0.1 keeps fewer right ones (pillar PETS 53.2), 0.25 / **0.3** / 0.35 / 0.4 give the pillar
suite's mean 40.2 / 60.2 / 12.0 -> 40.7 / 61.0 / 11.3, **42.6 / 64.8 / 10.3** (PETS 41.7 / 62.6 /
13, the sphere 42.2 / 62.8 / 12), 42.3 / 64.7 / 10.3, 42.3 / 64.7 / 10.3 (reversed at 0.3: 44.5 /
67.9 / 10.7 -> 45.5 / 69.5 / 10.3), and the real suite's 10 forward replays 47.3 / 71.7 / 8.9 ->
47.5 / 72.2 / 8.6 at 0.3 (the sphere 70.8 / 15 -> 72.3 / 14; people's truth 46.1 / 69.6 / 9.8 ->
46.1 / 69.6 / 9.5, reversed 43.3 / 64.9 / 10.0 -> 43.1 / 64.9 / 10.0); the walk vouches for the
rest, so the look may be looser than the matching cascade's 0.2. ``reid_speed_mps`` 0.75 the same
as 1.5 on the real suite and 58.4 on the pillar, 2.0 pillar 61.1 (PETS 64.0, the sphere 50.1);
``reid_window_s`` 8: pillar 61.1 (sphere 53.3), real -0.1 HOTA; taking back only when a single
remembered track fits (no choice to make) loses on the sphere's pillar (50.7 -> 49.0). The
finished files judge each ID taken back anew (with the
takes kept instead, PETS behind the pillar finished 66.6 -> 61.0: two people who crossed behind
it were taken back the wrong way round, a join the finishing cannot undo): they are unchanged
by stage 7. Also measured
and left out: OC-SORT's observation-centric recovery (a coasting track's last measured box
against the detections left after stage 2 by IoU): mean HOTA 40.0 -> 39.8 at IoU 0.5, 39.2 at
0.3; tentative tracks that survive one missed frame: 39.4 -> 39.3; ``n_init`` 3 / 8: 39.8 / 38.7
against 40.0 at 5. Against the ID switches at 25 fps (TUD, finished: 6 + 2 with the defaults),
measured with the defaults of the table before ``finish_merge_min_s``: confirmation after a
time rather than a number of hits (TUD only: ``n_init`` 8 / 12 / 18, i.e. 0.3 / 0.5 / 0.7 s)
finished TUD 4 + 4 / 4 + 5 / 4 + 1 switches but HOTA 53.3 -> 49.6 / 47.8 / 46.2 (Stadtmitte),
streaming Campus 42.1 -> 36.8 / 30.7 / 22.3; ``appearance_weight`` 0.5 (more motion): mean 41.2
/ 62.4 streaming, 44.2 / 65.3 finished, but PETS perspective 41.9 -> 39.3 (finished 46.0 ->
40.7); ``gating_probability`` 0.8: mean 39.3 / 57.4 / 18.0; the box filter's measurement noise
doubled or quadrupled (at 25 fps the filter reads more boxes a second): TUD finished 53.4 /
45.2 and 49.5 / 47.1 against 53.3 / 45.6 (measured before the cascade levels in time). Tracking
every second frame at 25 fps (``--detect-every 2``, replayed, ``n_init`` 3, frame levels) has
4 + 1 streaming and 6 + 1 finished switches, HOTA 46.6 / 42.2 streaming, 53.3 / 50.3 finished: what
remains is two people crossing (TUD-Stadtmitte frame 27, a merged box that the occluded one's
track drifts off along) and a pair walking together (frames 77-107); ``bench/list_switches.py``
lists them. Also: stages 2 and 3 open to tracks unseen for up to 0.08 s rather than one frame
(the IoU stage's frame rule in time): TUD-Campus streaming 42.1 / 68.8 / 2 -> 43.3 / 70.0 / 1
but finished 49.3 / 75.3 / 4 -> 52.3 / 78.7 / 7; tentative tracks kept through misses of up to
0.08 / 0.15 s: TUD-Campus finished 11 switches.

``appearance_weight`` is 0.75 since foot rows got their own, smaller noise
(``localize.foot_row_std_px`` / ``_frac``): with sharper ground positions the motion term is
worth more. On the real suite (``bench/tracker_lab.py``, mean of the 7 sequences) 0.9 -> 0.75
gives streaming 42.5 / 64.9 / 13.3 -> 44.1 / 67.4 / 12.1, finished 46.6 / 69.0 / 9.1 -> 48.1 /
71.4 / 8.6: PETS 360 with the height given 42.4 -> 47.6 HOTA streaming (45.5 -> 51.2 finished),
TUD-Stadtmitte 46.9 / 77.8 / 5 -> 47.7 / 79.6 / 4 streaming; PETS perspective loses 0.4 HOTA
streaming and gains 3 ID switches finished (9 -> 12), TUD-Stadtmitte finished 6 -> 8 switches.
0.7 and 0.75 score alike, and the panorama's gain holds when the foot rows' noise moves (1.25-
1.75 px, 3.5-4.5 %); 0.65 and 0.8 fall back on it (46.3); with the box edges' noise for the
foot rows 0.7 gains little (mean 41.9 -> 42.3, PETS perspective 43.0 -> 41.5). The
synthetic regression gate goes 68.4 / 83.8 / 2 -> 66.5 / 81.0 / 4 (rebaselined: real footage
decides).

The first update's tracks are confirmed at once (``confirm_first_frame``, ByteTrack's rule):
the people in view when a video starts have no earlier frame that could confirm them, and at
25 fps waiting ``n_init`` frames cost everyone their first four. Real suite, streaming mean
44.1 / 67.4 / 12.1 -> 44.7 / 67.9 / 12.1, no ID switch more anywhere: TUD-Campus (71 frames)
42.1 / 68.8 -> 44.9 / 71.5, TUD-Stadtmitte 47.7 / 79.6 -> 48.7 / 80.2, PETS +0.1 to +0.3 HOTA; the
finished files, which back-filled those frames already, are unchanged; the synthetic gate 66.5 /
81.0 -> 69.7 / 83.5. The cost: a false positive in the first frame is a confirmed track until it
is lost. Also measured: confirming at the second or third hit when every score so far is 0.7 or
more (2 hits: mean 43.8 / 66.5 / 15.1; 3 hits: 44.3 / 67.5 / 12.7, measured before the rule: the
Faster R-CNN's clutter on PETS scores high as well), and giving a newly confirmed track the ID of a
coasting one that looks alike and is where that walk leads (the lost-track memory applied to
tracks not yet deleted; ``reid_max_cosine`` 0.1 / 0.2 / 0.3: mean 44.4 / 44.2 / 44.1 HOTA, TUD-
Stadtmitte IDF1 80.2 -> 74.9 at 0.2: with the colour features it hands IDs to the wrong people).

Occlusion noise (``occlusion_noise`` 5) was chosen on the real suite replayed both ways
(``bench/tracker_lab.py --reverse``: each sequence also last frame first, the same real
detections met in the opposite order, a second association problem per sequence). The
forward replays are where every earlier default was tuned, and they flatter it: with the
defaults before this stage the forward mean is 44.6 / 68.2 / 11.2 and the reversed mean 38.7 /
56.2 / 13.7, and no single setting of the sweep (appearance_weight, max_cosine_distance,
cascade_min_iou, n_init, max_iou_distance, cascade_level_s, max_age_s, nn_budget, feature_ema,
reupdate, accel_std) moves the reversed mean outside 37.8-38.9, while a plain DeepSORT-like
configuration (no stage-1 IoU gate, no stage 3, no re-update, ``n_init`` 3, levels per frame,
no first-frame confirmation, no duplicate removal) scores 39.2 / 58.2 / 20.5 forward and 39.2 /
56.1 / 18.1 reversed. (DeepSORT and ByteTrack score about the same or better reversed.)
Occlusion noise over the 20 replays, streaming mean: 0 -> 41.7 / 62.2 / 12.5, 3 -> 42.3 / 63.4 /
12.0, 4 -> 42.2 / 63.1 / 12.0, 5 -> 42.3 / 63.4 / 11.8, 6 -> 42.2 / 63.2 / 11.8, 8 -> 42.4 / 63.1 /
12.1, 12 -> 42.2 / 62.9 / 12.3 (a plateau); finished 44.3 / 64.0 / 10.2 -> 44.9 / 64.8 / 9.4 at 5.
With ``occluded_feature_max`` 0.2 on top (the defaults): 43.2 / 64.9 / 11.2 streaming
(forward 45.6 / 69.4 / 10.7, reversed 40.8 / 60.3 / 11.6), finished 46.0 / 66.6 / 9.0 (forward
48.6 / 71.9 / 8.3, reversed 43.4 / 61.2 / 9.6); 0.15 / 0.25 / 0.5 score 43.1 / 43.0 / 42.8
streaming, the gate alone (``occlusion_noise`` 0) 42.1 / 63.3 / 12.5, occlusion noise 3 / 8 with
it 42.6 / 42.9: the two compound. (The gallery gated by any overlap, IoU 0.1 / 0.3, measured
forward before: it lost 0.6 HOTA; a nearer box is what spoils a person's colours.)

On the same 20 replays, with the occlusion-aware updates in place, stage 3's IoU gate
``low_max_iou_distance`` 0.5 -> 0.4 (a weak box must overlap the track's prediction by 0.6) and
the ground filter's ``accel_std`` 2.5 -> 1.5 m/s^2 (walking people accelerate gently) were
measured anew and adopted: streaming 43.2 / 64.9 / 11.2 -> 43.9 / 65.6 / 11.1 (the gate: 0.3 /
0.35 / 0.45 give 43.7 / 43.8 / 43.5, 0.6 42.9) -> 44.5 / 66.7 / 10.7 (accel_std: 1.0 / 1.25 /
1.75 / 2.0 give 44.3 / 44.2 / 44.3 / 44.3); finished 46.0 / 66.6 / 9.0 -> 47.7 / 68.8 / 8.1
(forward 50.4 / 73.4 / 7.8, reversed 45.1 / 64.1 / 8.4). accel_std acts in ground mode only, so
on PETS alone among the real videos; the synthetic suite (ground mode, 8 sequences) agrees:
62.4 / 74.3 / 75 -> 62.1 / 73.9 / 66 streaming, 76.5 / 86.4 / 52 -> 76.5 / 86.2 / 45 finished
(its Faster R-CNN-fitted noise 35.2 / 52.6 / 108 -> 35.3 / 52.5 / 104, finished 50.5 -> 51.6
HOTA; 2.0 there: 69 / 48 switches); the uncalibrated PETS camera gains most (40.9 / 57.7 / 17
-> 48.1 / 70.9 / 13 forward). The panorama's streaming ground error does not follow it (0.199 /
0.200 / 0.200 / 0.200 / 0.203 m at 2.5 / 2.25 / 2.0 / 1.75 / 1.5; finished 0.163-0.164 m).
The rest of that sweep (appearance_weight 0.65 / 0.85, max_cosine_distance 0.15 / 0.25,
cascade_min_iou 0.03 / 0.1, n_init 4 / 6, max_iou_distance 0.6 / 0.8, max_age_s 1.5 / 3,
high_score 0.25 / 0.35, min_score_new_track 0.4 / 0.6, reid_window_s 5, duplicate_iou 0.7,
cascade_level_s 0.15, no first-frame confirmation) stays within 42.3-43.4 against 43.2.
The per-sequence figures of the occlusion noise alone at 5: forward 44.6 / 68.0 / 11.3, reversed
40.0 / 58.7 / 12.2; PETS 360 without a camera height
(image mode) 35.4 / 50.9 / 25 -> 40.6 / 60.5 / 22 forward (reversed 32.8 -> 36.5),
TUD-Stadtmitte reversed 41.7 / 62.8 / 9 -> 45.9 / 69.9 / 4, PETS perspective 15 -> 13 and PETS
uncalibrated 21 -> 17 ID switches forward; it costs TUD-Campus (forward 44.9 / 71.5 / 2 -> 41.1 /
62.3 / 7, reversed 41.4 / 59.6 / 6 -> 39.7 / 58.4 / 6) and TUD-Stadtmitte forward (48.7 / 80.2 /
4 -> 47.9 / 79.5 / 6). Also measured and
left out: StrongSORT's confidence-scaled noise (NSA, ``R * (1 - score)``): mean 44.6 -> 43.1-44.0
forward; taking the unseen side of an occluded box from the predicted width (keeping the seen
edge): mean 40.6-43.2 forward; counting every overlapping box as an occluder, or only those
scored 0.5 or more, or only a hidden fraction above 0.2 / 0.4: no better; an occluder only when
its bottom edge is lower by 2 / 5 / 10 % of the box height (people side by side at one depth
then hide nothing from each other): TUD-Campus gains (42.3 -> 46.9 forward at 5 %), TUD-
Stadtmitte loses more, mean 44.5 -> 44.3 / 43.9 / 44.0 over the 20 replays; an occluder only
when its box is also taller (by 0 / 10 %): 43.7 / 43.4.

Duplicate removal (``duplicate_iou`` 0.85, ByteTrack's rule for a lost track on a tracked
one): no pair comes that close on the real suite in its default modes (every figure above
unchanged), but tracked on the ground (``mode`` ground), TUD-Stadtmitte on the sphere had two
tracks on one person taking the box in turns, an ID switch each frame (frames 70-74 and
110-120): 44.7 / 69.6 / 19 -> 44.7 / 70.5 / 9; the synthetic suite's 8 sequences 80 -> 79 ID
switches streaming, 57 -> 55 finished; with the Faster R-CNN's fitted noise unchanged. 0.7 /
0.5 remove people who walk close together: real mean HOTA 44.6 -> 42.8 / 38.0. The cost: a
track that takes a neighbour's box by mistake makes the neighbour's coasting track its
duplicate, which then goes instead of finding its person again (the cascade's levels in time
keep that case rare: ``tests/trackers/test_stages.py``). A pair seen apart in the coasting
one's last frame is left alone: neutral on the real suite (every figure the same, tracked on
the ground too), and on a scripted crossing under one merged box (108 variants) the IDs come
back to their people in 99 instead of 30.

Merged boxes (``merged_boxes``, stage 5), over the 20 replays: streaming 44.5 / 66.7 / 10.7 ->
44.9 / 68.2 / 10.0, finished 47.7 / 68.8 / 8.1 -> 48.3 / 70.2 / 8.0; TUD-Campus forward 42.3 /
61.3 / 5 -> 47.1 / 71.9 / 4, PETS 360 without a camera height 24 -> 20 switches; TUD-Campus on
the sphere 47.6 / 73.0 / 3 -> 47.1 / 72.1 / 5. Half the fraction: 47.0 forward against 47.3
(TUD-Stadtmitte 49.5 -> 46.9); neighbours unseen up to 2 / 4 frames too: 46.1 / 45.5; the noise
alone 44.7, the gallery rule alone 44.7, the ground covariance inflated as well 44.6,
tentative neighbours too 44.4, a neighbour kept while it stays inside a merged box 43.8-44.3.

Wide boxes (``wide_box_ratio`` 1.2, stage 5), on top: streaming 44.9 / 68.2 / 10.0 -> 45.7 /
69.1 / 9.8 (forward 47.3 / 72.3 / 9.8 -> 47.4 / 72.2 / 9.9, reversed 42.6 / 64.1 / 10.2 -> 44.0 /
65.9 / 9.6), finished 48.3 / 70.2 / 8.0 -> 49.0 / 70.9 / 8.2; PETS perspective reversed 37.6 ->
41.8, PETS 360 without a camera height forward 43.7 -> 41.2. Ratio 1.1 / 1.15 / 1.3 / 1.4 /
1.5: 45.6 / 45.6 / 45.4 / 45.1 / 44.8; noise alone 45.5, gallery rule alone 45.1; narrow boxes
as well 44.9-45.1; without the merged-box rule 44.6. With it in place, ``occlusion_noise`` 3 / 8
give 44.3 / 44.9, ``occluded_feature_max`` 0.3 45.2, ``appearance_weight`` 0.7 45.2.

Reported boxes: every track's box is its box filter's state (the posterior after a match, the
prediction while coasting), not the raw detection box. A detector boxes only the visible part of
a partly hidden person, and the filtered box is both steadier and closer to the whole person
(measured: +1 to +2 HOTA on every benchmark suite). The raw box of a matched track is
``detections.boxes[tracks.detection_indices]``.

Ground mode and unknown positions: a detection whose ``ground_xy`` is NaN (the localiser could
not place it) takes part in stage 2 only, by IoU without the Mahalanobis gate. Matching it
refreshes the track's box, score and life but not its ground position, which keeps coasting.
Such a detection never starts a track.

IDs are owned by the tracker instance and given when a track is *confirmed*, starting at 1, so
they are consecutive: tentative tracks that die never use one up. Tentative tracks are
reported with id -1.

Frame gaps: ``fps`` is the rate of ``Detections.frame_index``. When the index advances by
``k > 1`` (frames skipped), tracks are predicted ``k / fps`` seconds ahead and age by ``k``
frames; an index that does not advance (for instance always 0) counts as one frame.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np

from core.errors import UserError
from core.types import Detections, Tracks, TrackState
from trackers.association import apply_gate, linear_assignment, nn_cosine_distance
from trackers.kalman import GroundModel, ImageModel, gating_threshold
from trackers.space import BoxSpace
from trackers.track_set import EarlyFrame, TrackSet, known_ground

#: Track lifetime without matches when neither ``max_age_s`` nor ``max_age_frames`` is given.
DEFAULT_MAX_AGE_S = 2.0

#: Mahalanobis gate probability per mode when ``gating_probability`` is None. The ground filter
#: uses the localiser's covariance and is statistically consistent, so a 95 % gate would reject
#: one true match in twenty (measured on the scripted scenes: many more fragmented tracks); the
#: image filter has DeepSORT's deliberately generous noise, for which DeepSORT's 95 % is right.
DEFAULT_GATING_PROBABILITY = {"ground": 0.999, "image": 0.95}

#: How many of a track's newest features are tried before its whole gallery (speed only).
_NEWEST_FEATURES_FIRST = 8


#: Slack of the lost-track memory's motion test at zero gap, metres.
_REID_SLACK_M = 1.0
#: Image mode: the largest ratio of the box heights of a lost track and one that takes its ID.
_REID_MAX_HEIGHT_RATIO = 1.5
#: Distance from an image edge at which a box counts as touching it, px.
_EDGE_MARGIN_PX = 2.0
#: Nominal person height that turns a box height into metres (image mode).
_PERSON_HEIGHT_M = 1.7


class _Remembered(NamedTuple):
    """A deleted confirmed track, as the lost-track memory keeps it."""

    track_id: int
    last_frame: int  #: the frame it was last matched in
    feature: np.ndarray  #: (F,) its gallery's mean feature, L2-normalised
    ground_xy: np.ndarray | None  #: (2,) m, last measured position (ground mode)
    velocity: np.ndarray | None  #: (2,) m/s at that time (ground mode)
    box: np.ndarray  #: (4,) its last measured box, centre and size (cx, cy, w, h), pixels


def _mean_feature(features: np.ndarray) -> np.ndarray | None:
    """(F,) the L2-normalised mean of (G, F) features; None without any."""
    if len(features) == 0:
        return None
    mean = features.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 0 else None


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise UserError(message)


class DeepSortTracker:
    """Multi-person tracker: Kalman prediction, appearance cascade, IoU fallback.

    Args:
        box_space: the box arithmetic of the detections' image (:class:`trackers.space.BoxSpace`:
            IoU, covered fractions, and on a panorama the wrap of x at the seam);
            ``mplt.geometry.BoxSpace()`` for a flat image, ``camera.box_space`` for an mplt
            camera.
        mode: ``"ground"`` tracks ground positions (needs ``Detections.ground_xy`` and
            ``ground_cov``); ``"image"`` tracks boxes in pixels.
        fps: frames per second of the detections' ``frame_index``; sets the Kalman time step
            and converts ``max_age_s`` to frames.
        max_cosine_distance: largest appearance (cosine) distance a stage-1 match may have.
            Colour features of different people in similar clothes are often within 0.3.
        nn_budget: most appearance features remembered per track.
        feature_ema: if given, keep one exponentially averaged feature per track with this
            momentum (StrongSORT uses 0.9) instead of a gallery of ``nn_budget``.
        gating_probability: chi-square probability of the Mahalanobis gate (2 dof in ground
            mode, 4 in image mode); None = :data:`DEFAULT_GATING_PROBABILITY` of the mode.
        appearance_weight: ``w`` in the stage-1 cost ``w * cosine + (1 - w) * d2 / gate``.
        cascade_min_iou: smallest IoU of a track's predicted box and a detection box for a
            stage-1 match, in [0, 1] (0 = no IoU gate); see the module notes.
        cascade_level_s: seconds of one level of the matching cascade: the tracks unseen for
            ``(0, L]`` seconds are matched first, in one solve, then those unseen for
            ``(L, 2L]``, ... 0 = one level per frame (DeepSORT's cascade).
        n_init: consecutive matched frames before a track is confirmed and gets an ID.
        confirm_first_frame: the tracks that the first update starts (from detections scored
            ``min_score_new_track`` or more) are confirmed at once (ByteTrack's rule).
        max_age_frames: frames a confirmed track survives unmatched; used when ``max_age_s``
            is None.
        max_age_s: the same in seconds (``round(max_age_s * fps)`` frames); takes precedence.
            With neither given, :data:`DEFAULT_MAX_AGE_S` seconds.
        max_iou_distance: largest ``1 - IoU`` a stage-2 match may have.
        min_score_new_track: lowest detection score that may start a track (lower-scored
            detections still update existing tracks).
        high_score: detections scored at least this take part in stages 1 and 2; weaker ones
            only in stage 3 (BYTE), where they extend tracks seen in the previous frame.
            0 = every detection in stages 1 and 2.
        low_max_iou_distance: largest ``1 - IoU`` of a stage-3 (weak detection) match; a
            weak box may be anything, so it must overlap the prediction more than a strong one.
        reupdate: re-run a track's filters along the straight line from its last measurement
            to the new one when it is found again after missed frames (OC-SORT).
        duplicate_iou: a coasting confirmed track whose box overlaps a matched confirmed
            track's by this IoU or more is a duplicate of it and removed (stage 6); 0 = never.
        occlusion_noise: a matched box whose area lies by a fraction ``f`` inside a nearer
            detection's box (lower bottom edge, scored ``high_score`` or more) updates the box
            filter with its noise std times ``1 + occlusion_noise * f`` (stage 5); 0 = off.
        occluded_feature_max: a matched box hidden by a larger fraction ``f`` than this adds
            no feature to its track's appearance gallery (stage 5); 1 = every box adds one.
        merged_boxes: a matched box that holds the predicted box of another confirmed track
            seen in the previous frame and unmatched now (by a fraction ``f`` of that box's
            area) is treated like a box hidden by ``f`` (stage 5): it likely boxes two people.
        wide_box_ratio: a matched box whose width-to-height ratio exceeds that of its track's
            predicted box by more than this factor is treated like a box hidden by its excess
            width, ``f = 1 - ratio_track / ratio_box`` (stage 5): it boxes more than the
            person (a neighbour, a group). 0 = off.
        ground_match_radius_m: ground mode, stage 1: largest distance in metres between a
            track's predicted position and a detection one frame after its last match.
        max_speed_mps: ground mode, stage 1: that radius grows by this many metres per second
            the track has coasted (a person may turn around while unseen).
        accel_std: ground mode: white-acceleration noise of the Kalman filter, m/s^2. Walking
            people accelerate gently; a larger value widens the gate of people crossing.
        init_speed_std: ground mode: velocity standard deviation of a new track, m/s.
        reid_window_s: a confirmed track deleted after ``max_age`` away from the image
            edges is remembered this many seconds after it was last seen; a track confirmed
            meanwhile away from the edges that looks like it (``reid_max_cosine``) where its
            walk could have led (``reid_speed_mps``) takes its ID back (stage 7 of the module
            notes). 0 = no memory. A box space without a size knows no edges: every lost
            track may be hidden.
        reid_max_cosine: largest cosine distance of the two tracks' mean features.
        reid_speed_mps: how far from the old track's extrapolated walk the new one may start:
            ``1 m + reid_speed_mps * gap`` (in the image the same in person heights).
    """

    def __init__(
        self,
        *,
        box_space: BoxSpace,
        mode: str = "ground",
        fps: float = 30.0,
        max_cosine_distance: float = 0.2,
        nn_budget: int = 100,
        feature_ema: float | None = None,
        gating_probability: float | None = None,
        appearance_weight: float = 0.75,
        cascade_min_iou: float = 0.05,
        cascade_level_s: float = 0.1,
        n_init: int = 5,
        confirm_first_frame: bool = True,
        max_age_frames: int | None = None,
        max_age_s: float | None = None,
        max_iou_distance: float = 0.7,
        min_score_new_track: float = 0.5,
        high_score: float = 0.3,
        low_max_iou_distance: float = 0.4,
        reupdate: bool = True,
        duplicate_iou: float = 0.85,
        occlusion_noise: float = 5.0,
        occluded_feature_max: float = 0.2,
        merged_boxes: bool = True,
        wide_box_ratio: float = 1.2,
        ground_match_radius_m: float = 3.0,
        max_speed_mps: float = 3.0,
        accel_std: float = 1.5,
        init_speed_std: float = 1.5,
        reid_window_s: float = 5.0,
        reid_max_cosine: float = 0.3,
        reid_speed_mps: float = 1.5,
    ) -> None:
        _check(
            mode in ("ground", "image"),
            f"tracker mode {mode!r} is unknown; use 'ground' or 'image'",
        )
        _check(fps > 0, f"tracker fps must be > 0, got {fps}; set it to the video's frame rate")
        _check(nn_budget >= 1, f"tracker nn_budget must be >= 1, got {nn_budget}")
        _check(
            feature_ema is None or 0.0 <= feature_ema < 1.0,
            f"tracker feature_ema must be in [0, 1) or null, got {feature_ema}",
        )
        _check(
            0.0 <= appearance_weight <= 1.0,
            f"tracker appearance_weight must be in [0, 1], got {appearance_weight}",
        )
        _check(
            0.0 <= cascade_min_iou <= 1.0,
            f"tracker cascade_min_iou must be in [0, 1], got {cascade_min_iou}",
        )
        _check(
            cascade_level_s >= 0,
            f"tracker cascade_level_s must be >= 0, got {cascade_level_s}",
        )
        _check(n_init >= 1, f"tracker n_init must be >= 1, got {n_init}")
        if gating_probability is None:
            gating_probability = DEFAULT_GATING_PROBABILITY[mode]
        _check(
            0.0 < gating_probability < 1.0,
            f"tracker gating_probability must be in (0, 1), got {gating_probability}",
        )
        if max_age_s is not None:
            _check(max_age_s >= 0, f"tracker max_age_s must be >= 0, got {max_age_s}")
            max_age = round(max_age_s * fps)
        elif max_age_frames is not None:
            _check(
                max_age_frames >= 0, f"tracker max_age_frames must be >= 0, got {max_age_frames}"
            )
            max_age = int(max_age_frames)
        else:
            max_age = round(DEFAULT_MAX_AGE_S * fps)
        self.mode = mode
        self.fps = float(fps)
        self.max_age = max_age
        self.max_cosine_distance = float(max_cosine_distance)
        self.nn_budget = int(nn_budget)
        self.feature_ema = feature_ema
        self.appearance_weight = float(appearance_weight)
        self.cascade_min_iou = float(cascade_min_iou)
        self.cascade_level_s = float(cascade_level_s)
        self.n_init = int(n_init)
        self.confirm_first_frame = bool(confirm_first_frame)
        self.max_iou_distance = float(max_iou_distance)
        self.min_score_new_track = float(min_score_new_track)
        _check(
            0.0 <= high_score <= 1.0 and 0.0 <= low_max_iou_distance <= 1.0,
            "tracker high_score and low_max_iou_distance must be in [0, 1], got "
            f"{high_score} and {low_max_iou_distance}",
        )
        self.high_score = float(high_score)
        self.low_max_iou_distance = float(low_max_iou_distance)
        self.reupdate = bool(reupdate)
        _check(
            0.0 <= duplicate_iou <= 1.0,
            f"tracker duplicate_iou must be in [0, 1], got {duplicate_iou}",
        )
        self.duplicate_iou = float(duplicate_iou)
        _check(
            occlusion_noise >= 0 and 0.0 <= occluded_feature_max <= 1.0,
            "tracker occlusion_noise must be >= 0 and occluded_feature_max in [0, 1], got "
            f"{occlusion_noise} and {occluded_feature_max}",
        )
        self.occlusion_noise = float(occlusion_noise)
        self.occluded_feature_max = float(occluded_feature_max)
        self.merged_boxes = bool(merged_boxes)
        _check(
            wide_box_ratio == 0 or wide_box_ratio >= 1,
            f"tracker wide_box_ratio must be 0 (off) or >= 1, got {wide_box_ratio}",
        )
        self.wide_box_ratio = float(wide_box_ratio)
        self.ground_match_radius_m = float(ground_match_radius_m)
        self.max_speed_mps = float(max_speed_mps)
        _check(
            reid_window_s >= 0 and 0 <= reid_max_cosine <= 2 and reid_speed_mps >= 0,
            "tracker reid_window_s and reid_speed_mps must be >= 0 and reid_max_cosine in "
            f"[0, 2], got {reid_window_s}, {reid_speed_mps} and {reid_max_cosine}",
        )
        self.reid_window = round(reid_window_s * fps)
        self.reid_max_cosine = float(reid_max_cosine)
        self.reid_speed_mps = float(reid_speed_mps)
        self.box_space = box_space
        self._image = ImageModel(box_space)
        self._ground = (
            GroundModel(accel_std=accel_std, init_speed_std=init_speed_std)
            if mode == "ground"
            else None
        )
        dof = 2 if mode == "ground" else 4
        self.gate = gating_threshold(gating_probability, dof)
        self.reset()

    def reset(self) -> None:
        """Forget every track; the next confirmed track gets ID 1 again."""
        self._tracks = TrackSet(self._image, self._ground, self.nn_budget, self.feature_ema)
        self._next_id = 1
        self._last_frame: int | None = None
        self._early: dict[int, list[EarlyFrame]] = {}
        self._memory: list[_Remembered] = []

    # -- per frame -------------------------------------------------------------------------

    def update(self, detections: Detections) -> Tracks:
        """Advance one frame with ``detections`` (N may be 0) and return every live track.

        Returns:
            Tentative (id -1), confirmed (matched now) and lost (coasting) tracks, in creation
            order; see :class:`core.types.Tracks` and the module notes.
        """
        if not isinstance(detections, Detections):
            raise TypeError(
                f"update() takes core.types.Detections, got {type(detections).__name__}"
            )
        first = self._last_frame is None
        steps = self._elapsed_frames(detections.frame_index)
        tracks = self._tracks
        tracks.predict(steps, steps / self.fps)
        matches = self._associate(detections, steps)
        scale = remember = None
        if len(matches) and (self.occlusion_noise > 0 or self.occluded_feature_max < 1):
            hidden = self._occlusion(detections)[matches[:, 1]]
            if self.merged_boxes:
                hidden = np.maximum(hidden, self._merged(detections, matches, steps))
            if self.wide_box_ratio > 0:
                hidden = np.maximum(hidden, self._excess_width(detections, matches))
            scale = 1.0 + self.occlusion_noise * hidden
            remember = hidden <= self.occluded_feature_max
        tracks.correct(matches[:, 0], matches[:, 1], detections, self.reupdate, scale, remember)

        matched = tracks.time_since_update == 0
        tracks.record_early(np.flatnonzero(matched & ~tracks.confirmed), detections.frame_index)
        self._confirm(
            np.flatnonzero(~tracks.confirmed & (tracks.hits >= self.n_init)),
            detections.frame_index,
        )
        duplicate = self._duplicates(np.flatnonzero(matched & tracks.confirmed))
        alive = matched | (tracks.confirmed & (tracks.time_since_update <= self.max_age))
        # a duplicate is not remembered: its ID may live on in the track it duplicated
        self._remember(
            np.flatnonzero(~alive & tracks.confirmed & ~duplicate), detections.frame_index
        )
        tracks.keep(alive & ~duplicate)

        eligible = detections.scores >= self.min_score_new_track
        eligible[matches[:, 1]] = False
        if self._ground is not None:
            eligible &= known_ground(detections)
        new_rows = tracks.start(np.flatnonzero(eligible), detections)
        tracks.record_early(new_rows, detections.frame_index)
        if self.n_init <= 1 or (first and self.confirm_first_frame):
            self._confirm(new_rows, detections.frame_index)
        self._mark_twins(detections)
        return self._output(detections.frame_index)

    def _mark_twins(self, detections: Detections) -> None:
        """Note which tracks matched in this frame had a twin box (another matched box by
        ``duplicate_iou`` or more): the duplicate removal of a later frame leaves a pair
        matched together alone unless the coasting one's last box was such a twin."""
        if self.duplicate_iou <= 0:  # no duplicate removal: nothing to leave alone
            return
        tracks = self._tracks
        rows = np.flatnonzero(tracks.time_since_update == 0)
        boxes = detections.boxes[tracks.det_index[rows]]
        twins = self.box_space.iou(boxes, boxes) >= self.duplicate_iou
        tracks.mark_twins(rows, twins.sum(axis=1) > 1)

    def _occlusion(self, detections: Detections) -> np.ndarray:
        """``(N,)`` fraction in [0, 1] of each detection box's area inside the box of a
        nearer detection (bottom edge lower in the image: standing people on the ground, seen
        from above their feet) scored ``high_score`` or more; the largest such fraction."""
        boxes = detections.boxes
        front = boxes[None, :, 3] > boxes[:, None, 3]
        front &= (detections.scores >= self.high_score)[None, :]
        np.fill_diagonal(front, False)
        covered = self.box_space.covered(boxes, boxes)
        return np.where(front, covered, 0.0).max(axis=1, initial=0.0)

    def _merged(self, detections: Detections, matches: np.ndarray, steps: int) -> np.ndarray:
        """``(len(matches),)`` fraction in [0, 1] of the predicted box of another confirmed
        track that lies inside each matched detection's box, the largest over the confirmed
        tracks seen in the previous frame (``steps`` frames ago) and unmatched in this one:
        their person is most likely inside that box too (two people walking together or
        crossing, boxed as one). Tracks unseen for longer are left out: their predictions
        drift, and a box would seem to hold people who have walked elsewhere."""
        tracks = self._tracks
        others = tracks.confirmed & (tracks.time_since_update <= steps)
        others[matches[:, 0]] = False
        rows = np.flatnonzero(others)
        if not len(rows):
            return np.zeros(len(matches))
        inside = self.box_space.covered(
            tracks.predicted_boxes(rows), detections.boxes[matches[:, 1]]
        )
        return inside.max(axis=0)

    def _excess_width(self, detections: Detections, matches: np.ndarray) -> np.ndarray:
        """``(len(matches),)`` fraction in [0, 1) of each matched detection box's width beyond
        what its track's predicted box shape gives at the detection's height,
        ``1 - ratio_track / ratio_box`` (width-to-height ratios), where ``ratio_box`` exceeds
        ``ratio_track`` by more than ``wide_box_ratio``; 0 elsewhere. A person's outline
        changes little from frame to frame; a box that suddenly grows wider also boxes a
        neighbour or a group."""
        track_wh = self._tracks.image_x[matches[:, 0], 2:4]  # predicted (w, h), px
        box_wh = self._image.boxes_to_measurements(detections.boxes[matches[:, 1]])[:, 2:4]
        track = track_wh[:, 0] / np.maximum(track_wh[:, 1], 1e-9)
        box = box_wh[:, 0] / np.maximum(box_wh[:, 1], 1e-9)
        wide = box > self.wide_box_ratio * track
        return np.where(wide, np.clip(1.0 - track / np.where(wide, box, 1.0), 0.0, 1.0), 0.0)

    def _duplicates(self, matched: np.ndarray) -> np.ndarray:
        """``(N,)`` bool: the coasting confirmed tracks that duplicate one of the confirmed
        tracks ``matched`` in this frame (box IoU >= ``duplicate_iou``), one to one, the most
        overlapping first. Where the duplicate is the older track, its ID and gallery move to
        the matched row (which holds the person's present state) before it goes."""
        tracks = self._tracks
        out = np.zeros(len(tracks), bool)
        coasting = np.flatnonzero(tracks.confirmed & (tracks.time_since_update > 0))
        if self.duplicate_iou <= 0 or not len(matched) or not len(coasting):
            return out
        boxes = tracks.predicted_boxes
        iou = self.box_space.iou(boxes(matched), boxes(coasting))
        pairs = np.argwhere(iou >= self.duplicate_iou)
        pairs = pairs[np.argsort(-iou[pairs[:, 0], pairs[:, 1]], kind="stable")]
        taken: set[int] = set()
        for i, j in pairs.tolist():
            m, c = int(matched[i]), int(coasting[j])
            if m in taken or c in taken:
                continue
            if tracks.seen_apart(m, c):  # two people boxed alike, not one person twice
                continue
            taken.update((m, c))
            if tracks.ids[c] < tracks.ids[m]:
                tracks.ids[m] = tracks.ids[c]
                newest = tracks.galleries[m].newest
                if newest is not None:
                    tracks.galleries[c].add(newest)
                tracks.galleries[m] = tracks.galleries[c]
            out[c] = True
        return out

    def predict(self, frame_index: int) -> Tracks:
        """Every live track as its filters predict it at ``frame_index``, changing nothing.

        The output of a frame tracked without detections (``mplt track --detect-every N``):
        the next :meth:`update` predicts across those frames itself. States stay those of the
        last update (a track matched there stays confirmed); no track has a detection.

        Raises:
            ValueError: no update yet, or ``frame_index`` not after the last update's.
        """
        last = self._last_frame
        if last is None or frame_index <= last:
            raise ValueError(
                f"predict() needs a frame after the last update's ({last}), got {frame_index}"
            )
        tracks = self._tracks
        out = self._output(frame_index)
        if len(tracks) == 0:
            return out
        dt = (frame_index - last) / self.fps
        image_x, _ = self._image.predict(tracks.image_x, tracks.image_P, dt)
        boxes = self._image.states_to_boxes(image_x)
        ground_xy = out.ground_xy
        if self._ground is not None:
            ground_xy = self._ground.predict(tracks.ground_x, tracks.ground_P, dt)[0][:, :2]
        return replace(
            out,
            boxes=boxes,
            ground_xy=ground_xy,
            detection_indices=np.full(len(tracks), -1, np.int64),
        )

    def _elapsed_frames(self, frame_index: int) -> int:
        last, self._last_frame = self._last_frame, int(frame_index)
        if last is None or frame_index <= last:
            return 1
        return int(frame_index) - last

    def _confirm(self, rows: np.ndarray, frame_index: int) -> None:
        tracks = self._tracks
        tracks.confirmed[rows] = True
        back = self._recall(rows, frame_index)
        fresh = rows[back < 0]
        tracks.ids[rows[back >= 0]] = back[back >= 0]
        tracks.ids[fresh] = np.arange(self._next_id, self._next_id + len(fresh))
        self._next_id += len(fresh)
        for r, recalled in zip(rows.tolist(), (back >= 0).tolist(), strict=True):
            # the frame of confirmation itself is reported as confirmed
            early, tracks.early[r] = tracks.early[r], None
            if recalled or (early and len(early) > 1):
                self._early[int(tracks.ids[r])] = early[:-1] if early else []

    # -- lost-track memory (stage 7) -----------------------------------------------------

    def _remember(self, rows: np.ndarray, frame_index: int) -> None:
        """Keep what identifies the confirmed tracks ``rows`` that are being deleted."""
        self._memory = [m for m in self._memory if frame_index - m.last_frame <= self.reid_window]
        if self.reid_window <= 0:
            return
        tracks = self._tracks
        # who was lost at an image edge may have left the view: that is not for the walk to
        # vouch for (the finished files' returns are)
        edge = self._touches_edge(self._image.measurements_to_boxes(tracks.seen_box[rows]))
        for r, at_edge in zip(rows.tolist(), edge.tolist(), strict=True):
            feature = _mean_feature(tracks.galleries[r].features)
            if feature is None or at_edge:
                continue
            velocity = tracks.seen_ground_x[r, 2:4] if self._ground is not None else None
            self._memory.append(
                _Remembered(
                    int(tracks.ids[r]),
                    frame_index - int(tracks.time_since_update[r]),
                    feature,
                    tracks.seen_ground[r].copy() if self._ground is not None else None,
                    None if velocity is None else velocity.copy(),
                    tracks.seen_box[r].copy(),
                )
            )

    def _touches_edge(self, boxes: np.ndarray) -> np.ndarray:
        """``(N,)`` whether each ``xyxy`` box ``(N, 4)`` touches an image edge."""
        return self.box_space.touches_edge(boxes, _EDGE_MARGIN_PX).any(axis=1)

    def _recall(self, rows: np.ndarray, frame_index: int) -> np.ndarray:
        """(len(rows),) the remembered ID each newly confirmed track takes back, -1 for none:
        one to one, by a Hungarian solve over appearance plus motion."""
        out = np.full(len(rows), -1, np.int64)
        memory = [m for m in self._memory if frame_index - m.last_frame <= self.reid_window]
        if not memory or len(rows) == 0:
            return out
        tracks = self._tracks
        cost = np.full((len(rows), len(memory)), np.inf)
        for i, r in enumerate(rows.tolist()):
            feature = _mean_feature(tracks.galleries[r].features)
            early = tracks.early[r]
            if feature is None:
                continue
            first = early[0] if early else None
            start_frame = first.frame_index if first is not None else frame_index
            box = first.box[None] if first is not None else tracks.predicted_boxes(np.array([r]))
            if self._touches_edge(box)[0]:
                continue  # came into the view, not out from behind something
            start_box = self._image.boxes_to_measurements(box)[0]
            if self._ground is not None:
                start_xy = first.ground_xy if first is not None else tracks.ground_x[r, :2]
            for j, m in enumerate(memory):
                gap_s = (start_frame - m.last_frame) / self.fps
                if gap_s <= 0:
                    continue
                cosine = 1.0 - float(feature @ m.feature)
                if cosine > self.reid_max_cosine:
                    continue
                allowed = _REID_SLACK_M + self.reid_speed_mps * gap_s
                if self._ground is not None and m.ground_xy is not None:
                    metres = float(np.hypot(*(start_xy - (m.ground_xy + m.velocity * gap_s))))
                else:
                    low, high = sorted((start_box[3], m.box[3]))
                    if high > _REID_MAX_HEIGHT_RATIO * max(low, 1.0):
                        continue  # one box 1.5 times the other's height: not seconds of a walk
                    d = start_box[:2] - m.box[:2]
                    d[0] = self.box_space.x_difference(d[:1])[0]
                    metres = float(np.hypot(*d)) * _PERSON_HEIGHT_M / max(m.box[3], 1.0)
                if metres <= allowed:
                    cost[i, j] = cosine / self.reid_max_cosine + metres / allowed
        pairs = linear_assignment(cost, 2.0)[0]
        taken = set()
        for i, j in pairs.tolist():
            out[i] = memory[j].track_id
            taken.add(j)
        self._memory = [m for k, m in enumerate(memory) if k not in taken]
        return out

    def take_early_frames(self) -> dict[int, list[EarlyFrame]]:
        """The frames before confirmation of the tracks confirmed since the last call, by
        ID, oldest first (for back-filling a finished file: ``mplt.finish``); then forgets
        them. A track that took back a remembered ID (stage 7) is listed, with or without
        early frames: from there on that ID is a new fragment of the one it continues, which
        the finishing judges again with everything it knows."""
        early, self._early = self._early, {}
        return early

    # -- association -----------------------------------------------------------------------

    def _motion_distance(self, detections: Detections) -> np.ndarray:
        """(T, D) squared Mahalanobis distances; NaN where a detection has no ground position."""
        tracks = self._tracks
        if self._ground is not None:
            return self._ground.gating_distance(
                tracks.ground_x, tracks.ground_P, detections.ground_xy, detections.ground_cov
            )
        z = self._image.boxes_to_measurements(detections.boxes)
        return self._image.gating_distance(tracks.image_x, tracks.image_P, z)

    def _associate(self, detections: Detections, steps: int) -> np.ndarray:
        """The three matching stages; returns (K, 2) int64 (track row, detection row) pairs."""
        tracks = self._tracks
        n_tracks, n_det = len(tracks), len(detections)
        if n_tracks == 0 or n_det == 0:
            return np.zeros((0, 2), np.int64)
        d2 = self._motion_distance(detections)
        with np.errstate(invalid="ignore"):
            in_gate = d2 <= self.gate  # NaN (unknown position) is outside
        strong = detections.scores >= self.high_score
        free_dets = np.flatnonzero(strong)
        found = []

        confirmed = np.flatnonzero(tracks.confirmed)
        if len(confirmed):
            cost, max_cost = self._cascade_cost(confirmed, detections, d2, in_gate, steps)
            levels = self._cascade_levels(tracks.time_since_update[confirmed])
            for level in np.unique(levels):
                if len(free_dets) == 0:
                    break
                rows = np.flatnonzero(levels == level)
                pairs, _, free = linear_assignment(cost[np.ix_(rows, free_dets)], max_cost)
                found.append(np.stack([confirmed[rows[pairs[:, 0]]], free_dets[pairs[:, 1]]], 1))
                free_dets = free_dets[free]

        recent = ~tracks.confirmed | (tracks.time_since_update == steps)
        found.append(
            self._iou_stage(detections, self._unmatched(recent, found), free_dets, in_gate, None)
        )
        weak = np.flatnonzero(~strong)
        recent = tracks.confirmed & (tracks.time_since_update == steps)
        found.append(
            self._iou_stage(
                detections, self._unmatched(recent, found), weak, in_gate, self.low_max_iou_distance
            )
        )
        return np.concatenate(found)

    def _cascade_levels(self, time_since_update: np.ndarray) -> np.ndarray:
        """The cascade level of each track (lower is matched first): the slot of
        ``cascade_level_s`` seconds its time unseen falls in, or its frames unseen."""
        if self.cascade_level_s <= 0:
            return time_since_update
        # At 25 fps a track missed for one frame (40 ms) is as well predicted as one seen in
        # the last frame; a level per frame let the latter take the former's detection.
        slots = time_since_update / (self.fps * self.cascade_level_s)
        return np.ceil(np.round(slots, 9)).astype(np.int64)

    def _unmatched(self, candidates: np.ndarray, found: list[np.ndarray]) -> np.ndarray:
        """Rows of the tracks in ``candidates`` (N,) bool that no pair in ``found`` holds."""
        keep = candidates.copy()
        for pairs in found:
            keep[pairs[:, 0]] = False
        return np.flatnonzero(keep)

    def _iou_stage(
        self,
        detections: Detections,
        rows: np.ndarray,
        cols: np.ndarray,
        in_gate: np.ndarray,
        max_distance: float | None,
    ) -> np.ndarray:
        """Matches (K, 2) of tracks ``rows`` and detections ``cols`` by ``1 - IoU`` <=
        ``max_distance`` (None: ``max_iou_distance``), in ground mode within the Mahalanobis
        gate (detections without a ground position by IoU alone)."""
        if len(rows) == 0 or len(cols) == 0:
            return np.zeros((0, 2), np.int64)
        limit = self.max_iou_distance if max_distance is None else max_distance
        boxes = self._tracks.predicted_boxes(rows)
        cost = 1.0 - self.box_space.iou(boxes, detections.boxes[cols])
        allowed = cost <= limit
        if self._ground is not None:
            unknown = ~known_ground(detections)[cols]
            allowed &= in_gate[np.ix_(rows, cols)] | unknown[None, :]
        pairs, _, _ = linear_assignment(apply_gate(cost, allowed), limit)
        return np.stack([rows[pairs[:, 0]], cols[pairs[:, 1]]], 1)

    def _cascade_cost(
        self,
        rows: np.ndarray,
        detections: Detections,
        d2: np.ndarray,
        in_gate: np.ndarray,
        steps: int,
    ) -> tuple[np.ndarray, float]:
        """Stage-1 cost (len(rows), D) for the confirmed tracks ``rows`` and its threshold."""
        tracks = self._tracks
        allowed = in_gate[rows]
        motion = np.where(allowed, d2[rows], self.gate) / self.gate
        if self._ground is not None:
            # The chi-square gate widens with the covariance; this caps the jump regardless.
            coasted_s = (tracks.time_since_update[rows] - 1) / self.fps
            radius = self.ground_match_radius_m + self.max_speed_mps * coasted_s
            offset = detections.ground_xy[None, :, :] - tracks.ground_x[rows, None, :2]
            with np.errstate(invalid="ignore"):
                allowed &= np.hypot(offset[..., 0], offset[..., 1]) <= radius[:, None]
        if self.cascade_min_iou > 0.0:
            iou = self.box_space.iou(tracks.predicted_boxes(rows), detections.boxes)
            passes = iou >= self.cascade_min_iou
            if self._ground is not None:
                # a track seen in the previous frame has a tight ground gate, and the box
                # filter of a near person (fast in the image) lags behind the box
                passes |= (tracks.time_since_update[rows] <= steps)[:, None]
            allowed &= passes
        if detections.embeddings is None:
            return apply_gate(motion, allowed), 1.0
        cosine = self._appearance_distance(rows, detections.embeddings, allowed)
        # A track without features yet (embeddings skipped on earlier frames) is scored as
        # if its appearance were just acceptable, so motion decides among such tracks.
        empty = np.array([len(tracks.galleries[r]) == 0 for r in rows.tolist()], bool)
        cosine[empty] = self.max_cosine_distance
        allowed &= cosine <= self.max_cosine_distance
        cosine = np.where(allowed, cosine, 0.0)  # gated below; avoids inf * 0
        w = self.appearance_weight
        cost = w * cosine + (1.0 - w) * motion
        return apply_gate(cost, allowed), w * self.max_cosine_distance + (1.0 - w)

    def _appearance_distance(
        self, rows: np.ndarray, embeddings: np.ndarray, candidates: np.ndarray
    ) -> np.ndarray:
        """Cosine distances (len(rows), D) for the candidate pairs, ``inf`` elsewhere.

        A pair alone in both its row and its column of ``candidates`` cannot compete with
        any other pair, so the assignment only needs to know whether its distance is within
        ``max_cosine_distance``; for those pairs the gallery is searched newest first and the
        search stops at the first close-enough feature. Other pairs get the exact
        nearest-neighbour distance.
        """
        tracks = self._tracks
        isolated = (
            candidates
            & (candidates.sum(axis=1) == 1)[:, None]
            & (candidates.sum(axis=0) == 1)[None, :]
        )
        galleries = [tracks.galleries[r].features for r in rows]
        cosine = nn_cosine_distance(galleries, embeddings, candidates & ~isolated)
        pair_rows, pair_cols = np.nonzero(isolated)
        # Most isolated pairs are settled by the track's newest feature alone: one batched
        # dot product for all of them, the gallery search only for the rest.
        newest = [tracks.galleries[rows[r]].newest for r in pair_rows.tolist()]
        has = np.array([f is not None for f in newest], bool)
        if has.any():
            stacked = np.stack([f for f in newest if f is not None])
            d = 1.0 - np.einsum("ij,ij->i", stacked, embeddings[pair_cols[has]])
            close = d <= self.max_cosine_distance
            cosine[pair_rows[has][close], pair_cols[has][close]] = d[close]
            settled = np.zeros(len(pair_rows), bool)
            settled[np.flatnonzero(has)[close]] = True
            pair_rows, pair_cols = pair_rows[~settled], pair_cols[~settled]
        for r, c in zip(pair_rows.tolist(), pair_cols.tolist(), strict=True):
            cosine[r, c] = tracks.galleries[rows[r]].distance_within(
                embeddings[c], self.max_cosine_distance, _NEWEST_FEATURES_FIRST
            )
        return cosine

    # -- track bookkeeping -----------------------------------------------------------------

    def _output(self, frame_index: int) -> Tracks:
        tracks = self._tracks
        matched = tracks.time_since_update == 0
        boxes = tracks.predicted_boxes(np.arange(len(tracks)))
        states = np.where(
            tracks.confirmed,
            np.where(matched, TrackState.CONFIRMED, TrackState.LOST),
            TrackState.TENTATIVE,
        )
        if self._ground is not None:
            ground_xy, velocity = tracks.ground_x[:, :2], tracks.ground_x[:, 2:]
        else:
            ground_xy = velocity = np.full((len(tracks), 2), np.nan)
        return Tracks(
            ids=tracks.ids.copy(),
            boxes=boxes,
            scores=tracks.score.copy(),
            ground_xy=ground_xy.copy(),
            ground_velocity=velocity.copy(),
            states=states,
            detection_indices=tracks.det_index.copy(),
            frame_index=frame_index,
        )
