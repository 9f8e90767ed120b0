package io.loadstar.samples;

import static io.loadstar.samples.Story.CLIENTS;
import static io.loadstar.samples.StoryConsole.time;

import io.loadstar.samples.Story.Result;
import java.util.List;
import java.util.Locale;

/**
 * The HTML report, self-contained (no network): the figures as JSON in the page, and a small script
 * that draws them as SVG charts, per client and per second (requests, failures, p99, and each
 * backend's answers with the failed ones coloured), with each phase of the script labelled on the
 * time axis.
 */
final class StoryReport {

  private StoryReport() {}

  static String html(StoryOptions o, Result r) {
    StringBuilder sb = new StringBuilder();
    sb.append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Loadstar demo</title>")
        .append("<style>body{font-family:sans-serif;margin:2em;max-width:1000px}")
        .append("svg{border:1px solid #ccc;margin:0.5em 0;background:#fff}")
        .append("td,th{padding:0 1em;text-align:right}.phase{font-size:10px;fill:#555}")
        .append(".failed{color:#d62728}</style></head><body>")
        .append("<h1>Loadstar demo</h1><p>")
        .append(o.seconds)
        .append(" s, ")
        .append(o.threads)
        .append(
            " callers per client. <b>plain</b>: OkHttp alone, DNS round robin. <b>loadstar</b>:"
                + " OkHttp with Loadstar's interceptor, the defaults, TCP health checks and a 10 s"
                + " slow start.</p><table><tr><th>client</th><th>requests</th>"
                + "<th class=\"failed\">failed</th><th>failed %</th><th>p50</th><th>p99</th>"
                + "</tr>");
    for (int c = 0; c < 2; c++) {
      sb.append(
          String.format(
              Locale.ROOT,
              "<tr><td>%s</td><td>%d</td><td class=\"failed\" id=\"failed-%s\">%d</td>"
                  + "<td>%.2f%%</td><td>%s</td><td>%s</td></tr>",
              CLIENTS[c],
              r.requests[c],
              CLIENTS[c],
              r.failed[c],
              r.requests[c] == 0 ? 0.0 : 100.0 * r.failed[c] / r.requests[c],
              time(r.p50All[c]),
              time(r.p99All[c])));
    }
    sb.append("</table><p>Loadstar retried ")
        .append(r.retries)
        .append(" calls on another endpoint.</p><ol>");
    for (String step : r.steps) {
      sb.append("<li>").append(escape(step.replace(": ", " s: "))).append("</li>");
    }
    sb.append("</ol><div id=\"charts\"></div>")
        .append("<script type=\"application/json\" id=\"data\">")
        .append(json(r))
        .append("</script><script>")
        .append(SCRIPT)
        .append("</script></body></html>");
    return sb.toString();
  }

  /** The figures the page's script draws. */
  static String json(Result r) {
    StringBuilder sb = new StringBuilder("{\"clients\":[\"plain\",\"loadstar\"],");
    sb.append("\"backends\":[\"127.0.0.1\",\"127.0.0.2\",\"127.0.0.3\",\"127.0.0.4\"],");
    sb.append("\"phases\":[");
    for (int i = 0; i < r.steps.size(); i++) {
      String step = r.steps.get(i);
      int colon = step.indexOf(':');
      sb.append(i == 0 ? "" : ",")
          .append("{\"second\":")
          .append(step, 0, colon)
          .append(",\"what\":\"")
          .append(jsonText(step.substring(colon + 2)))
          .append("\"}");
    }
    sb.append("],\"requests\":").append(perClient(r.requestsPerSecond));
    sb.append(",\"failed\":").append(perClient(r.failedPerSecond));
    sb.append(",\"p99\":[");
    for (int c = 0; c < 2; c++) {
      sb.append(c == 0 ? "[" : ",[");
      for (int t = 0; t < r.p99.size(); t++) {
        sb.append(t == 0 ? "" : ",").append(String.format(Locale.ROOT, "%.2f", r.p99.get(t)[c]));
      }
      sb.append(']');
    }
    sb.append("],\"ok\":").append(perBackend(r.okPerSecond));
    sb.append(",\"errors\":").append(perBackend(r.errorsPerSecond));
    return sb.append('}').toString();
  }

  private static String perClient(List<long[]> perSecond) {
    StringBuilder sb = new StringBuilder("[");
    for (int c = 0; c < 2; c++) {
      sb.append(c == 0 ? "[" : ",[");
      for (int t = 0; t < perSecond.size(); t++) {
        sb.append(t == 0 ? "" : ",").append(perSecond.get(t)[c]);
      }
      sb.append(']');
    }
    return sb.append(']').toString();
  }

  /** [client][second][backend]. */
  private static String perBackend(List<int[][]> perSecond) {
    StringBuilder sb = new StringBuilder("[");
    for (int c = 0; c < 2; c++) {
      sb.append(c == 0 ? "[" : ",[");
      for (int t = 0; t < perSecond.size(); t++) {
        sb.append(t == 0 ? "[" : ",[");
        int[] v = perSecond.get(t)[c];
        for (int b = 0; b < v.length; b++) {
          sb.append(b == 0 ? "" : ",").append(v[b]);
        }
        sb.append(']');
      }
      sb.append(']');
    }
    return sb.append(']').toString();
  }

  /** Draws the charts from the page's JSON; plain DOM and SVG, no library. */
  private static final String SCRIPT =
      String.join(
          "\n",
          "(function () {",
          "  const d = JSON.parse(document.getElementById('data').textContent);",
          "  const NS = 'http://www.w3.org/2000/svg';",
          "  const CLIENT = ['#7f7f7f', '#1f77b4'];",
          "  const BACKEND = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd'];",
          "  const FAILED = '#d62728';",
          "  const W = 960, H = 200, L = 50, T = 70, B = 30;",
          "  const n = d.requests[0].length;",
          "  const x = (t) => L + (W - L - 10) * (n <= 1 ? 0 : t / (n - 1));",
          "  function el(name, attrs, parent, text) {",
          "    const e = document.createElementNS(NS, name);",
          "    for (const k in attrs) e.setAttribute(k, attrs[k]);",
          "    if (text !== undefined) e.textContent = text;",
          "    if (parent) parent.appendChild(e);",
          "    return e;",
          "  }",
          "  function chart(title, id, max, unit) {",
          "    const h = document.createElement('h2');",
          "    h.textContent = title;",
          "    document.getElementById('charts').appendChild(h);",
          "    const svg = el('svg', {width: W, height: T + H + B, 'data-chart': id});",
          "    document.getElementById('charts').appendChild(svg);",
          "    el('text', {x: 2, y: T + 10, 'font-size': 10}, svg, max.toFixed(0) + unit);",
          "    el('text', {x: 2, y: T + H, 'font-size': 10}, svg, '0');",
          "    el('line', {x1: L, y1: T + H, x2: W - 10, y2: T + H, stroke: '#999'}, svg);",
          "    for (let t = 0; t < n; t += 5) {",
          "      el('text', {x: x(t), y: T + H + 14, 'font-size': 10, 'text-anchor': 'middle'},",
          "        svg, t + ' s');",
          "    }",
          "    d.phases.forEach((p, i) => {",
          "      const px = x(Math.min(p.second, n - 1));",
          "      el('line', {x1: px, y1: T - 4, x2: px, y2: T + H, stroke: '#bbb',",
          "        'stroke-dasharray': '3,3'}, svg);",
          "      const right = px > W - 220;",
          "      el('text', {class: 'phase', x: right ? px - 2 : px + 2, y: 12 + 12 * (i % 5),",
          "        'text-anchor': right ? 'end' : 'start', 'data-phase': p.what}, svg,",
          "        (i + 1) + '. ' + p.what);",
          "    });",
          "    return {svg: svg, y: (v) => T + H - H * Math.min(v, max) / max};",
          "  }",
          "  function lines(c, name, series, colors, labels) {",
          "    series.forEach((values, s) => {",
          "      const pts = values.map((v, t) => x(t).toFixed(1) + ',' + c.y(v).toFixed(1));",
          "      el('polyline', {'data-series': name + ' ' + labels[s],",
          "        'data-values': values.join(','), fill: 'none', stroke: colors[s],",
          "        'stroke-width': 2, points: pts.join(' ')}, c.svg);",
          "      el('text', {x: L + 130 * s, y: T + H + 28, 'font-size': 11, fill: colors[s]},",
          "        c.svg, labels[s]);",
          "    });",
          "  }",
          "  const most = (arrays) => Math.max(1, ...arrays.map((a) => Math.max(0, ...a)));",
          "  let c = chart('Requests per second', 'requests', most(d.requests), '/s');",
          "  lines(c, 'requests', d.requests, CLIENT, d.clients);",
          "  c = chart('Failed requests per second (what the caller saw)', 'failed',",
          "    most(d.failed), '/s');",
          "  lines(c, 'failed', d.failed, [FAILED, CLIENT[1]], d.clients);",
          "  c = chart('p99 latency per second', 'p99', most(d.p99), ' ms');",
          "  lines(c, 'p99', d.p99, CLIENT, d.clients);",
          "  d.clients.forEach((client, ci) => {",
          "    const c = chart('Answers per backend per second, ' + client",
          "      + ' (503 answers in red, on top of each backend\\'s 2xx)', 'answers ' + client,",
          "      100, '%');",
          "    const bw = Math.max(1, (W - L - 10) / Math.max(1, n) - 1);",
          "    for (let t = 0; t < n; t++) {",
          "      const ok = d.ok[ci][t], err = d.errors[ci][t];",
          "      const total = ok.reduce((a, b) => a + b, 0) + err.reduce((a, b) => a + b, 0);",
          "      let top = T + H;",
          "      for (let b = 0; b < ok.length; b++) {",
          "        [[ok[b], BACKEND[b], 'ok'], [err[b], FAILED, 'failed']].forEach((part) => {",
          "          if (total === 0 || part[0] === 0) return;",
          "          const h = H * part[0] / total;",
          "          top -= h;",
          "          const r = el('rect', {x: x(t) - bw / 2, y: top, width: bw, height: h,",
          "            fill: part[1], ['data-' + part[2]]: client + ' ' + d.backends[b] + ' ' + t,",
          "            'data-count': part[0]}, c.svg);",
          "          el('title', {}, r, d.backends[b] + ' at ' + t + ' s: ' + part[0] + ' '",
          "            + (part[2] === 'ok' ? '2xx' : '503'));",
          "        });",
          "      }",
          "    }",
          "    d.backends.forEach((b, i) => el('text', {x: L + 110 * i, y: T + H + 28,",
          "      'font-size': 11, fill: BACKEND[i]}, c.svg, b));",
          "    el('text', {x: L + 110 * 4, y: T + H + 28, 'font-size': 11, fill: FAILED}, c.svg,",
          "      '503 answers');",
          "  });",
          "})();");

  /** {@code s} inside a JSON string in a script element: no quote, backslash or tag breaks out. */
  private static String jsonText(String s) {
    return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("<", "\\u003c");
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\"", "&quot;");
  }
}
