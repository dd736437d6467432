"""Fitted parameters: the small logistic models behind citations and abstention.

Two decisions are learned from labelled examples instead of set by hand (see
`eval/calibrate.py`, which fits them, and `rag calibrate`, which refits them from
scratch):

- `support`: does this span of a passage state what this answer sentence says?
- `answer`: is this answer right? Its probability is what `abstain_below` compares to.

Each is a logistic regression over named features, standardised with the training
set's mean and scale. Loading one is a JSON read; scoring is a dot product.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import ConfigError

CALIBRATION_FILE = Path(__file__).resolve().parent / "calibration.json"


@dataclass(frozen=True)
class LogisticModel:
    """P(y = 1 | x) = sigmoid(intercept + sum(coef * (x - mean) / scale)).

    A feature that is missing (None: a backend that gives no token probabilities)
    takes its training mean, so it moves the probability neither way.
    """

    features: tuple[str, ...]
    coef: tuple[float, ...]
    intercept: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    meta: dict = field(default_factory=dict, compare=False)

    def logit(self, values: Mapping[str, float | bool | None]) -> float:
        total = self.intercept
        for name, coef, mean, scale in zip(self.features, self.coef, self.mean, self.scale):
            value = values.get(name)
            if value is None:
                continue
            total += coef * (float(value) - mean) / scale
        return total

    def probability(self, values: Mapping[str, float | bool | None]) -> float:
        z = self.logit(values)
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    def to_json(self) -> dict:
        return {"features": list(self.features), "coef": list(self.coef),
                "intercept": self.intercept, "mean": list(self.mean),
                "scale": list(self.scale), **({"meta": self.meta} if self.meta else {})}

    @classmethod
    def from_json(cls, data: Mapping) -> LogisticModel:
        names = tuple(data["features"])
        columns = [tuple(float(x) for x in data[key]) for key in ("coef", "mean", "scale")]
        if any(len(column) != len(names) for column in columns):
            raise ValueError("coef, mean and scale need one value per feature")
        if any(s <= 0 for s in columns[2]):
            raise ValueError("every scale must be positive")
        return cls(names, columns[0], float(data["intercept"]), columns[1], columns[2],
                   dict(data.get("meta", {})))


@dataclass(frozen=True)
class Calibration:
    support: LogisticModel
    answer: LogisticModel
    meta: dict = field(default_factory=dict, compare=False)

    def to_json(self) -> dict:
        return {"support": self.support.to_json(), "answer": self.answer.to_json(),
                "meta": self.meta}

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")


def load_calibration(path: Path | None = None) -> Calibration:
    """The fitted models (the bundled file unless `path` names another).

    Raises:
        ConfigError: the file is missing or not in this format.
    """
    path = Path(path or CALIBRATION_FILE)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Calibration(LogisticModel.from_json(data["support"]),
                           LogisticModel.from_json(data["answer"]), dict(data.get("meta", {})))
    except FileNotFoundError:
        raise ConfigError(f"No calibration file at {path}; run `rag calibrate` or unset "
                          "RAG_CALIBRATION_PATH.") from None
    except OSError as exc:  # a folder, no permission
        raise ConfigError(f"Cannot read the calibration file {path} ({exc.strerror or exc}); "
                          "point RAG_CALIBRATION_PATH at the JSON file `rag calibrate` "
                          "wrote, or unset it.") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"The calibration file {path} is not valid ({exc}); run "
                          "`rag calibrate` to write a new one.") from None
