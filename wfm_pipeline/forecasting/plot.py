"""PNG plot of recent actuals with the forecast ahead, for Dagster Markdown metadata."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")   # no display: render to memory
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def forecast_png(history: pd.DataFrame, forecast: pd.DataFrame, tz: str, title: str, weeks: int = 3) -> bytes:
    """Hourly calls: the last ``weeks`` of actuals and the forecast horizon, in local time."""
    fig, ax = plt.subplots(figsize=(10, 3.2), dpi=80)
    if len(history):
        h = history.set_index(pd.DatetimeIndex(history["interval_start"]).tz_convert(tz))["calls"]
        start = h.index.max() - pd.Timedelta(weeks=weeks)
        h = h[h.index > start].resample("1h").sum()
        ax.plot(h.index, h.to_numpy(), color="#444444", lw=0.8, label="actual (hourly)")
    if len(forecast):
        f = forecast.set_index(pd.DatetimeIndex(forecast["interval_start"]).tz_convert(tz))["calls"]
        f = f.resample("1h").sum()
        ax.plot(f.index, f.to_numpy(), color="#d62728", lw=0.9, label="forecast (hourly)")
    ax.set_title(title, fontsize=10)
    ax.set_ylabel("calls / hour")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def markdown_image(png: bytes, alt: str = "forecast") -> str:
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"
