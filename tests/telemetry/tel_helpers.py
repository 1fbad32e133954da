"""Scraping ``/metrics`` and reading event lines in telemetry tests."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import trio
from prometheus_client.parser import text_string_to_metric_families

from asyncmachine.telemetry import validate_event

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as r:
        body: bytes = r.read()
    return body.decode()


_SUFFIX = {"counter": "_total", "histogram": "_bucket"}


async def scrape(url: str) -> Samples:
    """Every sample of ``url``, parsed by prometheus_client's parser (off the loop)."""
    text = await trio.to_thread.run_sync(_get, url)
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


async def scrape_names(url: str) -> set[str]:
    """The sample names a query can use: of every sample, and of every family even
    without samples yet (a counter by reason before the first rejection)."""
    text = await trio.to_thread.run_sync(_get, url)
    names: set[str] = set()
    for fam in text_string_to_metric_families(text):
        names.add(fam.name + _SUFFIX.get(fam.type, ""))
        names.update(s.name for s in fam.samples)
    return names


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels`` (0 if none)."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


def events(lines: list[str]) -> list[dict[str, Any]]:
    """The JSON lines among ``lines``, each checked against EVENT_SCHEMA."""
    out = []
    for line in lines:
        if line.startswith("{"):
            doc = json.loads(line)
            assert validate_event(doc) == [], (line, validate_event(doc))
            out.append(doc)
    return out
