"""The service's web page (one HTML page that reads ``/jobs``) and spike rasters as SVG.

Everything a user controls (job and population names) reaches the page as text, never as
markup: the page sets ``textContent``, the SVG escapes.

>>> import pyarrow as pa
>>> from bss2emu.protocol.results import Results
>>> res = Results({"spikes": pa.table({"population": ["p", "p"], "index": [0, 1], "time_us": [1.0, 2.0]})},
...               {"populations": {"p": 2}, "runtime_us": 10})
>>> svg = raster_svg(res, "demo")
>>> svg.count('class="spike"')
2
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from ..protocol.results import Results

MAX_SPIKES_DRAWN = 20_000
_W, _H, _LEFT, _BOTTOM, _TOP = 720, 360, 90, 40, 30


def raster_svg(res: Results, title: str) -> str:
    """Spike raster: time (hardware µs) across, one row per recorded neuron, grouped by population."""
    sizes: dict[str, int] = dict(res.metadata.get("populations", {}))
    t = res.spikes
    pops = [str(p) for p in t["population"].to_pylist()] if t.num_rows else []
    idx = t["index"].to_pylist() if t.num_rows else []
    times = t["time_us"].to_pylist() if t.num_rows else []
    for p, i in zip(pops, idx):
        sizes[p] = max(sizes.get(p, 0), int(i) + 1)
    offset, row = {}, 0
    for name, size in sizes.items():
        offset[name], row = row, row + int(size)
    rows = max(row, 1)
    runtime = float(res.metadata.get("runtime_us") or (max(times) if times else 1.0)) or 1.0
    plot_w, plot_h = _W - _LEFT - 20, _H - _TOP - _BOTTOM
    dy = plot_h / rows
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" viewBox="0 0 {_W} {_H}" '
           f'role="img" aria-label="spike raster">',
           f'<text x="{_W / 2}" y="18" text-anchor="middle" font-size="14">{escape(title)} — {len(times)} spikes'
           f'{f" (first {MAX_SPIKES_DRAWN} drawn)" if len(times) > MAX_SPIKES_DRAWN else ""}</text>',
           f'<rect x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#888"/>']
    for name, start in offset.items():
        y = _TOP + (start + sizes[name] / 2) * dy
        out.append(f'<text x="{_LEFT - 6}" y="{y:.1f}" text-anchor="end" font-size="11">{escape(name)}</text>')
    mark_h = max(min(dy * 0.8, 6.0), 1.0)
    for p, i, tu in list(zip(pops, idx, times))[:MAX_SPIKES_DRAWN]:
        x = _LEFT + plot_w * min(tu / runtime, 1.0)
        y = _TOP + (offset[p] + int(i) + 0.5) * dy - mark_h / 2
        out.append(f'<rect class="spike" x="{x:.2f}" y="{y:.2f}" width="1.5" height="{mark_h:.2f}" fill="#1f4e9c"/>')
    for k in range(5):
        x = _LEFT + plot_w * k / 4
        out.append(f'<text x="{x:.1f}" y="{_H - _BOTTOM + 16}" text-anchor="middle" font-size="11">'
                   f'{runtime * k / 4:g}</text>')
    out.append(f'<text x="{_LEFT + plot_w / 2}" y="{_H - 6}" text-anchor="middle" font-size="12">'
               f'time (µs hardware = ms biological)</text></svg>')
    return "\n".join(out)


LOGIN_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>bss2emu — sign in</title></head>
<body style="font-family: sans-serif; margin: 2em">
<h1>bss2emu experiment service</h1>
<p>This page needs your token (an operator makes one with <code>bss2emu users add NAME</code>).</p>
<form method="get" action="/"><input name="token" type="password" size="70" placeholder="bss2_…" required>
<button type="submit">Sign in</button></form></body></html>"""

JOBS_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>bss2emu — jobs</title>
<style>
 body { font-family: sans-serif; margin: 1.5em; }
 table { border-collapse: collapse; } td, th { padding: 3px 9px; border-bottom: 1px solid #ddd; text-align: left; }
 tr.job { cursor: pointer; } tr.job:hover { background: #eef; }
 .done { color: #17692e; } .failed { color: #b00020; } .running { color: #1f4e9c; } .cancelled { color: #777; }
</style></head><body>
<h1>bss2emu experiment service</h1>
<p id="who"></p>
<table id="jobs"><thead><tr><th>job</th><th>name</th><th>state</th><th>queue position</th><th>progress</th>
<th>submitted</th><th>waited (s)</th><th>ran (s)</th><th>spikes</th><th>error</th></tr></thead><tbody></tbody></table>
<h2 id="raster-title"></h2><div id="raster"></div>
<script>
"use strict";
let shown = null, last = null;
function cell(tr, text, cls) { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); }
function num(x, d) { return x === null || x === undefined ? "" : x.toFixed(d); }
async function showRaster(job) {
  shown = job.id;
  document.getElementById("raster-title").textContent = "spike raster of " + job.name + " (" + job.id + ")";
  const r = await fetch("/jobs/" + job.id + "/raster.svg", {credentials: "same-origin"});
  const box = document.getElementById("raster");
  if (r.ok) { box.innerHTML = await r.text(); } else { box.textContent = "no raster: " + r.status; }
}
async function refresh() {
  const me = await fetch("/me", {credentials: "same-origin"});
  if (me.ok) { const u = await me.json(); document.getElementById("who").textContent =
      "user " + u.name + " — " + u.active_jobs + " active jobs, " + u.used_us + " µs emulated"; }
  const r = await fetch("/jobs", {credentials: "same-origin"});
  if (!r.ok) { document.getElementById("who").textContent = "cannot list jobs: " + r.status; return; }
  const text = await r.text();
  if (text === last) return;  // unchanged: keep the rows (a click on one is not lost)
  last = text;
  const jobs = JSON.parse(text);
  const body = document.querySelector("#jobs tbody");
  body.replaceChildren();
  for (const j of jobs) {
    const tr = document.createElement("tr"); tr.className = "job"; tr.dataset.id = j.id; tr.dataset.state = j.state;
    cell(tr, j.id); cell(tr, j.name); cell(tr, j.state, j.state);
    cell(tr, j.queue_position === null ? "" : String(j.queue_position));
    cell(tr, j.progress === null ? "" : Math.round(100 * j.progress) + " %");
    cell(tr, new Date(1000 * j.submitted_at).toLocaleTimeString());
    cell(tr, num(j.wait_s, 2)); cell(tr, num(j.run_s, 3));
    cell(tr, j.spikes === null ? "" : String(j.spikes)); cell(tr, j.error || "");
    if (j.state === "done") tr.addEventListener("click", () => showRaster(j));
    body.appendChild(tr);
  }
  document.body.dataset.loaded = String(jobs.length);
}
refresh(); setInterval(refresh, 1000);
</script></body></html>"""
