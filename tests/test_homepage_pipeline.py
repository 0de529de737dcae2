"""The declared homepage pipeline: wiring checked at start-up, sources failing open,
filters reporting what they removed, sections and explanations resting on real evidence."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from homefeed.config import Settings
from homefeed.domain import Event, Impression, Item
from homefeed.errors import ConfigurationError
from homefeed.homepage import Candidate, Explanation, HomepagePipeline
from homefeed.homepage.candidates import Ask, Proposal
from homefeed.homepage.filters import filter_factories
from homefeed.homepage.query import PageQuery
from homefeed.live.catalog import Catalog
from homefeed.service import create_app
from homefeed.store import Store
from homefeed.training.trainer import train_bundle
from homefeed.training.versions import ModelBundle, latest_version_path, load_bundle
from tests.conftest import load_folder


@pytest.fixture
def pipeline(trained: tuple[Store, Settings]) -> HomepagePipeline:
    store, settings = trained
    path = latest_version_path(settings.effective_models_dir)
    assert path is not None
    return HomepagePipeline(store, settings, Catalog(store.iter_items()), load_bundle(path))


def _users(store: Store, count: int) -> list[str]:
    return store.logs.sample_user_ids(count)


def test_an_unknown_component_fails_start_up_with_the_valid_names(trained: tuple[Store, Settings]) -> None:
    store, settings = trained
    wrong = settings.model_copy(
        update={"homepage": settings.homepage.model_copy(update={"fill": ["telepathy"]})}
    )
    with pytest.raises(ConfigurationError, match=r"homepage.fill: unknown component\(s\) \['telepathy'\]"):
        HomepagePipeline(store, wrong, Catalog(store.iter_items()))
    bad_filter = settings.homepage.model_copy(update={"filters": ["seen", "mood"]})
    with pytest.raises(ConfigurationError, match=r"valid names are \['category', 'disliked'"):
        HomepagePipeline(store, settings.model_copy(update={"homepage": bad_filter}), Catalog())
    with pytest.raises(ConfigurationError, match="telepathy"), TestClient(create_app(wrong)):
        pass


def test_a_failing_source_degrades_the_page_and_is_named(
    trained: tuple[Store, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, settings = trained
    user = _users(store, 3)[-1]
    with TestClient(create_app(settings)) as client:
        pipeline = client.app.state.runtime.homepages  # type: ignore[attr-defined]
        personal = next(source for source in pipeline.variants.base.sources if source.name == "personal")

        def broken(query: PageQuery, ask: Ask) -> Proposal:
            raise RuntimeError("index file vanished")

        monkeypatch.setattr(personal, "fetch", broken)
        response = client.get(f"/v1/users/{user}/homepage?n=12")
    assert response.status_code == 200
    page = response.json()
    assert page["degraded"] is True
    assert "personal recommendations failed (RuntimeError)" in page["reasons"]
    assert len(page["items"]) == 12 and "personal" not in {item["source"] for item in page["items"]}


def test_sections_cover_the_page_once_and_explanations_rest_on_the_users_history(
    pipeline: HomepagePipeline, trained: tuple[Store, Settings]
) -> None:
    store, settings = trained
    for user in _users(store, 8):
        history = {event.item_id for event in store.logs.user_events(user, settings.history_length)}
        page = pipeline.build(user, 30)
        ids = [item.item_id for item in page.items]
        assert len(ids) == 30 and len(set(ids)) == 30 and not history & set(ids)
        in_sections = [item.item_id for section in page.sections for item in section.items]
        assert sorted(in_sections) == sorted(ids)
        for item in page.items:
            if item.explanation.type == "history":
                assert item.explanation.evidence and set(item.explanation.evidence) <= history
                title = store.get_item(item.explanation.evidence[0])
                assert title is not None and item.reason.endswith(title.title)
        for section in page.sections:
            assert section.title
            if section.key.startswith("because:"):
                anchor = section.key.removeprefix("because:")
                assert anchor in history and len(section.items) >= 3
                assert all(item.explanation.evidence[0] == anchor for item in section.items)


def test_flat_pages_have_no_sections_and_sections_list_page_items(trained: tuple[Store, Settings]) -> None:
    store, settings = trained
    user = _users(store, 2)[-1]
    with TestClient(create_app(settings)) as client:
        page = client.get(f"/v1/users/{user}/homepage?n=20").json()
        flat = client.get(f"/v1/users/{user}/homepage?n=20&flat=true").json()
    assert flat["sections"] == [] and len(flat["items"]) == 20
    listed = [item_id for section in page["sections"] for item_id in section["item_ids"]]
    assert sorted(listed) == sorted(item["item_id"] for item in page["items"])
    assert page["sections"][0]["title"] in {"Top picks for you"} or page["sections"][0]["title"].startswith(
        "Because you liked"
    )
    assert page["items"][0]["details"] is None
    with TestClient(create_app(settings)) as client:
        explained = client.get(f"/v1/users/{user}/homepage?n=20&explain=true").json()
    details = explained["items"][0]["details"]
    assert details["rank"] == 1.0 and details["score"] == explained["items"][0]["score"]
    first = page["items"][0]["explanation"]
    assert first["type"] == "history" and first["evidence"] and first["text"] == page["items"][0]["reason"]


def test_filters_keep_what_may_be_shown_and_return_the_rest() -> None:
    catalog = Catalog()
    from homefeed.domain import Item

    catalog.upsert([Item(id="a", title="A"), Item(id="b", title="B", active=False), Item(id="c", title="C")])
    filters = filter_factories(catalog)
    request = PageQuery("r", "u", 5, excluded=frozenset({"c"}), seen=frozenset({"a"}))
    why = Explanation("popularity", "Popular right now")
    candidates = [Candidate(item, 1.0, "popular", why) for item in ("a", "b", "c", "z")]
    seen = filters["seen"]().apply(request, candidates)
    assert [c.item_id for c in seen.kept] == ["b", "c", "z"] and [c.item_id for c in seen.removed] == ["a"]
    inactive = filters["inactive"]().apply(request, candidates)
    assert [c.item_id for c in inactive.removed] == ["b", "z"]  # inactive, and unknown to the catalog
    assert [c.item_id for c in filters["excluded"]().apply(request, candidates).removed] == ["c"]


@pytest.fixture
def client_and_store(trained: tuple[Store, Settings]) -> Iterator[tuple[TestClient, Store]]:
    store, settings = trained
    with TestClient(create_app(settings)) as client:
        yield client, store


def test_an_event_can_be_named_by_the_next_page(client_and_store: tuple[TestClient, Store]) -> None:
    """A purchase sent now shapes the next page, and is the evidence of its reasons."""
    client, store = client_and_store
    bought = store.logs.item_popularity(["click"], 5)[-1][0]
    event = {"event_id": "now-1", "user_id": "newcomer", "item_id": bought, "type": "purchase"}
    assert client.post("/v1/events", json={"events": [event]}).status_code == 200
    page = client.get("/v1/users/newcomer/homepage?n=10").json()
    assert page["degraded"] is False and bought not in {item["item_id"] for item in page["items"]}
    # one liked item: the personal row is what people who bought it pick (homepage.short_history);
    # the rest is exploration's two slots and what trended in the imported log, read as the
    # service started (live aggregates are re-read every LIVE_TTL seconds, not per event)
    personal = [item for item in page["items"] if item["source"] == "profile"]
    assert {item["source"] for item in page["items"]} <= {"profile", "explore", "trending"}
    assert len(personal) >= 7 and all(item["explanation"]["evidence"] == [bought] for item in personal)
    title = client.get(f"/v1/items/{bought}").json()["title"]
    assert page["sections"][0] == {
        "key": "profile",
        "title": f"Often chosen with {title}",
        "item_ids": [item["item_id"] for item in personal],
    }
    more = [item["item_id"] for item in page["items"] if item["item_id"] != bought][:2]
    events = [{"user_id": "newcomer", "item_id": item_id, "type": "purchase"} for item_id in more]
    assert client.post("/v1/events", json={"events": events}).status_code == 200
    page = client.get("/v1/users/newcomer/homepage?n=10").json()  # three liked: the personal models
    personal = [item for item in page["items"] if item["source"] in {"covisitation", "als"}]
    assert len(personal) >= 7 and all(
        item["explanation"]["evidence"][0] in [bought, *more] for item in personal
    )
    assert page["sections"][0]["title"].startswith("Because you liked")


def test_a_category_cap_is_honoured_and_the_page_still_fills(trained: tuple[Store, Settings]) -> None:
    store, settings = trained
    capped = settings.model_copy(
        update={"homepage": settings.homepage.model_copy(update={"max_per_category": 4})}
    )
    path = latest_version_path(settings.effective_models_dir)
    assert path is not None
    catalog = Catalog(store.iter_items())
    pipeline = HomepagePipeline(store, capped, catalog, load_bundle(path))
    categories = {catalog.get(item_id).category for item_id in catalog.ids()}  # type: ignore[union-attr]
    assert len(categories) * 4 >= 20
    for user in _users(store, 5):
        page = pipeline.build(user, 20)
        counts = Counter(item.category for item in page.items)
        assert len(page.items) == 20 and max(counts.values()) <= 4
        assert len({item.item_id for item in page.items}) == 20


def test_promotions_take_their_slot_within_their_window(client_and_store: tuple[TestClient, Store]) -> None:
    client, store = client_and_store
    user = _users(store, 2)[-1]
    seen = {event.item_id for event in store.logs.user_events(user, 500)}
    pinned = next(item.id for item in store.iter_items() if item.id not in seen)
    body = {"item_id": pinned, "position": 2, "label": "Editor's pick", "starts_at": "2020-01-01T00:00:00"}
    assert client.put("/v1/admin/promotions/spring", json=body).status_code == 200
    page = client.get(f"/v1/users/{user}/homepage?n=10").json()
    second = page["items"][1]
    assert second["item_id"] == pinned and second["source"] == "promoted"
    assert second["explanation"] == {"type": "promoted", "text": "Editor's pick", "evidence": ["spring"]}
    assert [item["item_id"] for item in page["items"]].count(pinned) == 1 and len(page["items"]) == 10
    assert {"key": "promoted", "title": "Featured", "item_ids": [pinned]} in page["sections"]
    # a window that is over, and an item the user has already seen, are not shown
    ended = {**body, "ends_at": "2021-01-01T00:00:00"}
    assert client.put("/v1/admin/promotions/spring", json=ended).status_code == 200
    after = client.get(f"/v1/users/{user}/homepage").json()["items"]
    assert "promoted" not in {item["source"] for item in after}  # other sources may still find it
    own = {"item_id": next(iter(seen)), "position": 1}
    assert client.put("/v1/admin/promotions/own", json=own).status_code == 200
    first = client.get(f"/v1/users/{user}/homepage?n=5").json()["items"][0]
    assert first["source"] != "promoted"
    assert [p["id"] for p in client.get("/v1/admin/promotions").json()] == ["own", "spring"]
    assert client.delete("/v1/admin/promotions/own").status_code == 204
    assert client.delete("/v1/admin/promotions/own").status_code == 404


def test_bad_promotions_are_refused_naming_the_field(client_and_store: tuple[TestClient, Store]) -> None:
    client, _store = client_and_store
    unknown = client.put("/v1/admin/promotions/x", json={"item_id": "no-such-item"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "item_id"
    backwards = client.put(
        "/v1/admin/promotions/x", json={"item_id": "whatever", "starts_at": 200.0, "ends_at": 100.0}
    )
    assert backwards.status_code == 422 and "ends_at must be after starts_at" in backwards.text
    assert client.put("/v1/admin/promotions/x", json={"item_id": "a", "position": 0}).status_code == 422


def test_exploration_shows_a_new_item_and_is_reproducible(client_and_store: tuple[TestClient, Store]) -> None:
    client, store = client_and_store
    user = _users(store, 2)[-1]
    body = {"title": "A brand-new thing", "category": "Space", "published_at": "2030-01-01T00:00:00"}
    assert client.put("/v1/items/brand-new", json=body).status_code in (200, 201)
    page = client.get(f"/v1/users/{user}/homepage?n=10").json()
    explored = [item for item in page["items"] if item["source"] == "explore"]
    assert explored[0]["item_id"] == "brand-new" and "brand-new" not in {e["item_id"] for e in explored[1:]}
    assert page["items"][3]["item_id"] == "brand-new"  # the first exploration slot; the long tail the next
    assert explored[0]["explanation"]["type"] == "exploration"
    pipeline = client.app.state.runtime.homepages  # type: ignore[attr-defined]
    again = [pipeline.build(user, 10, request_id=page["request_id"]) for _ in range(2)]
    # the same request id draws the same way; each build counts its page as shown, so only the
    # long-tail slot, whose draw reads those counts, may differ between the two
    ranked = [[i.item_id for i in built.items if i.source != "explore"] for built in again]
    first = [next(i.item_id for i in built.items if i.source == "explore") for built in again]
    assert ranked[0] == ranked[1] and first == ["brand-new", "brand-new"]


def test_a_cursor_pages_on_without_repeating_an_item(client_and_store: tuple[TestClient, Store]) -> None:
    client, store = client_and_store
    user = _users(store, 2)[-1]
    first = client.get(f"/v1/users/{user}/homepage?n=10").json()
    shown = [item["item_id"] for item in first["items"]]
    second = client.get(f"/v1/users/{user}/homepage?n=10&cursor={first['next_cursor']}").json()
    event = {"event_id": "scroll-1", "user_id": user, "item_id": shown[0], "type": "like"}
    assert client.post("/v1/events", json={"events": [event]}).status_code == 200
    third = client.get(f"/v1/users/{user}/homepage?n=10&cursor={second['next_cursor']}").json()
    pages = [shown, [i["item_id"] for i in second["items"]], [i["item_id"] for i in third["items"]]]
    everything = [item for page in pages for item in page]
    assert all(len(page) == 10 for page in pages) and len(set(everything)) == 30
    explained = client.get(f"/v1/users/{user}/homepage?n=10&explain=true&cursor={third['next_cursor']}")
    assert all(
        item["details"] and item["details"]["score"] == item["score"] for item in explained.json()["items"]
    )
    wrong_user = client.get(f"/v1/users/someone-else/homepage?cursor={first['next_cursor']}")
    assert wrong_user.status_code == 422 and wrong_user.json()["field"] == "cursor"
    garbage = client.get(f"/v1/users/{user}/homepage?cursor=not-a-cursor")
    assert garbage.status_code == 422 and "cursor" in garbage.json()["message"]


def test_a_cursor_survives_a_switch_of_worker_through_the_impression_log(
    trained: tuple[Store, Settings],
) -> None:
    """Page 1 from one worker, pages 2 and 3 from another that never saw the scroll (as with
    `serve --workers 2`, or after a restart): nothing repeats. Without the log, a clear 422."""
    store, settings = trained
    user = _users(store, 3)[-1]
    with TestClient(create_app(settings)) as first_worker:
        first = first_worker.get(f"/v1/users/{user}/homepage?n=10").json()
    # leaving the block closed the first worker, which flushed its impressions
    with TestClient(create_app(settings)) as second_worker:
        second = second_worker.get(f"/v1/users/{user}/homepage?n=10&cursor={first['next_cursor']}")
        assert second.status_code == 200
        third = second_worker.get(f"/v1/users/{user}/homepage?n=10&cursor={second.json()['next_cursor']}")
    pages = [first["items"], second.json()["items"], third.json()["items"]]
    shown = [item["item_id"] for page in pages for item in page]
    assert len(shown) == 30 and len(set(shown)) == 30
    unlogged = settings.model_copy(update={"log_impressions": False})
    with TestClient(create_app(unlogged)) as third_worker:
        lost = third_worker.get(f"/v1/users/{user}/homepage?n=10&cursor={third.json()['next_cursor']}")
    assert lost.status_code == 422 and "first page again" in lost.json()["message"]


def test_items_shown_again_and_again_without_an_event_are_dropped(
    pipeline: HomepagePipeline, trained: tuple[Store, Settings]
) -> None:
    store, settings = trained
    user = _users(store, 2)[-1]
    before = [item.item_id for item in pipeline.build(user, 10).items]
    now = time.time()
    shown = [
        Impression(f"r{n}", user, item_id, 0, "top-picks", "als", None, now)
        for n in range(settings.homepage.ignore_after)
        for item_id in before[:1]
    ]
    shown += [Impression(f"q{n}", user, before[1], 1, "top-picks", "als", None, now) for n in range(2)]
    store.logs.log_impressions(shown)
    fresh = HomepagePipeline(store, settings, pipeline.catalog, pipeline.bundle)
    page = fresh.build(user, 10)
    after = [item.item_id for item in page.items]
    assert before[0] not in after and before[1] in after and len(after) == 10


def test_an_item_to_item_row_follows_the_latest_event(trained: tuple[Store, Settings]) -> None:
    store, settings = trained
    sources = ["semantic-history", "interests", "item-to-item", "personal"]
    declared = settings.model_copy(
        update={"homepage": settings.homepage.model_copy(update={"sources": sources})}
    )
    with TestClient(create_app(declared)) as client:
        bought = store.logs.item_popularity(["click"], 3)[-1][0]
        event = {"event_id": "i2i-1", "user_id": "fresh-face", "item_id": bought, "type": "purchase"}
        assert client.post("/v1/events", json={"events": [event]}).status_code == 200
        page = client.get("/v1/users/fresh-face/homepage?n=10").json()
    row = [item for item in page["items"] if item["source"] == "item-to-item"]
    assert len(row) == 2 and all(item["explanation"]["evidence"] == [bought] for item in row)
    section = next(s for s in page["sections"] if s["key"] == f"because:{bought}")
    assert {item["item_id"] for item in row} <= set(section["item_ids"])


def test_with_co_visitation_the_item_to_item_row_is_what_people_picked_next_to_the_item(
    store: Store, settings: Settings, synth_folder: Path
) -> None:
    load_folder(store, settings, synth_folder)
    anchor, *mates = [item.id for item in store.iter_items()][-3:]
    began = time.time() - 86_400
    store.add_events(
        [
            Event(user_id=f"binge-{n}", item_id=item_id, type="click", timestamp=began + 60 * n + step)
            for n in range(40)
            for step, item_id in enumerate([anchor, *mates])
        ]
    )
    declared = _declared(settings, sources=["item-to-item", "personal"])
    train_bundle(store, declared, ["popularity", "covisitation"])
    with TestClient(create_app(declared)) as client:
        event = {"event_id": "i2i-2", "user_id": "fresh-face", "item_id": anchor, "type": "purchase"}
        assert client.post("/v1/events", json={"events": [event]}).status_code == 200
        page = client.get("/v1/users/fresh-face/homepage?n=10").json()
    row = [item for item in page["items"] if item["source"] == "item-to-item"]
    assert sorted(item["item_id"] for item in row) == sorted(mates)
    assert all(item["explanation"]["evidence"] == [anchor] for item in row)


def test_co_visitation_leads_the_personal_row_and_als_fills_what_it_cannot_name(
    store: Store, settings: Settings, synth_folder: Path
) -> None:
    """The default models' personal row: co-visitation proposes only items picked near the
    user's likes, each naming the like; ALS fills the rest of the row, nothing twice."""
    load_folder(store, settings, synth_folder)
    binge = [Item(id=f"binge-{k}", title=f"Binge {k}", category="Series") for k in range(3)]
    store.upsert_items(binge)
    began = time.time() - 86_400
    store.add_events(
        [
            Event(user_id=f"binger-{n}", item_id=item.id, type="click", timestamp=began + 60 * n + step)
            for n in range(40)
            for step, item in enumerate(binge)
        ]
        + [Event(user_id="fresh-face", item_id="binge-0", type="purchase")]
    )
    declared = _declared(settings, sources=["personal"])
    train_bundle(store, declared, ["popularity", "covisitation", "als"])
    path = latest_version_path(declared.effective_models_dir)
    assert path is not None
    page = HomepagePipeline(store, declared, Catalog(store.iter_items()), load_bundle(path)).build(
        "fresh-face", 10
    )
    by_source = Counter(item.source for item in page.items)
    assert by_source["covisitation"] == 2 and by_source["als"] == 8 - by_source["explore"], by_source
    named = [item for item in page.items if item.source == "covisitation"]
    assert {item.item_id for item in named} == {"binge-1", "binge-2"}
    assert all(item.explanation.evidence == ("binge-0",) for item in named)
    assert len({item.item_id for item in page.items}) == 10 and not page.degraded


def _declared(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update={"homepage": settings.homepage.model_copy(update=changes)})


def test_what_many_people_acted_on_just_now_is_trending(pipeline: HomepagePipeline) -> None:
    store = pipeline.store
    user = _users(store, 2)[-1]
    seen = {event.item_id for event in store.logs.user_events(user, 10_000)}
    hot, warm, pushed = [item_id for item_id in reversed(pipeline.catalog.newest()) if item_id not in seen][
        :3
    ]
    store.add_events([Event(user_id=f"fan-{n}", item_id=hot, type="like") for n in range(25)])
    store.add_events([Event(user_id=f"fan-{n}", item_id=warm, type="like") for n in range(5)])
    # one user's burst, and two users' (under trending_min_users): nobody else's page moves
    store.add_events([Event(user_id="bot", item_id=pushed, type="like") for _ in range(500)])
    store.add_events([Event(user_id=f"pair-{n}", item_id=pushed, type="purchase") for n in range(1)])
    page = pipeline.build(user, 20)
    trending = [item for item in page.items if item.source == "trending"]
    assert [item.item_id for item in trending] == [hot, warm]
    assert {item.reason for item in trending} == {"Trending now"}
    assert any(section.title == "Trending now" for section in page.sections)
    ranked = pipeline.services.live.trending()
    assert ranked[0][0] == hot and ranked[0][1] > 20  # 25 users, decayed by minutes only
    assert pushed not in {item_id for item_id, _ in ranked}


def _one_slot_pipeline(
    store: Store, settings: Settings, sources: list[str]
) -> tuple[HomepagePipeline, str, set[str]]:
    """A pipeline over ``sources`` with one exploration slot and the trained version, a user,
    and the items that user has seen."""
    pipeline = HomepagePipeline(
        store, _declared(settings, sources=sources, exploration_slots=1), Catalog(store.iter_items())
    )
    path = latest_version_path(settings.effective_models_dir)
    assert path is not None
    pipeline.set_bundle(load_bundle(path))
    user = _users(store, 2)[-1]
    return pipeline, user, {event.item_id for event in store.logs.user_events(user, 10_000)}


def test_thompson_exploration_tries_unshown_items_and_keeps_what_people_respond_to(
    trained: tuple[Store, Settings],
) -> None:
    store, settings = trained
    sources = ["semantic-history", "interests", "personal"]  # no trending: the liked item stays free
    pipeline, user, seen = _one_slot_pipeline(store, settings, sources)
    newest = [item_id for item_id in pipeline.catalog.newest() if item_id not in seen]
    liked, ignored = newest[0], newest[1:11]
    now = time.time()
    shown = [
        Impression(f"s{n}", f"v{n}", item, 0, "explore", "explore", None, now)
        for n in range(30)
        for item in ignored
    ]
    shown += [Impression(f"l{n}", f"w{n}", liked, 0, "explore", "explore", None, now) for n in range(20)]
    store.logs.log_impressions(shown)
    store.add_events([Event(user_id=f"w{n}", item_id=liked, type="like") for n in range(15)])
    explored = Counter()
    for number in range(40):
        page = pipeline.build(user, 10, request_id=f"explore-{number}")
        explored.update(item.item_id for item in page.items if item.source == "explore")
    assert sum(explored.values()) == 40
    assert explored[liked] >= 20  # responded to: 15 of 20 impressions
    assert sum(explored[item] for item in ignored) <= 1  # 30 impressions each, no response
    uniform = HomepagePipeline(
        store,
        _declared(settings, sources=sources, exploration_slots=1, exploration_policy="uniform"),
        pipeline.catalog,
    )
    uniform.set_bundle(pipeline.bundle)
    spread = Counter(
        item.item_id
        for number in range(40)
        for item in uniform.build(user, 10, request_id=f"explore-{number}").items
        if item.source == "explore"
    )
    assert spread[liked] <= 5 and len(spread) >= 25  # ε-greedy does not learn from responses


def test_exploration_leans_to_items_the_pages_have_not_shown(trained: tuple[Store, Settings]) -> None:
    store, settings = trained
    pipeline, user, seen = _one_slot_pipeline(store, settings, ["personal"])
    newest = pipeline.catalog.newest()
    tail = [item_id for item_id in reversed(newest) if item_id not in seen][:10]  # 4 % of the catalog
    live = pipeline.services.live
    for _ in range(50):  # this worker has shown everything else 50 times, with no response
        live.note_shown(item_id for item_id in newest if item_id not in tail)
    assert live.shown([newest[0], tail[0]]).tolist() == [50, 0]
    explored = [
        item.item_id
        for number in range(20)
        for item in pipeline.build(user, 10, request_id=f"tail-{number}").items
        if item.source == "explore"
    ]
    assert len(explored) == 20
    assert sum(item_id in tail for item_id in explored) >= 14  # drawn at random: about 1 in 25
    assert live.shown(explored[:1])[0] >= 1  # the pages built count too


def test_a_newcomers_profile_row_leads_with_what_was_picked_lately(
    tmp_path: Path, store: Store, settings: Settings
) -> None:
    """Winter films (a*) were picked in January, summer films (b*) in June, as often: a
    newcomer asking after training gets the summer ones from the profile row (by id order
    alone, the winter ones would lead)."""
    films = [*(f"a{i}" for i in range(5)), *(f"b{i}" for i in range(5))]
    folder = tmp_path / "seasons"
    folder.mkdir()
    (folder / "items.csv").write_text(
        "id,title,category\n" + "".join(f"{film},Film {film},Film\n" for film in films), encoding="utf-8"
    )
    users = "".join(f"u{user},30,F\n" for user in range(40)) + "newcomer,31,F\n"
    (folder / "users.csv").write_text("id,age,gender\n" + users, encoding="utf-8")
    january, june = 1_767_225_600, 1_767_225_600 + 150 * 86_400  # 2026-01-01 and 150 days on
    events = [
        f"u{user},{'b' if user % 2 else 'a'}{(user // 2 + step) % 5},click,"
        f"{(june if user % 2 else january) + user * 3_600 + step}\n"
        for user in range(40)
        for step in range(3)
    ]
    (folder / "events.csv").write_text("user_id,item_id,type,timestamp\n" + "".join(events), encoding="utf-8")
    load_folder(store, settings, folder)
    train_bundle(store, settings, ["popularity", "profile"])
    only_profile = {"sources": ["personal"], "fill": ["profile"], "exploration_slots": 0}
    declared = settings.homepage.model_copy(update=only_profile)
    with TestClient(create_app(settings.model_copy(update={"homepage": declared}))) as client:
        page = client.get("/v1/users/newcomer/homepage?n=5").json()
    assert [item["source"] for item in page["items"]] == ["profile"] * 5
    assert {item["item_id"] for item in page["items"]} == {f"b{i}" for i in range(5)}


def test_items_seen_long_before_the_latest_events_are_never_shown_again(
    trained: tuple[Store, Settings],
) -> None:
    """A user with thousands of events, the oldest on the items the models rank first: the
    models read only the latest ``history_length`` events, the seen filter reads them all."""
    store, settings = trained
    user = _users(store, 1)[0]
    catalog = Catalog(store.iter_items())
    first = HomepagePipeline(store, settings, catalog, _bundle(settings)).build(user, 20)
    favourites = [item.item_id for item in first.items[:5]]
    recent = sorted({event.item_id for event in store.logs.user_events(user, 10_000)})
    oldest = min(event.timestamp for event in store.logs.user_events(user, 10_000)) - 86_400.0
    old = [
        Event(user_id=user, item_id=item, type="click", timestamp=oldest + i)
        for i, item in enumerate(favourites)
    ]
    latest = time.time() - 3600.0
    repeats = [
        Event(user_id=user, item_id=recent[i % len(recent)], type="view", timestamp=latest + i)
        for i in range(3 * settings.history_length)
    ]
    store.add_events(old + repeats)
    assert len(store.logs.user_events(user, 100_000)) > 3 * settings.history_length

    page = HomepagePipeline(store, settings, catalog, _bundle(settings)).build(user, 20)
    assert len(page.items) == 20 and not page.degraded
    assert not {item.item_id for item in page.items} & (set(favourites) | set(recent))

    clicks_again = settings.homepage.model_copy(update={"reshow_types": ["click"]})
    reshowing = settings.model_copy(update={"homepage": clicks_again})
    again = HomepagePipeline(store, reshowing, catalog, _bundle(settings)).build(user, 20)
    assert {item.item_id for item in again.items} & set(favourites)

    kinds = sorted({category for item in favourites if (category := catalog.category_of(item)) is not None})
    by_category = settings.homepage.model_copy(update={"reshow_categories": kinds})
    restocked = settings.model_copy(update={"homepage": by_category})
    page = HomepagePipeline(store, restocked, catalog, _bundle(settings)).build(user, 20)
    shown_again = {item.item_id for item in page.items} & (set(favourites) | set(recent))
    assert shown_again and {catalog.category_of(item) for item in shown_again} <= set(kinds)


def _bundle(settings: Settings) -> ModelBundle:
    path = latest_version_path(settings.effective_models_dir)
    assert path is not None
    return load_bundle(path)
