"""Structured item features: which tags get columns, the publish-time thermometer, storage."""

from __future__ import annotations

import numpy as np

from homefeed.domain import ItemFields
from homefeed.understanding.item_features import ItemFeatureSpace


def _item(tags: list[str], published: float | None, category: str | None = None) -> ItemFields:
    return ItemFields(title="t", tags=tags, category=category, published_at=published)


def test_the_most_frequent_tags_get_columns_and_the_category_counts_as_a_tag() -> None:
    items = [
        _item(["Drama", "war"], 10.0),
        _item(["drama"], 20.0, category="Comedy"),
        _item(["comedy", "noir"], 30.0),
    ]
    space = ItemFeatureSpace.fit(items, max_tags=2, time_steps=0)
    assert space.tags == ("comedy", "drama")  # 2 each; "noir" and "war" (1 each) are cut
    assert space.time_edges == ()
    features = space.transform(items)
    np.testing.assert_array_equal(features, [[0, 1, 0], [1, 1, 0], [1, 0, 0]])


def test_publish_time_is_a_thermometer_with_an_unknown_column() -> None:
    items = [_item([], float(t)) for t in range(1, 10)]
    space = ItemFeatureSpace.fit(items, time_steps=2)
    np.testing.assert_allclose(space.time_edges, [1 + 8 / 3, 1 + 16 / 3])  # the 1/3 and 2/3 quantiles
    features = space.transform([_item([], 1.0), _item([], 5.0), _item([], 100.0), _item([], None)])
    np.testing.assert_array_equal(features, [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 0, 1]])
    assert ItemFeatureSpace.from_dict(space.to_dict()) == space
