package io.loadstar.bench;

import io.loadstar.bench.TailLab.RampResult;
import io.loadstar.bench.TailLab.Run;
import io.loadstar.bench.TailLab.Step;
import io.loadstar.bench.TailLab.TowerResult;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;
import org.jspecify.annotations.Nullable;

/**
 * The tail-latency lab's figures as one self-contained HTML page: no file, script or style from
 * elsewhere, so it opens anywhere. The figures are in the page as JSON ({@code id="data"}); its
 * script draws them as SVG: the ramp's p99 and p99.9 per load step, one line per client (hedged
 * clients dashed), on a log scale; tower's p50, p99 and p99.9 per client as bars. Tables beside
 * them carry every figure the console printed, and the targets met and missed.
 */
final class TailReport {

  private TailReport() {}

  /** The page for the experiments run (null: not run). */
  static String html(@Nullable RampResult ramp, @Nullable TowerResult tower) {
    StringBuilder body = new StringBuilder();
    body.append("<h1>Loadstar tail-latency lab</h1>\n")
        .append(
            "<p>Simulated time (TailSim): Loadstar's real balancers and retry engine on a fake"
                + " clock, the backends and the network simulated. Rerun: <code>java -cp"
                + " lb-bench/target/benchmarks.jar io.loadstar.bench.TailLab [ramp] [tower]"
                + " --report FILE</code>, or the demo's <code>--scenario ramp|tower</code>.</p>\n");
    StringBuilder json = new StringBuilder("{");
    if (ramp != null) {
      body.append(
              String.format(
                  Locale.ROOT,
                  "<h2>Prequal's ramp (seed %d)</h2>%n<p>10 machines of 6 to 12 cores, an antagonist"
                      + " on 4, 20 clients each with its own balancer; open-loop Poisson load from"
                      + " 0.8x to 1.74x of the nominal capacity (%,.0f requests/s), 15 s a step;"
                      + " a request gives up at 5 s.</p>%n",
                  ramp.seed(),
                  TailLab.nominalCapacity()))
          .append("<div class=\"chart\" id=\"ramp-p99\"></div>\n")
          .append("<div class=\"chart\" id=\"ramp-p999\"></div>\n");
      rampTable(body, ramp, "timeouts", st -> st.timeouts);
      rampTable(body, ramp, "most requests a backend held at once", st -> st.maxInSystem);
      body.append("<p>");
      for (Map.Entry<String, Run> e : ramp.runs().entrySet()) {
        if (e.getKey().equals("probing")) {
          body.append(
              String.format(
                  Locale.ROOT,
                  "probing: %.2f probes per request. ",
                  e.getValue().probesPerRequest()));
        } else if (e.getKey().endsWith(TailSim.HEDGED)) {
          body.append(
              String.format(
                  Locale.ROOT,
                  "%s: %.3f hedges per request. ",
                  escape(e.getKey()),
                  e.getValue().hedgesPerRequest()));
        }
      }
      body.append("</p>\n");
      targets(body, ramp.targets());
      json.append("\"ramp\":{\"loads\":[");
      for (int i = 0; i < TailLab.RAMP.length; i++) {
        json.append(i == 0 ? "" : ",").append(TailLab.RAMP[i]);
      }
      json.append("],\"clients\":").append(names(ramp.runs().keySet()));
      json.append(",\"p99\":").append(rampSeries(ramp, 0.99));
      json.append(",\"p999\":").append(rampSeries(ramp, 0.999)).append('}');
    }
    if (tower != null) {
      body.append(
              "<h2>tower's latency mix</h2>\n<p>Ten endpoints answering in 1, 10 (4 of them), 100"
                  + " (4) and 1,000 ms whatever their load; 50 callers in a closed loop, 50,000"
                  + " requests.</p>\n")
          .append("<div class=\"chart\" id=\"tower\"></div>\n")
          .append(
              "<table><tr><th></th><th>p50 ms</th><th>p99 ms</th><th>p99.9 ms</th>"
                  + "<th>to the 1 s endpoint</th><th>hedges</th>"
                  + "<th>tower's published p99 / p99.9</th></tr>\n");
      StringBuilder p50 = new StringBuilder();
      StringBuilder p99 = new StringBuilder();
      StringBuilder p999 = new StringBuilder();
      for (Map.Entry<String, Step> e : tower.steps().entrySet()) {
        Step st = e.getValue();
        body.append(
            String.format(
                Locale.ROOT,
                "<tr><td>%s</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%d</td><td>%d</td>"
                    + "<td>%s</td></tr>%n",
                escape(e.getKey()),
                st.percentileMillis(0.5),
                st.percentileMillis(0.99),
                st.percentileMillis(0.999),
                st.served[st.served.length - 1],
                st.hedges,
                escape(TailLab.PUBLISHED.getOrDefault(e.getKey(), ""))));
        String sep = p50.length() == 0 ? "" : ",";
        p50.append(sep).append(number(st.percentileMillis(0.5)));
        p99.append(sep).append(number(st.percentileMillis(0.99)));
        p999.append(sep).append(number(st.percentileMillis(0.999)));
      }
      body.append("</table>\n");
      targets(body, tower.targets());
      json.append(ramp != null ? "," : "")
          .append("\"tower\":{\"clients\":")
          .append(names(tower.steps().keySet()))
          .append(",\"p50\":[")
          .append(p50)
          .append("],\"p99\":[")
          .append(p99)
          .append("],\"p999\":[")
          .append(p999)
          .append("]}");
    }
    json.append('}');
    return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        + "<title>Loadstar tail-latency lab</title><style>"
        + "body{font:14px sans-serif;margin:2em;max-width:1100px}"
        + "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 8px;"
        + "text-align:right}td:first-child{text-align:left}.missed{color:#c00}.met{color:#070}"
        + ".chart svg{display:block;margin:1em 0}</style></head><body>\n"
        + body
        + "<script type=\"application/json\" id=\"data\">"
        + json
        + "</script>\n<script>"
        + SCRIPT
        + "</script>\n</body></html>\n";
  }

  private static void rampTable(
      StringBuilder body, RampResult ramp, String metric, ToDoubleFunction<Step> value) {
    body.append("<table><tr><th>").append(escape(metric)).append("</th>");
    for (double m : TailLab.RAMP) {
      body.append(String.format(Locale.ROOT, "<th>%.2fx</th>", m));
    }
    body.append("</tr>\n");
    for (Map.Entry<String, Run> e : ramp.runs().entrySet()) {
      body.append("<tr><td>").append(escape(e.getKey())).append("</td>");
      for (Step st : e.getValue().steps()) {
        body.append(String.format(Locale.ROOT, "<td>%.0f</td>", value.applyAsDouble(st)));
      }
      body.append("</tr>\n");
    }
    body.append("</table>\n");
  }

  private static void targets(StringBuilder body, List<String> targets) {
    body.append("<ul class=\"targets\">\n");
    for (String t : targets) {
      body.append("<li class=\"")
          .append(t.startsWith("met") ? "met" : "missed")
          .append("\">")
          .append(escape(t))
          .append("</li>\n");
    }
    body.append("</ul>\n");
  }

  /** Per client, the step's percentile in ms: [[...], ...]. */
  private static String rampSeries(RampResult ramp, double q) {
    StringBuilder sb = new StringBuilder("[");
    for (Run run : ramp.runs().values()) {
      sb.append(sb.length() == 1 ? "[" : ",[");
      for (int i = 0; i < run.steps().size(); i++) {
        sb.append(i == 0 ? "" : ",").append(number(run.steps().get(i).percentileMillis(q)));
      }
      sb.append(']');
    }
    return sb.append(']').toString();
  }

  private static String names(Iterable<String> names) {
    StringBuilder sb = new StringBuilder("[");
    for (String n : names) {
      sb.append(sb.length() == 1 ? "\"" : ",\"").append(n).append('"');
    }
    return sb.append(']').toString();
  }

  private static String number(double v) {
    return String.format(Locale.ROOT, "%.1f", v);
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\"", "&quot;");
  }

  /**
   * Draws the charts from the JSON: log-scale y axes (1 ms to 10 s), one colour per strategy,
   * hedged clients dashed. Every line and bar carries its series and values as attributes.
   */
  private static final String SCRIPT =
      String.join(
          "\n",
          "const data = JSON.parse(document.getElementById('data').textContent);",
          "const NS = 'http://www.w3.org/2000/svg';",
          "const COLOURS = {roundRobin: '#888', leastRequest: '#1f77b4', peakEwma: '#2ca02c',",
          "  probing: '#d62728'};",
          "const W = 900, H = 300, L = 60, R = 170, T = 20, B = 40;",
          "function el(name, attrs, parent, text) {",
          "  const e = document.createElementNS(NS, name);",
          "  for (const k in attrs) e.setAttribute(k, attrs[k]);",
          "  if (text !== undefined) e.textContent = text;",
          "  parent.appendChild(e);",
          "  return e;",
          "}",
          "function y(ms) {",
          "  const v = Math.log10(Math.min(10000, Math.max(1, ms)));",
          "  return T + (H - T - B) * (1 - v / 4);",
          "}",
          "function frame(id, title) {",
          "  const svg = el('svg', {width: W, height: H, 'data-chart': id},",
          "    document.getElementById(id));",
          "  el('text', {x: L, y: 14}, svg, title);",
          "  [1, 10, 100, 1000, 10000].forEach(ms => {",
          "    el('line', {x1: L, x2: W - R, y1: y(ms), y2: y(ms), stroke: '#eee'}, svg);",
          "    el('text', {x: L - 6, y: y(ms) + 4, 'text-anchor': 'end'}, svg,",
          "      ms >= 1000 ? ms / 1000 + ' s' : ms + ' ms');",
          "  });",
          "  return svg;",
          "}",
          "function colour(client) { return COLOURS[client.replace('+hedging', '')] || '#000'; }",
          "function lines(id, title, loads, clients, series) {",
          "  const svg = frame(id, title);",
          "  const x = i => L + (W - L - R) * i / (loads.length - 1);",
          "  loads.forEach((m, i) => el('text', {x: x(i), y: H - B + 16, 'text-anchor': 'middle'},",
          "    svg, m + 'x'));",
          "  clients.forEach((c, k) => {",
          "    const values = series[k];",
          "    el('polyline', {'data-series': title + ' ' + c, 'data-values': values.join(','),",
          "      points: values.map((v, i) => x(i) + ',' + y(v)).join(' '), fill: 'none',",
          "      stroke: colour(c), 'stroke-width': 2,",
          "      'stroke-dasharray': c.endsWith('+hedging') ? '6 3' : ''}, svg);",
          "    el('text', {x: W - R + 8, y: T + 14 * k + 10, fill: colour(c)}, svg, c);",
          "  });",
          "}",
          "function bars(id, clients, sets) {",
          "  const svg = frame(id, 'tower: p50, p99, p99.9 per client');",
          "  const slot = (W - L - R) / clients.length;",
          "  clients.forEach((c, k) => {",
          "    sets.forEach(([name, values], j) => {",
          "      const x = L + slot * k + 4 + j * (slot - 8) / 3;",
          "      el('rect', {'data-bar': name + ' ' + c + ' ' + values[k], x: x,",
          "        y: y(values[k]), width: (slot - 8) / 3 - 2, height: H - B - y(values[k]),",
          "        fill: colour(c), 'fill-opacity': [0.35, 0.65, 1][j]}, svg);",
          "    });",
          "    el('text', {x: L + slot * k + slot / 2, y: H - B + 16 + 12 * (k % 2),",
          "      'text-anchor': 'middle', 'font-size': 11}, svg, c);",
          "  });",
          "}",
          "if (data.ramp) {",
          "  lines('ramp-p99', 'p99', data.ramp.loads, data.ramp.clients, data.ramp.p99);",
          "  lines('ramp-p999', 'p99.9', data.ramp.loads, data.ramp.clients, data.ramp.p999);",
          "}",
          "if (data.tower) {",
          "  bars('tower', data.tower.clients,",
          "    [['p50', data.tower.p50], ['p99', data.tower.p99], ['p99.9', data.tower.p999]]);",
          "}");
}
