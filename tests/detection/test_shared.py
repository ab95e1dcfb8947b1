"""One model shared by streams in threads: rounds batch their images, members come and go."""

from __future__ import annotations

import threading

import numpy as np

from mplt.detection import SharedDetector


class Echo:
    """Returns one box per image whose x1 is the image's first pixel; records call sizes."""

    name = "echo"
    box_margins = (0.05, 0.03)

    def __init__(self, fail: bool = False) -> None:
        self.batches: list[int] = []
        self.fail = fail

    def detect(self, images):
        self.batches.append(len(images))
        if self.fail:
            raise RuntimeError("out of memory")
        return [
            (np.array([[float(im[0, 0, 0]), 0, 50, 40]]), np.ones(1, np.float32)) for im in images
        ]


def _streams(shared: SharedDetector, rounds: list[int]) -> dict[int, list]:
    """Stream k runs ``rounds[k]`` rounds of 2 images valued 10k + round, then leaves."""
    out: dict[int, list] = {}
    joined = threading.Barrier(len(rounds))

    def stream(k: int) -> None:
        client = shared.client(min_box_height_px=30.0)
        got = []
        with shared.member():
            joined.wait()  # a stream that joins later only misses the rounds before
            for r in range(rounds[k]):
                images = [np.full((8, 8, 3), 10 * k + r, np.uint8)] * 2
                try:
                    got.append([b[0, 0] for b, _ in client.detect(images)])
                except RuntimeError as exc:
                    got.append(str(exc))
        out[k] = got

    threads = [threading.Thread(target=stream, args=(k,)) for k in range(len(rounds))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert not any(t.is_alive() for t in threads)
    return out


def test_rounds_hold_every_member_and_a_member_that_left_holds_none_up() -> None:
    base = Echo()
    shared = SharedDetector(base)
    out = _streams(shared, [3, 1, 2])
    assert out == {0: [[0, 0], [1, 1], [2, 2]], 1: [[10, 10]], 2: [[20, 20], [21, 21]]}
    assert base.batches == [6, 4, 2]  # all three, then streams 0 and 2, then 0 alone
    assert shared.client().box_margins == (0.05, 0.03)
    # outside a round (no member): a plain call; the client's height filter applies
    ((boxes, _),) = shared.client(min_box_height_px=41.0).detect([np.zeros((8, 8, 3), np.uint8)])
    assert len(boxes) == 0 and base.batches[-1] == 1


def test_a_failing_model_fails_every_stream_of_the_round() -> None:
    out = _streams(SharedDetector(Echo(fail=True)), [1, 1])
    assert out == {0: ["out of memory"], 1: ["out of memory"]}
