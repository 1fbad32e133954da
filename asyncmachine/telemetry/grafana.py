"""Print the Grafana dashboard of a node's metrics (``python -m
asyncmachine.telemetry.grafana > docs/grafana/asyncmachine.json``)."""

import sys

from ._grafana import dashboard_json

if __name__ == "__main__":
    sys.stdout.write(dashboard_json())
