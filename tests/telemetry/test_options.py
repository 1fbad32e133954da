"""Telemetry options: parsing and the one-line errors of bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncmachine.cli import build_parser
from asyncmachine.cli._node import config_from_args
from asyncmachine.node import ConfigError, NodeConfig
from asyncmachine.telemetry import TelemetryError, TelemetryOptions, parse_host_port


def test_parse_host_port() -> None:
    assert parse_host_port("127.0.0.1:9464") == ("127.0.0.1", 9464)
    assert parse_host_port("[::1]:0") == ("::1", 0)
    assert parse_host_port("localhost:80") == ("localhost", 80)
    for bad in ("9464", ":9464", "host:", "host:http", "host:70000"):
        with pytest.raises(TelemetryError, match="bad --metrics address"):
            parse_host_port(bad)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (TelemetryOptions(metrics="nope"), "bad --metrics address"),
        (TelemetryOptions(events=""), "--events needs a file path"),
        (TelemetryOptions(history_rows=0), "--history-rows must be >= 1"),
        (TelemetryOptions(history_age=float("nan")), "--history-age must be > 0"),
    ],
)
def test_node_config_rejects_bad_telemetry(options: TelemetryOptions, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        NodeConfig(telemetry=options).validate()


def test_node_flags_become_options() -> None:
    args = build_parser().parse_args(
        [
            "node",
            "--metrics",
            "127.0.0.1:0",
            "--otel",
            "--events",
            "-",
            "--history",
            "h.db",
            "--history-rows",
            "10",
            "--history-machine",
            "demo-",
        ]
    )
    opts = config_from_args(args).telemetry
    assert opts == TelemetryOptions(
        metrics="127.0.0.1:0",
        otel=True,
        events="-",
        history=Path("h.db"),
        history_rows=10,
        history_machines=("demo-",),
    )
    assert opts.enabled
    assert not config_from_args(build_parser().parse_args(["node"])).telemetry.enabled
