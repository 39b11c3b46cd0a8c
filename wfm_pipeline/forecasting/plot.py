"""PNG plots of recent actuals with the forecast ahead, for Dagster Markdown metadata.

Sized to be read in the metadata dialog (one click on the entry opens it): 1200 px wide. The
per-series figure stacks one panel per series (busiest first, at most ``MAX_PANELS``) so every
series' latest forecast is visible from one materialization without embedding one image each.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")   # no display: render to memory
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

WIDTH_IN, DPI = 12.0, 100      # 1200 px wide
PANEL_HEIGHT_IN, PANEL_DPI = 2.4, 75   # 900 px wide panels: the stacked image stays a few 100 kB
MAX_PANELS = 8


@dataclass(frozen=True)
class Panel:
    """One series to draw: its label, caption, history and forecast frames, time zone."""

    title: str
    history: pd.DataFrame
    forecast: pd.DataFrame
    tz: str


def _draw(ax, panel: Panel, weeks: int) -> None:
    """Hourly calls: the last ``weeks`` of actuals and the forecast horizon, in local time."""
    if len(panel.history):
        h = panel.history.set_index(pd.DatetimeIndex(panel.history["interval_start"]).tz_convert(panel.tz))["calls"]
        start = h.index.max() - pd.Timedelta(weeks=weeks)
        h = h[h.index > start].resample("1h").sum()
        ax.plot(h.index, h.to_numpy(), color="#444444", lw=0.8, label="actual (hourly)")
    if len(panel.forecast):
        f = panel.forecast.set_index(pd.DatetimeIndex(panel.forecast["interval_start"]).tz_convert(panel.tz))["calls"]
        f = f.resample("1h").sum()
        ax.plot(f.index, f.to_numpy(), color="#d62728", lw=0.9, label="forecast (hourly)")
    ax.set_title(panel.title, fontsize=10, loc="left")
    ax.set_ylabel("calls / hour")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)


def _png(fig) -> bytes:
    fig.autofmt_xdate()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def forecast_png(history: pd.DataFrame, forecast: pd.DataFrame, tz: str, title: str, weeks: int = 3) -> bytes:
    """One series, large: the last ``weeks`` of hourly actuals and the forecast horizon."""
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 4.5), dpi=DPI)
    _draw(ax, Panel(title, history, forecast, tz), weeks)
    return _png(fig)


def panels_png(panels: list[Panel], weeks: int = 3) -> bytes:
    """Up to ``MAX_PANELS`` series stacked, one panel each (the caller orders them)."""
    shown = panels[:MAX_PANELS]
    fig, axes = plt.subplots(len(shown), 1, figsize=(WIDTH_IN, PANEL_HEIGHT_IN * len(shown)), dpi=PANEL_DPI,
                             squeeze=False)
    for ax, panel in zip(axes[:, 0], shown):
        _draw(ax, panel, weeks)
    fig.tight_layout()
    return _png(fig)


def markdown_image(png: bytes, alt: str = "forecast") -> str:
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"
