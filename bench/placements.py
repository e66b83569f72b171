"""Fetching an episode's product placements (what the player asks for with each playlist)
against a bare async route in the same server.

    .venv/bin/python bench/placements.py [--seconds 10] [--connections 50] [--placements 3]

Starts the real app under uvicorn (one process, as `microdrama serve` runs it) on SQLite in a
temporary data directory: published series (rows only), a brand with products of two variants
each, an accepted campaign and `--placements` placements in one episode. Then `wrk -t2 -c50
--latency` drives the bare route (the baseline), `GET /api/episodes/{id}/placements` of that
episode and of an episode without placements. It also prints the answer's size: the player
fetches it once per episode (and prefetches the next one's), so it must stay one small request.
"""

from __future__ import annotations

import argparse
import tempfile
import urllib.request
from datetime import timedelta
from pathlib import Path

from common import (
    app_env,
    emit_json,
    free_port,
    migrated_sqlite,
    require_tool,
    run_wrk,
    running,
    seed_catalog_rows,
    uvicorn_command,
    wrk_row,
)


def seed_placements(database_url: str, series_id: int, count: int) -> tuple[int, int]:
    """A brand's products placed `count` times in episode 1; returns (episode 1, episode 2)."""
    from microdrama.accounts import service as accounts
    from microdrama.accounts.models import Role
    from microdrama.catalog import service as catalog
    from microdrama.db import make_engine, make_sessionmaker, session_scope, utcnow
    from microdrama.shop.campaigns import service as shop
    from microdrama.shop.campaigns.schemas import CampaignCreate
    from microdrama.shop.catalog import service as shop_catalog
    from microdrama.shop.catalog.schemas import ProductCreate, VariantCreate
    from microdrama.shop.placements import service as placements
    from microdrama.shop.placements.schemas import PlacementCreate

    engine = make_engine(database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            series = catalog.get(db=db, series_id=series_id)
            assert series is not None
            creator = accounts.get(db=db, account_id=series.owner_id)
            assert creator is not None
            brand = accounts.create_account(db=db, display_name="Bench Brand", role=Role.brand)
            campaign = shop.create_campaign(
                db=db,
                brand=brand,
                data=CampaignCreate(
                    series_id=series_id,
                    budget_cents=100_000,
                    starts_at=utcnow() - timedelta(days=1),
                    ends_at=utcnow() + timedelta(days=365),
                    commission_percent=10,
                ),
            )
            shop.decide_campaign(db=db, creator=creator, campaign_id=campaign.id, accept=True)
            episodes = sorted(series.episodes, key=lambda e: e.number)
            for n in range(count):
                product = shop_catalog.create_product(
                    db=db,
                    brand=brand,
                    data=ProductCreate(
                        title=f"Bench product {n}",
                        description="A product to measure the placements route. " * 3,
                        image_urls=[f"https://cdn.example.com/bench-{n}.jpg"],
                        price_cents=2_900 + n,
                        sku=f"BENCH-{n}",
                        variants=[
                            VariantCreate(name="S", sku=f"BENCH-{n}-S", stock=10),
                            VariantCreate(name="M", sku=f"BENCH-{n}-M", stock=0),
                        ],
                    ),
                )
                placements.create_placement(
                    db=db,
                    author=brand,
                    campaign=campaign,
                    data=PlacementCreate(
                        episode_id=episodes[0].id,
                        product_id=product.id,
                        start_ms=n * 10_000,
                        end_ms=n * 10_000 + 7_000,
                    ),
                )
            return episodes[0].id, episodes[1].id
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per URL")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--placements", type=int, default=3, help="placements in the episode")
    args = parser.parse_args()
    require_tool("wrk", "sudo apt-get install wrk")

    with tempfile.TemporaryDirectory(prefix="microdrama-bench-placements-") as tmp:
        data_dir = Path(tmp)
        url = migrated_sqlite(data_dir)
        [series_id] = seed_catalog_rows(url, series=1, episodes=10)
        placed, empty = seed_placements(url, series_id, args.placements)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        print(
            f"app on {base}: episode {placed} with {args.placements} placements; "
            f"wrk -t2 -c{args.connections} -d{args.seconds}s --latency"
        )
        with running(
            uvicorn_command(port), ready_url=f"{base}/bench/bare", env=app_env(data_dir, url)
        ):
            paths = {
                "bare": "/bench/bare",
                "placements": f"/api/episodes/{placed}/placements",
                "no_placements": f"/api/episodes/{empty}/placements",
            }
            with urllib.request.urlopen(base + paths["placements"]) as answer:
                body = answer.read()
                cache_control = answer.headers.get("Cache-Control", "")
            for path in paths.values():  # warm-up: imports, first queries, caches
                run_wrk(base + path, connections=10, seconds=1)
            results = {
                name: run_wrk(base + path, connections=args.connections, seconds=args.seconds)
                for name, path in paths.items()
            }

    bare = results["bare"]
    ratio = results["placements"].requests_per_s / bare.requests_per_s
    print()
    print(wrk_row("GET /bench/bare (baseline)", bare))
    print(wrk_row(f"GET placements ({args.placements})", results["placements"], bare))
    print(wrk_row("GET placements (none)", results["no_placements"], bare))
    print(
        f"\nplacements: {ratio:.2f} x bare, p50 {results['placements'].p50_ms:.1f} ms, "
        f"p99 {results['placements'].p99_ms:.1f} ms; one request of {len(body)} bytes "
        f"(Cache-Control: {cache_control or 'none'})"
    )
    emit_json(
        "placements",
        connections=args.connections,
        seconds=args.seconds,
        placements=args.placements,
        body_bytes=len(body),
        bare=bare,
        with_placements=results["placements"],
        without_placements=results["no_placements"],
        ratio=round(ratio, 3),
    )


if __name__ == "__main__":
    main()
