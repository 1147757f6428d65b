#!/usr/bin/env python3
"""Draws scripts/bench's results with gnuplot, as SVG files next to BENCHMARKS.md.

usage: bench_plots.py OUT_DIR PLOT_DIR

OUT_DIR is one benchmark run (results.tsv, raw/*.json); PLOT_DIR receives
ratios.svg, latency.svg and flash_timeline.svg. A plot whose data is missing
is left out (and said so on stderr); gnuplot failing is an error.
"""
import json
import os
import statistics
import subprocess
import sys

TERMINAL = 'set terminal svg size 960,440 dynamic font "sans,11" background "white"'

# figure, result key, baseline key, goal (None: no goal)
RATIOS = [
    ("hot-seat refusals vs pgbench FOR UPDATE", "hot_holds", "baseline_hot", 10),
    ("holds/s, distinct seats vs pgbench hold", "holds_ps", "baseline_hot", 1),
    ("seat-map reads vs Beast hello-world", "seatmap", "baseline_http", 0.5),
    ("304 seat-map reads vs Beast hello-world", "seatmap_304", "baseline_http", None),
    ("payments/s vs pgbench booking write", "payments_ps", "baseline_write", 0.5),
    ("bookings/s, 20,000-seat crowd vs booking write", "bookings", "baseline_write", 0.5),
    ("bookings/s, 2,000-seat crowd vs booking write", "bookings_small", "baseline_write", 0.5),
]

# label, raw file (run 1), "endpoints" or "phases", name
LATENCIES = [
    ("hot-seat: POST /reservations", "hot-seat-1.json", "endpoints", "POST /reservations"),
    ("holds: POST /reservations", "holds-1.json", "endpoints", "POST /reservations"),
    ("payments: POST /payments", "payments-1.json", "endpoints", "POST /payments"),
    ("flash crowd: POST /payments", "bookings-1.json", "endpoints", "POST /payments"),
    ("flash crowd: seat map (2,000 seats, full)", "bookings_small-1.json", "endpoints",
     "GET /concerts/{id}/schedules/{id}/seats"),
    ("steady: POST /payments", "payment-healthy-1.json", "endpoints", "POST /payments"),
    ("live seat map: hold sent to seen", "streams-1.json", "phases", "stream: hold sent to seen"),
]

PERCENTILES = ["1", "5", "10", "25", "50", "75", "90", "95", "99", "99.9"]


def read_results(out):
    values = {}
    with open(os.path.join(out, "results.tsv")) as f:
        for line in f:
            key, _run, value = (line.rstrip("\n").split("\t") + ["", "", ""])[:3]
            try:
                values.setdefault(key, []).append(float(value))
            except ValueError:
                pass
    return {k: statistics.median(v) for k, v in values.items() if v}


def read_json(out, name):
    try:
        with open(os.path.join(out, "raw", name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def quote(text):
    return '"' + text.replace('"', "'") + '"'


def ratios_plot(medians):
    rows = []
    for label, key, base, goal in RATIOS:
        if medians.get(key) and medians.get(base):
            rows.append((label, medians[key] / medians[base], goal))
    if not rows:
        return None
    # columns: row, ratio, goal, label, where the ratio's text goes (right of bar and goal)
    data = "\n".join(f'{i} {r:.4f} {g if g else "NaN"} {quote(label)} {max(r, g or 0) * 1.25:.4f}'
                      for i, (label, r, g) in enumerate(rows))
    return f"""
$ratios << EOD
{data}
EOD
set title "Each figure as a ratio to its baseline (median of the runs); goals as diamonds"
set logscale x 10
set xrange [0.01:100]
set xlabel "ratio (log scale)"
set yrange [-0.7:{len(rows) - 0.3}]
set ytics scale 0
set grid xtics
set key below
set style fill solid 0.7
plot $ratios using (sqrt($2 * 0.01)):1:(0.01):($2):($1 - 0.3):($1 + 0.3):ytic(4) \\
       with boxxyerror lc rgb "#4a78c2" title "ratio", \\
     $ratios using 5:1:(sprintf("%.2f×", $2)) with labels left notitle, \\
     $ratios using 3:1 with points pt 13 ps 1.6 lc rgb "#c0392b" title "goal"
"""


def latency_plot(out):
    series = []
    for label, raw, section, name in LATENCIES:
        j = read_json(out, raw)
        dist = (((j or {}).get(section) or {}).get(name) or {}).get("percentiles")
        if dist:
            series.append((label, [dist.get(p) for p in PERCENTILES]))
    if not series:
        return None
    blocks, plots = [], []
    for n, (label, values) in enumerate(series):
        rows = "\n".join(f"{i} {v}" for i, v in enumerate(values) if v and v > 0)
        blocks.append(f"$lat{n} << EOD\n{rows}\nEOD")
        plots.append(f"$lat{n} using 1:2 with linespoints title {quote(label)}")
    tics = ", ".join(f'"p{p}" {i}' for i, p in enumerate(PERCENTILES))
    return "\n".join(blocks) + f"""
set title "Latency distributions per scenario (run 1): milliseconds at each percentile"
set logscale y 10
set ylabel "ms (log scale)"
set xtics ({tics})
set grid ytics
set key outside right
plot {", ".join(plots)}
"""


def timeline_plot(out):
    series = []
    for label, raw in (("20,000-seat crowd", "bookings-1.json"),
                       ("2,000-seat crowd", "bookings_small-1.json")):
        t = (read_json(out, raw) or {}).get("bookingTimeline")
        if t and (t.get("holds") or t.get("payments")):
            series.append((label, t))
    if not series:
        return None
    blocks, plots = [], []
    for n, (label, t) in enumerate(series):
        per_second = 1000.0 / t["bucketMs"]
        for kind in ("holds", "payments"):
            counts = t.get(kind) or []
            rows = "\n".join(f"{i * t['bucketMs'] / 1000.0:.1f} {c * per_second:.0f}"
                             for i, c in enumerate(counts))
            blocks.append(f"${kind}{n} << EOD\n{rows}\nEOD")
            plots.append(f"${kind}{n} using 1:2 with steps title {quote(f'{label}: {kind}/s')}")
    return "\n".join(blocks) + f"""
set title "Flash crowd: holds and payments per second over the run (100 ms buckets, run 1)"
set xlabel "seconds since the crowd arrived"
set ylabel "per second"
set grid
set key top right
plot {", ".join(plots)}
"""


def draw(script, path):
    subprocess.run(["gnuplot"], input=f"{TERMINAL}\nset output {quote(path)}\n{script}",
                   text=True, check=True, capture_output=True)


def main():
    out, plot_dir = sys.argv[1], sys.argv[2]
    os.makedirs(plot_dir, exist_ok=True)
    medians = read_results(out)
    for name, script in (("ratios.svg", ratios_plot(medians)),
                         ("latency.svg", latency_plot(out)),
                         ("flash_timeline.svg", timeline_plot(out))):
        path = os.path.join(plot_dir, name)
        if script is None:
            print(f"bench_plots: no data for {name}", file=sys.stderr)
            if os.path.exists(path):
                os.remove(path)  # never leave an old run's plot beside this run's report
            continue
        try:
            draw(script, path)
        except subprocess.CalledProcessError as e:
            sys.exit(f"bench_plots: gnuplot failed on {name}: {e.stderr.strip()}")


if __name__ == "__main__":
    main()
