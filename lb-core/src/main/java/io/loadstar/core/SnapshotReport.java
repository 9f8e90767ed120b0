package io.loadstar.core;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.EndpointSnapshot;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A balancer's {@code snapshot()} rendered for people and for programs, to serve on an admin port:
 * a plain-text table like HAProxy's stats page, and JSON. Stateless.
 *
 * <pre>{@code
 * String page = SnapshotReport.table(lb.name(), lb.snapshot());
 * }</pre>
 */
public final class SnapshotReport {

  private SnapshotReport() {}

  /**
   * One line per endpoint, aligned: endpoint, zone, state, effective and listed weight, in flight,
   * successes, failures, and the reason in words.
   */
  public static String table(String service, List<EndpointSnapshot> snapshot) {
    requireNonNull(service, "service");
    requireNonNull(snapshot, "snapshot");
    int width = "endpoint".length();
    int zoneWidth = "zone".length();
    for (EndpointSnapshot s : snapshot) {
      width = Math.max(width, s.endpoint().key().length());
      zoneWidth = Math.max(zoneWidth, s.endpoint().zone().length());
    }
    String row = "%-" + width + "s  %-" + zoneWidth + "s  %-9s %8s %9s %10s %8s  %s%n";
    StringBuilder sb = new StringBuilder();
    sb.append(service).append(": ").append(snapshot.size()).append(" endpoints\n");
    sb.append(
        String.format(
            Locale.ROOT,
            row,
            "endpoint",
            "zone",
            "state",
            "weight",
            "in flight",
            "ok",
            "failed",
            "reason"));
    for (EndpointSnapshot s : snapshot) {
      sb.append(
          String.format(
              Locale.ROOT,
              row,
              s.endpoint().key(),
              s.endpoint().zone(),
              s.state(),
              weight(s),
              s.inFlight(),
              s.successes(),
              s.failures(),
              s.reason()));
    }
    return sb.toString();
  }

  /**
   * A JSON object: {@code {"service": ..., "endpoints": [{"endpoint", "host", "port", "zone",
   * "priority", "tags", "state", "reason", "weight", "effectiveWeight", "inFlight", "successes",
   * "failures"}, ...]}}.
   */
  public static String json(String service, List<EndpointSnapshot> snapshot) {
    requireNonNull(service, "service");
    requireNonNull(snapshot, "snapshot");
    StringBuilder sb = new StringBuilder();
    sb.append("{\"service\":").append(quote(service)).append(",\"endpoints\":[");
    String sep = "";
    for (EndpointSnapshot s : snapshot) {
      sb.append(sep).append('{');
      sep = ",";
      sb.append("\"endpoint\":").append(quote(s.endpoint().key()));
      sb.append(",\"host\":").append(quote(s.endpoint().host()));
      sb.append(",\"port\":").append(s.endpoint().port());
      sb.append(",\"zone\":").append(quote(s.endpoint().zone()));
      sb.append(",\"priority\":").append(s.endpoint().priority());
      sb.append(",\"tags\":{");
      String tagSep = "";
      for (Map.Entry<String, String> t : s.endpoint().tags().entrySet()) {
        sb.append(tagSep).append(quote(t.getKey())).append(':').append(quote(t.getValue()));
        tagSep = ",";
      }
      sb.append('}');
      sb.append(",\"state\":").append(quote(s.state().name()));
      sb.append(",\"reason\":").append(quote(s.reason()));
      sb.append(",\"weight\":").append(s.weight());
      double ew = s.effectiveWeight();
      sb.append(",\"effectiveWeight\":")
          .append(Double.isFinite(ew) ? String.format(Locale.ROOT, "%.3f", ew) : "0");
      sb.append(",\"inFlight\":").append(s.inFlight());
      sb.append(",\"successes\":").append(s.successes());
      sb.append(",\"failures\":").append(s.failures());
      sb.append('}');
    }
    return sb.append("]}").toString();
  }

  private static String weight(EndpointSnapshot s) {
    double ew = s.effectiveWeight();
    return (ew == Math.rint(ew) ? Long.toString((long) ew) : String.format(Locale.ROOT, "%.1f", ew))
        + "/"
        + s.weight();
  }

  /** A JSON string literal of {@code s}: quotes, backslashes and control characters escaped. */
  static String quote(String s) {
    StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"':
          sb.append("\\\"");
          break;
        case '\\':
          sb.append("\\\\");
          break;
        case '\n':
          sb.append("\\n");
          break;
        case '\r':
          sb.append("\\r");
          break;
        case '\t':
          sb.append("\\t");
          break;
        default:
          if (c < 0x20) {
            sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
      }
    }
    return sb.append('"').toString();
  }
}
