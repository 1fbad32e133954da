"""OpenTelemetry tracing of transitions; needs ``opentelemetry-api`` (and for
:func:`configure_otlp` the ``otel`` extra). A separate public module, like
:mod:`asyncmachine.pubsub.libp2p`, so ``asyncmachine.telemetry`` imports without it."""

from ._tracing import SCOPE, OtelTracer, configure_otlp

__all__ = ["SCOPE", "OtelTracer", "configure_otlp"]
