"""The For You model: what viewers did with series → weights → a trained model → each viewer's
top candidates and each series' neighbours.

No database here: `training.py` reads the histories from the tables and writes the answers
back, and `bench/recs.py` feeds the same functions a simulated audience, so the benchmark
measures the code production runs.
"""

from __future__ import annotations

import enum
import math
import os
import warnings
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sparse
from implicit.als import AlternatingLeastSquares
from implicit.bpr import BayesianPersonalizedRanking
from implicit.nearest_neighbours import BM25Recommender, CosineRecommender
from implicit.utils import ParameterWarning
from threadpoolctl import threadpool_limits

# What a history's signals are worth. Finishing episodes and going on to the next one say the
# most; paying and following count; merely starting an episode says little.
WATCHED = 1.0  # played past the first seconds
PER_COMPLETION = 1.0  # each episode watched to the end
PER_CONTINUATION = 1.0  # each further episode started after the first
PER_UNLOCK = 2.0  # each episode unlocked (coins, an ad, the rest of the series)
FOLLOWED = 4.0  # in My list
# Confidence grows with the log of the weight: a 60-episode binge is not 60 times a sampling
# (bench/recs.py: a larger scale, or the raw weight, measured worse).
CONFIDENCE_SCALE = 1.0

CANDIDATES_PER_VIEWER = 50
SIMILAR_PER_SERIES = 20
# The machine has 2 cores; implicit parallelises itself, so BLAS stays single-threaded under it
# (implicit warns that a threaded OpenBLAS slows ALS down).
TRAINING_THREADS = max(1, min(2, os.cpu_count() or 1))


@dataclass(frozen=True, slots=True)
class History:
    """What one viewer did with one series."""

    account_id: int
    series_id: int
    episodes_played: int = 0  # episodes watched past the first seconds
    episodes_completed: int = 0
    unlocks: int = 0
    followed: bool = False
    # Swiped away within the first seconds, and nothing else: counts against the series.
    skipped: bool = False

    @property
    def weight(self) -> float:
        """How much the history says the viewer likes the series (0: nothing, or a skip)."""
        continuations = max(self.episodes_played - 1, 0)
        return (
            (WATCHED if self.episodes_played or self.episodes_completed else 0.0)
            + PER_COMPLETION * self.episodes_completed
            + PER_CONTINUATION * continuations
            + PER_UNLOCK * self.unlocks
            + (FOLLOWED if self.followed else 0.0)
        )

    @property
    def confidence(self) -> float:
        return 1.0 + CONFIDENCE_SCALE * math.log1p(self.weight)


class Algorithm(enum.StrEnum):
    als = "als"  # implicit's alternating least squares (matrix factorisation)
    bpr = "bpr"  # Bayesian personalised ranking
    cosine = "cosine"  # item-to-item co-watching, cosine similarity
    bm25 = "bm25"  # item-to-item co-watching, BM25-weighted


DEFAULT_ALGORITHM = Algorithm.als


@dataclass(frozen=True)
class Interactions:
    """The viewers-by-series matrix of confidences, and each viewer's skipped series."""

    account_ids: np.ndarray  # row -> account id
    series_ids: np.ndarray  # column -> series id
    matrix: sparse.csr_matrix  # confidence of each positive history, float32
    skipped: sparse.csr_matrix  # 1 where the viewer skipped the series (and nothing more)

    @property
    def count(self) -> int:
        return int(self.matrix.nnz)

    @classmethod
    def from_histories(cls, histories: Iterable[History]) -> Interactions:
        """One row per viewer with any signal, one column per series anyone touched."""
        rows: list[int] = []
        cols: list[int] = []
        values: list[float] = []
        skip_rows: list[int] = []
        skip_cols: list[int] = []
        row_of: dict[int, int] = {}
        col_of: dict[int, int] = {}
        for history in histories:
            row = row_of.setdefault(history.account_id, len(row_of))
            col = col_of.setdefault(history.series_id, len(col_of))
            if history.weight > 0:
                rows.append(row)
                cols.append(col)
                values.append(history.confidence)
            elif history.skipped:
                skip_rows.append(row)
                skip_cols.append(col)
        shape = (len(row_of), len(col_of))
        matrix = sparse.csr_matrix(
            (np.asarray(values, dtype=np.float32), (rows, cols)), shape=shape
        )
        skipped = sparse.csr_matrix(
            (np.ones(len(skip_rows), dtype=np.float32), (skip_rows, skip_cols)), shape=shape
        )
        return cls(
            account_ids=np.fromiter(row_of, dtype=np.int64, count=len(row_of)),
            series_ids=np.fromiter(col_of, dtype=np.int64, count=len(col_of)),
            matrix=matrix,
            skipped=skipped,
        )


def _model(algorithm: Algorithm, *, seed: int) -> Any:
    # Settings chosen on bench/recs.py's audience: more factors fit the histories better and
    # the held-out series worse; a regularisation of 20 measured a little better there (recall
    # 0.311 against 0.304) but on a few dozen viewers (a new install, the tests) it let the
    # most popular genre win over the viewer's own.
    threads = TRAINING_THREADS
    if algorithm is Algorithm.als:
        return AlternatingLeastSquares(
            factors=32, regularization=5.0, iterations=15, num_threads=threads, random_state=seed
        )
    if algorithm is Algorithm.bpr:
        return BayesianPersonalizedRanking(
            factors=64, learning_rate=0.05, iterations=100, num_threads=threads, random_state=seed
        )
    if algorithm is Algorithm.cosine:
        return CosineRecommender(K=200, num_threads=threads)
    return BM25Recommender(K=200, num_threads=threads)


@dataclass
class Model:
    algorithm: Algorithm
    interactions: Interactions
    implicit_model: Any

    def top_candidates(
        self,
        count: int = CANDIDATES_PER_VIEWER,
        *,
        only_series: Collection[int] | None = None,
        batch: int = 2_000,
    ) -> Iterator[tuple[int, list[tuple[int, float]]]]:
        """Each viewer's best series they have not watched nor skipped, best first (among
        `only_series`, e.g. those in the feed now, when given)."""
        interactions = self.interactions
        seen = interactions.matrix
        skipped = interactions.skipped
        series = interactions.series_ids
        filtered = None
        if only_series is not None:
            filtered = np.flatnonzero(~np.isin(series, np.fromiter(only_series, dtype=np.int64)))
        excluded = set() if filtered is None else set(filtered.tolist())
        wanted = min(count, len(series) - len(excluded))
        if wanted <= 0:
            return
        for start in range(0, len(interactions.account_ids), batch):
            rows = np.arange(start, min(start + batch, len(interactions.account_ids)))
            # Ask for more than needed: skipped series are dropped afterwards.
            extra = int(skipped[rows].getnnz(axis=1).max(initial=0))
            asked = min(wanted + extra, len(series))
            if asked <= 0:
                continue
            with threadpool_limits(limits=1, user_api="blas"):
                cols, scores = self.implicit_model.recommend(
                    rows,
                    seen[rows],
                    N=asked,
                    filter_already_liked_items=True,
                    filter_items=filtered,
                )
            for offset, row in enumerate(rows):
                # Asked for more than it has, implicit pads the list with the filtered series
                # (at the lowest float): they are dropped here with the skipped ones.
                drop = {
                    *skipped.indices[skipped.indptr[row] : skipped.indptr[row + 1]],
                    *seen.indices[seen.indptr[row] : seen.indptr[row + 1]],
                    *excluded,
                }
                picked = [
                    (int(series[c]), float(s))
                    for c, s in zip(cols[offset], scores[offset], strict=True)
                    if c >= 0 and c not in drop and np.isfinite(s)
                ][:wanted]
                if picked:
                    yield int(interactions.account_ids[row]), picked

    def similar_series(
        self, count: int = SIMILAR_PER_SERIES
    ) -> Iterator[tuple[int, list[tuple[int, float]]]]:
        """Each series' closest series (watched by the same people), closest first."""
        series = self.interactions.series_ids
        if len(series) < 2:
            return
        with threadpool_limits(limits=1, user_api="blas"):
            cols, scores = self.implicit_model.similar_items(
                np.arange(len(series)), N=min(count + 1, len(series))
            )
        for col, (others, sims) in enumerate(zip(cols, scores, strict=True)):
            picked = [
                (int(series[o]), float(s))
                for o, s in zip(others, sims, strict=True)
                if o >= 0 and o != col and np.isfinite(s) and s > 0
            ][:count]
            if picked:
                yield int(series[col]), picked


def fit(
    interactions: Interactions, algorithm: Algorithm = DEFAULT_ALGORITHM, *, seed: int = 14
) -> Model:
    """Train the model on the interactions (a few seconds at a million views on 2 cores)."""
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        # The item-to-item models hand their own CSR conversion a COO matrix and say so.
        warnings.simplefilter("ignore", ParameterWarning)
        model = _model(algorithm, seed=seed)  # ALS checks the BLAS threads when made
        model.fit(interactions.matrix, show_progress=False)
    return Model(algorithm=algorithm, interactions=interactions, implicit_model=model)
