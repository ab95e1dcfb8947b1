"""EvalReport: the result of ``mplt eval`` as a text table and as a JSON-ready dict."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

#: (key in the metrics dict, column title, is a percentage) in table order.
COLUMNS = (
    ("HOTA", "HOTA", True),
    ("DetA", "DetA", True),
    ("AssA", "AssA", True),
    ("MOTA", "MOTA", True),
    ("MOTP", "MOTP", True),
    ("IDF1", "IDF1", True),
    ("IDP", "IDP", True),
    ("IDR", "IDR", True),
    ("precision", "Prcn", True),
    ("recall", "Rcll", True),
    ("IDSW", "IDSW", False),
    ("FP", "FP", False),
    ("FN", "FN", False),
    ("MT", "MT", False),
    ("ML", "ML", False),
    ("Frag", "Frag", False),
    ("gt_ids", "GT IDs", False),
    ("pred_ids", "pred IDs", False),
)
COMBINED = "COMBINED"


@dataclass(frozen=True)
class EvalReport:
    """Metrics per sequence and over all sequences.

    Every metrics dict has the keys documented in :func:`mplt.eval.metrics.summarize`:
    ratios as fractions in [0, 1], counts as ints, ``ground_error`` a dict or None.
    Sequence entries also carry their ``width``.

    Attributes:
        sequences: sequence name -> metrics, sorted by name.
        combined: metrics over all sequences (TrackEval's ``combine_sequences``).
        width: panorama width in pixels used for seam-aware matching: the one given, or the
            one every sequence resolved to; None for plain IoU or when sequences differ.
        iou_threshold: IoU of a match for CLEAR, Identity and the ground error.
    """

    sequences: dict[str, dict[str, Any]]
    combined: dict[str, Any]
    width: float | None
    iou_threshold: float

    def to_dict(self) -> dict[str, Any]:
        """``{"sequences": {name: metrics}, "combined": metrics, "width", "iou_threshold"}``.

        Only plain Python numbers, strings, dicts and None: ``json.dumps`` takes it as is.
        """
        return {
            "sequences": copy.deepcopy(self.sequences),
            "combined": copy.deepcopy(self.combined),
            "width": self.width,
            "iou_threshold": self.iou_threshold,
        }

    def to_text(self) -> str:
        """An aligned table: one row per sequence plus COMBINED, then the ground error.

        Percentages have one decimal, counts are integers. The ground-error lines appear for
        rows where matched pairs had ground positions on both sides.
        """
        rows = [(name, metrics) for name, metrics in self.sequences.items()]
        rows.append((COMBINED, self.combined))
        header = ["sequence"] + [title for _, title, _ in COLUMNS]
        cells = [header] + [
            [name] + [_cell(metrics[key], pct) for key, _, pct in COLUMNS] for name, metrics in rows
        ]
        widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
        lines = [
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
            for row in cells
        ]
        lines.insert(0, f"IoU >= {self.iou_threshold:g}, {self._matching()}; % except counts")
        # One sequence: its row and COMBINED are the same, so say it once.
        for name, metrics in rows if len(rows) > 2 else rows[-1:]:
            err = metrics.get("ground_error")
            if err is not None:
                lines.append(
                    f"ground error {name}: median {err['median_m']:.2f} m, "
                    f"p90 {err['p90_m']:.2f} m, mean {err['mean_m']:.2f} m "
                    f"over {err['count']} matched pairs"
                )
        return "\n".join(lines) + "\n"

    def _matching(self) -> str:
        if self.width is not None:
            return f"seam-aware (panorama width {self.width:g} px)"
        if any(m.get("width") is not None for m in self.sequences.values()):
            return "seam-aware where a sequence's width is known"
        return "plain image IoU"


def _cell(value: float, percent: bool) -> str:
    return f"{100.0 * value:.1f}" if percent else str(int(value))
