"""Schema files (JSON/TOML), entry points and config validation."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from asyncmachine import Machine
from asyncmachine.node import ConfigError, LoadError, NodeConfig, load_exposed, load_identity
from asyncmachine.node._loader import load_schema_file, machines_from_doc

ROOT = Path(__file__).resolve().parents[2]
PEER = "12D3KooWQN3MxfnYadkVntb37WFXbnjy68zYNmSAEn7bn3J5YUjs"


def test_example_json_and_toml_are_the_same_machine() -> None:
    (j,) = load_schema_file(ROOT / "examples" / "worker.json", peer_id=PEER)
    (t,) = load_schema_file(ROOT / "examples" / "worker.toml", peer_id=PEER)
    assert j.id == t.id == "worker-J5YUjs"
    assert j.schema() == t.schema()
    assert j.active_states() == t.active_states() == ["Start"]
    assert "Ready" in j.state_names()  # from base = ["basic"]
    assert j.tags == ["example"]


def test_example_factory_by_path() -> None:
    (m,) = load_exposed([f"{ROOT / 'examples' / 'factory.py'}:machines"], peer_id=PEER)
    assert m.id == "pinger-J5YUjs"
    assert m.is1("Start")


def test_several_machines_and_default_ids(tmp_path: Path) -> None:
    f = tmp_path / "pair.toml"
    f.write_text(
        '[[machines]]\nstates = { A = {}, B = { require = ["A"] } }\ninitial = ["A"]\n'
        '[[machines]]\nid = "second"\nstates = { C = { multi = true } }\n'
    )
    a, b = load_schema_file(f)
    assert (a.id, b.id) == ("pair-1", "second")
    assert a.is1("A") and not a.is1("B")
    assert b.schema()["C"].multi


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"states": {"Foo": {"require": ["Nope"]}}}, "'require' relation to unknown state 'Nope'"),
        ({"states": {"Foo": {"remove": ["Nope"]}}}, "'remove' relation to unknown state"),
        ({"states": {"Foo": {"after": ["Nope"]}}}, "'after' relation to unknown state"),
        ({"states": {"Foo": {"add": ["Nope"]}}}, "'add' relation to unknown state"),
        ({"states": {"Foo": {"requires": ["Foo"]}}}, "unknown property 'requires'"),
        ({"states": {"Foo": {"multi": "yes"}}}, "must be bool"),
        ({"states": {"Foo": {"require": "Bar"}}}, "list of state names"),
        ({"states": {}}, "non-empty"),
        ({}, "'states'"),
        ({"states": {"A": {}}, "stats": 1}, "unknown key(s) ['stats']"),
        ({"states": {"A": {}}, "initial": ["B"]}, "initial state 'B' is not defined"),
        ({"states": {"A": {"require": ["B"]}, "B": {}}, "initial": ["A"]}, "not accepted"),
        ({"states": {"A": {}}, "base": ["fancy"]}, "unknown base schema 'fancy'"),
        ({"states": {"A": {}}, "id": ""}, "'id' must be a non-empty string"),
        (
            {"machines": [{"states": {"A": {}}, "id": "x"}, {"states": {"B": {}}, "id": "x"}]},
            "exposed more than once",
        ),
        ([1, 2], "top level"),
    ],
)
def test_schema_errors_name_the_problem(doc: object, message: str) -> None:
    with pytest.raises(LoadError) as e:
        machines_from_doc(doc, source="s.json", default_id="s")
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_relations_to_exception_and_base_states_are_fine() -> None:
    (m,) = machines_from_doc(
        {"base": ["basic"], "states": {"Work": {"require": ["Start"], "add": ["Exception"]}}},
        source="s",
        default_id="s",
    )
    assert m.has(["Work", "Start", "Ready"])


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [("{nope", ".json", "not valid JSON"), ("[states\n", ".toml", "not valid TOML")],
)
def test_unparsable_files(tmp_path: Path, content: str, suffix: str, message: str) -> None:
    f = tmp_path / f"x{suffix}"
    f.write_text(content)
    with pytest.raises(LoadError, match=message):
        load_schema_file(f)


def _write_module(tmp_path: Path, name: str, body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / f"{name}.py").write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop(name, None)


def test_entry_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_module(
        tmp_path,
        "am_factories",
        (
            "from asyncmachine import Machine\n"
            "def one(): return Machine({'A': {}}, id='one')\n"
            "def many(peer_id): return [Machine({'A': {}}, id='m-' + peer_id[-3:])]\n"
            "def boom(): raise RuntimeError('no luck')\n"
            "def wrong(): return 42\n"
            "def empty(): return []\n"
            "not_callable = 3\n"
        ),
        monkeypatch,
    )
    assert [m.id for m in load_exposed(["am_factories:one"])] == ["one"]
    assert [m.id for m in load_exposed(["am_factories:many"], peer_id=PEER)] == ["m-Ujs"]
    for spec, message in [
        ("am_factories:boom", "failed: RuntimeError: no luck"),
        ("am_factories:wrong", "returned int"),
        ("am_factories:empty", "returned no machines"),
        ("am_factories:not_callable", "is not callable"),
        ("am_factories:nope", "has no attribute 'nope'"),
        ("am_nowhere:x", "cannot import module 'am_nowhere'"),
        ("missing.py:x", "no such file"),
        (":x", "expected package.module:factory"),
    ]:
        with pytest.raises(LoadError, match=message):
            load_exposed([spec])
    with pytest.raises(LoadError, match="exposed more than once"):
        load_exposed(["am_factories:one", "am_factories:one"])


def test_config_validation() -> None:
    NodeConfig().validate()
    NodeConfig(listen=("/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1")).validate()
    for cfg, message in [
        (NodeConfig(listen=("nope",)), "bad listen address 'nope'"),
        (NodeConfig(listen=()), "at least one listen address"),
        (NodeConfig(bootstrap=("/ip4/1.2.3.4/tcp/1",)), "bad bootstrap address"),
        (NodeConfig(topic=""), "bad topic name"),
        (NodeConfig(connect_timeout=0), "--connect-timeout"),
        (NodeConfig(demo_interval=float("nan")), "--demo-interval"),
    ]:
        with pytest.raises(ConfigError, match=message):
            cfg.validate()


def test_key_file_created_private_and_reused(tmp_path: Path) -> None:
    from asyncmachine.pubsub.libp2p import peer_id_of

    path = tmp_path / "sub" / "node.key"
    first = peer_id_of(load_identity(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert peer_id_of(load_identity(path)) == first
    assert peer_id_of(load_identity(None)) != first


def test_bad_key_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.key"
    junk.write_bytes(b"junk")
    with pytest.raises(ConfigError, match="not an ed25519"):
        load_identity(junk)
    with pytest.raises(ConfigError, match="not a regular file"):
        load_identity(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="not a directory"):
        load_identity(blocker / "node.key")


def test_loaded_machines_are_plain_machines(tmp_path: Path) -> None:
    f = tmp_path / "m.json"
    f.write_text('{"id": "w-{peer}", "states": {"A": {"auto": true}}}')
    (m,) = load_exposed([str(f)], peer_id=PEER)
    assert isinstance(m, Machine) and m.id == "w-J5YUjs"
