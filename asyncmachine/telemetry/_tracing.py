"""OpenTelemetry traces of transitions (Go: pkg/telemetry OTel tracer).

:class:`OtelTracer` is a machine tracer: one span per transition named after the
mutation (``add Foo Bar``), with the called, target and previous states and the
result as attributes, and one child span per handler call. A handler's exception
is recorded on both spans, which get an error status. Only ``opentelemetry-api``
is needed; :func:`configure_otlp` sets up the SDK with an OTLP exporter (the
``otel`` extra) for ``asyncmachine node --otel``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from asyncmachine.machine import Machine, TracerBase, Transition

from ._options import TelemetryError

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

SCOPE = "asyncmachine"


class OtelTracer(TracerBase):
    """Spans of one machine's transitions; attach with ``mach.add_tracer``.

    ``tracer`` defaults to the global provider's ``asyncmachine`` tracer (a no-op
    until an SDK is configured). Transitions of one machine never overlap, so one
    transition span and one handler span are open at a time.
    """

    __slots__ = ("_handler", "_span", "_tracer")

    def __init__(self, tracer: trace.Tracer | None = None) -> None:
        self._tracer = tracer or trace.get_tracer(SCOPE)
        self._span: Span | None = None
        self._handler: Span | None = None

    def machine_init(self, mach: Machine, /) -> None:
        mach.on_error(self._on_error)

    def transition_init(self, tx: Transition, /) -> None:
        mut = tx.mutation
        self._span = self._tracer.start_span(
            f"{mut.type.value} {' '.join(mut.called)}",
            attributes={
                "am.machine.id": tx.machine.id,
                "am.transition.id": tx.id,
                "am.mutation.type": mut.type.value,
                "am.mutation.auto": mut.is_auto,
                "am.states.called": list(mut.called),
                "am.states.before": list(tx.before),
            },
        )

    def transition_end(self, tx: Transition, /) -> None:
        span, self._span = self._span, None
        if span is None:
            return
        span.set_attribute("am.states.target", list(tx.target))
        span.set_attribute("am.states.active", tx.machine.active_states())
        span.set_attribute("am.result", "executed" if tx.is_accepted else "canceled")
        span.end()

    def handler_start(self, tx: Transition, binding_id: str, handler: str, /) -> None:
        if self._span is None:
            return
        ctx = trace.set_span_in_context(self._span)
        self._handler = self._tracer.start_span(
            handler, context=ctx, attributes={"am.handler": handler, "am.binding": binding_id}
        )

    def handler_end(self, tx: Transition, binding_id: str, handler: str, /) -> None:
        span, self._handler = self._handler, None
        if span is not None:
            span.end()

    def _on_error(self, mach: Machine, err: BaseException) -> None:
        """Called by the machine while the failing handler's span is still open."""
        for span in (self._handler, self._span):
            if span is not None:
                span.record_exception(err)
                span.set_status(Status(StatusCode.ERROR, f"{type(err).__name__}: {err}"))


def configure_otlp(service_instance: str) -> TracerProvider:
    """A TracerProvider exporting batches over OTLP (``OTEL_EXPORTER_OTLP_*`` env vars;
    ``OTEL_EXPORTER_OTLP_PROTOCOL=grpc`` picks gRPC, else HTTP/protobuf), set as the
    global one. TelemetryError when the ``otel`` extra is not installed."""
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

        exporter: SpanExporter
        if os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "").startswith("grpc"):
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                OTLPSpanExporter as HttpExporter,
            )

            exporter = HttpExporter()
    except ImportError as e:
        raise TelemetryError(
            f"--otel needs the OpenTelemetry SDK and OTLP exporter "
            f"(pip install 'asyncmachine[otel]'): {e}"
        ) from None
    resource = Resource.create(
        {
            "service.name": os.environ.get("OTEL_SERVICE_NAME", "asyncmachine-node"),
            "service.instance.id": service_instance,
        }
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider
