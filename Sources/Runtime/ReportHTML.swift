import Foundation
import Liquidity

/// The backtest report as one self-contained HTML page (`--report report.html`): no scripts, no external files;
/// charts are inline SVG. What a risk manager looks at first: the VaR backtest table, the trigger episodes on a
/// timeline, and per instrument the price with its VaR band, exceptions marked, and the spread.
enum ReportHTML {
    static func render(_ report: BacktestReport, summary: Backtest.Summary, maxCharts: Int = 6) -> String {
        let series = report.series
        let allTs = series.values.flatMap { [$0.ts.first, $0.ts.last].compactMap { $0 } }
        let start = allTs.min() ?? 0, end = allTs.max() ?? 1
        let backtests = report.varBacktests
        let episodes = report.allEpisodes
        var html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>backstop — backtest report</title>
            <style>
            body{font:14px/1.45 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px 32px;color:#1d2733;background:#fff}
            h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde3ea;padding-bottom:4px}
            .muted{color:#5b6b7c}table{border-collapse:collapse;font-size:13px}th,td{padding:4px 10px;border-bottom:1px solid #edf0f4;text-align:right}
            th{background:#f5f7fa;text-align:right}td:first-child,th:first-child{text-align:left}
            .green{background:#dff5e3;color:#17692c}.yellow{background:#fff4cc;color:#7a5b00}.red{background:#fde0e0;color:#9b1c1c}
            .pill{padding:1px 8px;border-radius:9px;font-weight:600}.reject{color:#9b1c1c;font-weight:600}
            .chart{margin:8px 0 18px}.legend span{margin-right:14px}.swatch{display:inline-block;width:12px;height:12px;vertical-align:-2px;margin-right:4px}
            svg text{font:11px -apple-system,Helvetica,Arial,sans-serif;fill:#5b6b7c}
            </style></head><body>
            <h1>Backtest report</h1>
            <p class="muted">\(clock(start)) – \(clock(end)) UTC · \(summary.inputs) inputs · \(series.count) instruments · \
            \(summary.outputs["liquidity-metrics"] ?? 0) metrics records · \(episodes.count) trigger episodes · \
            \(backtests.values.reduce(0) { $0 + $1.exceptions }) VaR exceptions\
            \(summary.rejectedByReason.isEmpty ? "" : " · \(summary.rejectedByReason.values.reduce(0, +)) inputs rejected")</p>

            """
        html += varTable(backtests)
        html += "<h2>Trigger episodes</h2>\n"
        html += episodes.isEmpty ? "<p class=\"muted\">No trigger fired.</p>\n" : timeline(episodes, start: start, end: end)
        let charted = series.sorted { ($0.value.notional, $1.key) > ($1.value.notional, $0.key) }.prefix(maxCharts)
        html += "<h2>Instruments</h2>\n<p class=\"muted legend\"><span><i class=\"swatch\" style=\"background:#2563eb\"></i>mid</span>"
            + "<span><i class=\"swatch\" style=\"background:#bfdbfe\"></i>99 % VaR band (mid·(1 − var_99))</span>"
            + "<span><i class=\"swatch\" style=\"background:#dc2626\"></i>VaR exception</span>"
            + "<span><i class=\"swatch\" style=\"background:#f59e0b\"></i>spread_bps_avg</span></p>\n"
        for (instrument, s) in charted {
            html += "<div class=\"chart\"><strong>\(escape(instrument))</strong>\n"
            html += priceChart(s, start: start, end: end) + spreadChart(s, start: start, end: end) + "</div>\n"
        }
        if series.count > charted.count {
            html += "<p class=\"muted\">\(series.count - charted.count) more instruments in report.json.</p>\n"
        }
        html += "</body></html>\n"
        return html
    }

    static func varTable(_ backtests: [String: VaRBacktest]) -> String {
        var h = "<h2>VaR backtest (99 %, one interval ahead)</h2>\n<table><tr><th>instrument</th><th>observations</th>"
            + "<th>exceptions</th><th>expected</th><th>Kupiec LR (3.841)</th><th>Christoffersen LR (3.841)</th>"
            + "<th>conditional coverage (5.991)</th><th>traffic light</th></tr>\n"
        for name in backtests.keys.sorted() {
            let b = backtests[name]!
            func lr(_ v: Double?, _ limit: Double) -> String {
                guard let v else { return "—" }
                return v > limit ? "<span class=\"reject\">\(fmt(v, 3))</span>" : fmt(v, 3)
            }
            h += "<tr><td>\(escape(name))</td><td>\(b.observations)</td><td>\(b.exceptions)</td>"
                + "<td>\(fmt(Double(b.observations) * VaRBacktest.p, 1))</td><td>\(lr(b.kupiecLR, 3.841))</td>"
                + "<td>\(lr(b.christoffersenLR, 3.841))</td><td>\(lr(b.conditionalCoverageLR, 5.991))</td>"
                + "<td><span class=\"pill \(b.trafficLight.rawValue)\">\(b.trafficLight.rawValue)</span></td></tr>\n"
        }
        return h + "</table>\n"
    }

    static func timeline(_ episodes: [BacktestReport.Episode], start: Int64, end: Int64) -> String {
        let rows = Array(Set(episodes.map { "\($0.instrument) · \($0.rule)" })).sorted()
        let width = 960.0, left = 230.0, rowHeight = 22.0
        let height = Double(rows.count) * rowHeight + 30
        let x = scale(start, end, left, width - 10)
        var svg = "<svg width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"trigger episodes\">\n"
        for (i, row) in rows.enumerated() {
            let y = Double(i) * rowHeight + 4
            svg += "<text x=\"4\" y=\"\(fmt(y + 14, 1))\">\(escape(row))</text>"
            svg += "<line x1=\"\(left)\" x2=\"\(width - 10)\" y1=\"\(fmt(y + 10, 1))\" y2=\"\(fmt(y + 10, 1))\" stroke=\"#edf0f4\"/>\n"
            for e in episodes where "\(e.instrument) · \(e.rule)" == row {
                let x0 = x(e.start), x1 = max(x(e.end ?? end), x0 + 2)
                let color = e.maxSeverity >= 3 ? "#7f1d1d" : e.maxSeverity == 2 ? "#dc2626" : "#f59e0b"
                svg += "<rect x=\"\(fmt(x0, 1))\" y=\"\(fmt(y + 3, 1))\" width=\"\(fmt(x1 - x0, 1))\" height=\"14\" rx=\"3\" fill=\"\(color)\">"
                svg += "<title>\(escape(e.instrument)) \(escape(e.rule)): \(clock(e.start))–\(e.end.map(clock) ?? "end"), max severity \(e.maxSeverity)</title></rect>\n"
            }
        }
        svg += axis(start: start, end: end, left: left, right: width - 10, y: height - 12)
        return svg + "</svg>\n<p class=\"muted legend\"><span><i class=\"swatch\" style=\"background:#f59e0b\"></i>severity 1</span>"
            + "<span><i class=\"swatch\" style=\"background:#dc2626\"></i>severity 2</span>"
            + "<span><i class=\"swatch\" style=\"background:#7f1d1d\"></i>severity 3+</span></p>\n"
    }

    static func priceChart(_ s: BacktestReport.Series, start: Int64, end: Int64) -> String {
        let width = 960.0, height = 200.0, left = 70.0, top = 8.0, bottom = height - 22
        let points = downsample(s.ts.indices.map { i in (s.ts[i], s.mid[i], s.var99[i]) }, limit: 1200)
        let lows = points.compactMap { p in p.1.map { mid in mid * (1 - (p.2 ?? 0)) } }
        let highs = points.compactMap(\.1)
        guard let lo = lows.min(), let hi = highs.max(), hi > 0 else { return "<p class=\"muted\">no quotes</p>" }
        let pad = max((hi - lo) * 0.05, hi * 1e-6)
        let x = scale(start, end, left, width - 10)
        let y = { (v: Double) in bottom - (v - (lo - pad)) / ((hi + pad) - (lo - pad)) * (bottom - top) }
        var band = "", line = ""
        var upper: [String] = [], lower: [String] = []
        for p in points {
            guard let mid = p.1 else { continue }
            line += (line.isEmpty ? "M" : "L") + "\(fmt(x(p.0), 1)),\(fmt(y(mid), 1))"
            if let v = p.2 {
                upper.append("\(fmt(x(p.0), 1)),\(fmt(y(mid), 1))")
                lower.append("\(fmt(x(p.0), 1)),\(fmt(y(mid * (1 - v)), 1))")
            }
        }
        if !upper.isEmpty { band = "M" + upper.joined(separator: "L") + "L" + lower.reversed().joined(separator: "L") + "Z" }
        var svg = "<svg width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"price and VaR\">\n"
        svg += "<path d=\"\(band)\" fill=\"#bfdbfe\" opacity=\"0.8\"/>\n<path d=\"\(line)\" fill=\"none\" stroke=\"#2563eb\" stroke-width=\"1.3\"/>\n"
        for i in s.exceptions where i < s.ts.count {
            guard let mid = s.mid[i] else { continue }
            svg += "<circle cx=\"\(fmt(x(s.ts[i]), 1))\" cy=\"\(fmt(y(mid), 1))\" r=\"3.5\" fill=\"#dc2626\"><title>VaR exception at \(clock(s.ts[i]))</title></circle>\n"
        }
        for v in [lo, (lo + hi) / 2, hi] {
            svg += "<text x=\"4\" y=\"\(fmt(y(v) + 4, 1))\">\(fmt(v, v >= 100 ? 1 : 4))</text>"
        }
        svg += axis(start: start, end: end, left: left, right: width - 10, y: height - 6)
        return svg + "</svg>\n"
    }

    static func spreadChart(_ s: BacktestReport.Series, start: Int64, end: Int64) -> String {
        let width = 960.0, height = 90.0, left = 70.0, top = 6.0, bottom = height - 6
        let points = downsample(s.ts.indices.map { i in (s.ts[i], s.spreadBpsAvg[i], nil as Double?) }, limit: 1200)
        let values = points.compactMap(\.1)
        guard let hi = values.max(), hi > 0 else { return "" }
        let x = scale(start, end, left, width - 10)
        let y = { (v: Double) in bottom - v / hi * (bottom - top) }
        var line = ""
        for p in points { if let v = p.1 { line += (line.isEmpty ? "M" : "L") + "\(fmt(x(p.0), 1)),\(fmt(y(v), 1))" } }
        return "<svg width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"spread\">"
            + "<path d=\"\(line)\" fill=\"none\" stroke=\"#f59e0b\" stroke-width=\"1.2\"/>"
            + "<text x=\"4\" y=\"\(fmt(top + 8, 1))\">\(fmt(hi, 1)) bps</text><text x=\"4\" y=\"\(fmt(bottom, 1))\">0</text></svg>\n"
    }

    /// At most `limit` points: the last of each time bucket (the series' own values, never invented ones).
    static func downsample(_ points: [(Int64, Double?, Double?)], limit: Int) -> [(Int64, Double?, Double?)] {
        guard points.count > limit, let first = points.first?.0, let last = points.last?.0, last > first else { return points }
        var result: [(Int64, Double?, Double?)] = []
        var bucket = -1
        for p in points {
            let b = Int(Double(p.0 - first) / Double(last - first) * Double(limit - 1))
            if b != bucket { result.append(p); bucket = b } else { result[result.count - 1] = p }
        }
        return result
    }

    static func axis(start: Int64, end: Int64, left: Double, right: Double, y: Double) -> String {
        let x = scale(start, end, left, right)
        var s = ""
        for i in 0...4 {
            let ts = start + (end - start) * Int64(i) / 4
            let anchor = i == 0 ? "start" : i == 4 ? "end" : "middle"
            s += "<text x=\"\(fmt(x(ts), 1))\" y=\"\(fmt(y, 1))\" text-anchor=\"\(anchor)\">\(clock(ts))</text>"
        }
        return s
    }

    static func scale(_ start: Int64, _ end: Int64, _ from: Double, _ to: Double) -> (Int64) -> Double {
        let span = Double(max(end - start, 1))
        return { ts in from + Double(ts - start) / span * (to - from) }
    }

    /// HH:MM:SS (UTC) of an event time.
    static func clock(_ micros: Int64) -> String {
        let seconds = Int((micros / 1_000_000) % 86_400 + 86_400) % 86_400
        return String(format: "%02d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60)
    }

    static func fmt(_ v: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", v) }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
