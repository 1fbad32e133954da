"""Spans of transitions, checked with the OpenTelemetry SDK's in-memory exporter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from asyncmachine import Event, Machine, State
from asyncmachine.telemetry.otel import OtelTracer

SCHEMA = {"Foo": State(), "Bar": State(remove=["Foo"])}


class Handlers:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def FooEnter(self, e: Event) -> bool:  # negotiation
        return True

    def FooState(self, e: Event) -> None:  # final
        if self.fail:
            raise RuntimeError("boom")


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exp = InMemorySpanExporter()
    yield exp
    exp.shutdown()


def traced(exp: InMemorySpanExporter, handlers: Handlers) -> Machine:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exp))
    mach = Machine(SCHEMA, id="m1")
    mach.bind_handlers(handlers)
    mach.add_tracer(OtelTracer(provider.get_tracer("test")))
    return mach


def children(spans: tuple[ReadableSpan, ...], parent: ReadableSpan) -> list[ReadableSpan]:
    assert parent.context is not None
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def test_one_transition_one_span_with_handler_children(exporter: InMemorySpanExporter) -> None:
    mach = traced(exporter, Handlers())
    mach.add1("Foo")
    spans = exporter.get_finished_spans()
    (tx,) = [s for s in spans if s.parent is None]
    assert tx.name == "add Foo"
    assert tx.attributes is not None
    assert tx.attributes["am.machine.id"] == "m1"
    assert tx.attributes["am.states.called"] == ("Foo",)
    assert tx.attributes["am.states.target"] == ("Foo",)
    assert tx.attributes["am.result"] == "executed"
    assert [c.name for c in children(spans, tx)] == ["FooEnter", "FooState"]
    assert len(spans) == 3
    assert tx.status.status_code is StatusCode.UNSET


def test_canceled_transition_result(exporter: InMemorySpanExporter) -> None:
    class Refuse:
        def FooEnter(self, e: Event) -> bool:
            return False

    mach = traced(exporter, Handlers())
    mach.bind_handlers(Refuse())
    mach.add1("Foo")
    (tx,) = [s for s in exporter.get_finished_spans() if s.parent is None]
    assert tx.attributes is not None and tx.attributes["am.result"] == "canceled"


def test_handler_exception_is_recorded(exporter: InMemorySpanExporter) -> None:
    mach = traced(exporter, Handlers(fail=True))
    mach.add1("Foo")
    spans = exporter.get_finished_spans()
    tx = next(s for s in spans if s.name == "add Foo")
    assert tx.status.status_code is StatusCode.ERROR
    (exc,) = [e for e in tx.events if e.name == "exception"]
    assert exc.attributes is not None
    assert exc.attributes["exception.type"] == "RuntimeError"
    assert exc.attributes["exception.message"] == "boom"
    handler = next(s for s in children(spans, tx) if s.name == "FooState")
    assert handler.status.status_code is StatusCode.ERROR
    # the machine then adds Exception: its own transition, its own span
    assert any(s.name == "add Exception" for s in spans)
