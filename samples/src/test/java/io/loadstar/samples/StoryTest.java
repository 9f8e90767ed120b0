package io.loadstar.samples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The story demo, shortened: Loadstar loses no request, the plain client's failures counted. */
class StoryTest {

  @TempDir Path dir;

  @Test
  void shortStory_loadstarLosesNothing_reportHasOneSeriesPerBackendAndClient() throws Exception {
    Path report = dir.resolve("report.html");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Story.Result r =
        Story.run(
            StoryOptions.parse(
                new String[] {"--seconds", "14", "--threads", "2", "--report", report.toString()}),
            new PrintStream(out, true, StandardCharsets.UTF_8));
    String printed = out.toString(StandardCharsets.UTF_8);
    assertThat(r.requests[1]).isPositive();
    assertThat(r.failed[1]).as("Loadstar's failed requests; %s", printed).isZero();
    // 127.0.0.3 answered 503s: to Loadstar's first attempts (retried elsewhere) for certain, as
    // .1 is down then; to the plain client if one of its pooled connections was to .3 (it keeps
    // its connections, so that depends on where they were made), and each of those failed it.
    long plain503 = errorsFrom(r, 0, 2);
    assertThat(errorsFrom(r, 1, 2))
        .as("503s .3 gave Loadstar's attempts; %s", printed)
        .isPositive();
    assertThat(r.failed[0]).as("the plain client's failures").isGreaterThanOrEqualTo(plain503);
    assertThat(printed)
        .contains("127.0.0.1 dies", "127.0.0.3 answers 503", "DNS adds 127.0.0.4")
        .containsPattern("loadstar +\\d+ requests, +0 failed")
        .contains("report: ");
    // The console shows service times in a unit that shows them, and whole reasons.
    assertThat(printed).containsPattern("\\d+ µs / +\\d+ µs").doesNotContain("...)");
    String html = Files.readString(report);
    assertThat(html)
        .doesNotContain("src=", "href=", "<link")
        .contains("id=\"data\""); // self-contained
    String failedPlain = values(r, 0);
    String failedLoadstar = values(r, 1);
    assertThat(failedPlain.chars().filter(Character::isDigit).count()).isPositive();
    assertThat(failedLoadstar).matches("[0,]+");
    // The figures the page draws are the run's: its failures per client and second.
    assertThat(html).contains("\"failed\":[[" + failedPlain + "],[" + failedLoadstar + "]]");

    // Rendered by a real browser: the page's script draws the charts from those figures.
    String dom = render(report);
    if (dom == null) {
      return;
    }
    // Requests, failures and p99 per second, one line per client each.
    assertThat(count(dom, "<polyline data-series=\"[^\"]+\"")).as("lines drawn").isEqualTo(6);
    assertThat(dom)
        .contains("data-series=\"failed plain\" data-values=\"" + failedPlain + "\"")
        .contains("data-series=\"failed loadstar\" data-values=\"" + failedLoadstar + "\"")
        .contains("data-series=\"requests loadstar\"", "data-series=\"p99 plain\"");
    // Every phase is labelled on every chart's time axis (3 lines + 2 answer charts).
    for (String step : r.steps) {
      String what = step.substring(step.indexOf(':') + 2);
      assertThat(count(dom, "data-phase=\"" + Pattern.quote(what) + "\""))
          .as("labels of phase %s", what)
          .isEqualTo(5);
    }
    // Each backend's answers, the plain client's 503s among them (coloured as failed).
    // A red bar for each second in which .3 answered a client 503s, and only then.
    assertThat(count(dom, "data-failed=\"loadstar 127\\.0\\.0\\.3 \\d+\""))
        .isEqualTo(secondsWithErrors(r, 1, 2))
        .isPositive();
    assertThat(count(dom, "data-failed=\"plain 127\\.0\\.0\\.3 \\d+\""))
        .isEqualTo(secondsWithErrors(r, 0, 2));
    assertThat(count(dom, "data-ok=\"loadstar 127\\.0\\.0\\.4 \\d+\"")).isPositive();
  }

  /** The error answers (503s) backend {@code backend} gave {@code client} over the story. */
  private static long errorsFrom(Story.Result r, int client, int backend) {
    long n = 0;
    for (int[][] second : r.errorsPerSecond) {
      n += second[client][backend];
    }
    return n;
  }

  /** The seconds in which backend {@code backend} gave {@code client} error answers. */
  private static int secondsWithErrors(Story.Result r, int client, int backend) {
    int n = 0;
    for (int[][] second : r.errorsPerSecond) {
      n += second[client][backend] > 0 ? 1 : 0;
    }
    return n;
  }

  /** The client's failed requests per second, as the report lists them. */
  private static String values(Story.Result r, int client) {
    StringBuilder sb = new StringBuilder();
    for (long[] second : r.failedPerSecond) {
      sb.append(sb.length() == 0 ? "" : ",").append(second[client]);
    }
    return sb.toString();
  }

  @Test
  void aBackendThatAcceptsAndNeverAnswers_costsLoadstarNoRequest() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Story.Result r =
        Story.run(
            StoryOptions.parse(
                new String[] {
                  "--seconds",
                  "9",
                  "--threads",
                  "2",
                  "--scenario",
                  "hang",
                  "--report",
                  dir.resolve("hang.html").toString()
                }),
            new PrintStream(out, true, StandardCharsets.UTF_8));
    String printed = out.toString(StandardCharsets.UTF_8);
    assertThat(printed).contains("127.0.0.2 accepts, never answers", "127.0.0.2 answers again");
    assertThat(r.requests[1]).isPositive();
    // Loadstar gives an attempt there up after its attempt timeout and retries it elsewhere (the
    // plain client, on pooled connections, may never have sent anything there).
    assertThat(r.failed[1]).as("Loadstar's failed requests; %s", printed).isZero();
    assertThat(r.retries).as("attempts given up on the hung backend; %s", printed).isPositive();
  }

  @Test
  void towerScenario_runsTheLabsExperiment_andItsReportDrawsEveryClientsFigures() throws Exception {
    Path report = dir.resolve("tower.html");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    List<String> missed =
        Story.runLab(
            StoryOptions.parse(new String[] {"--scenario", "tower", "--report", report.toString()}),
            new PrintStream(out, true, StandardCharsets.UTF_8));
    String printed = out.toString(StandardCharsets.UTF_8);
    // Every client's row: p50, p99, p99.9, requests to the 1 s endpoint, hedges.
    Map<String, String[]> rows = new LinkedHashMap<>();
    Matcher row =
        Pattern.compile(
                "(?m)^(\\w+(?:\\+hedging)?) +([\\d.]+) +([\\d.]+) +([\\d.]+) +(\\d+) +(\\d+)")
            .matcher(printed);
    while (row.find()) {
      rows.put(row.group(1), new String[] {row.group(2), row.group(3), row.group(4)});
    }
    assertThat(rows.keySet())
        .as(printed)
        .containsExactly(
            "roundRobin",
            "leastRequest",
            "peakEwma",
            "probing",
            "roundRobin+hedging",
            "leastRequest+hedging",
            "peakEwma+hedging",
            "probing+hedging");
    // Round robin sends a tenth of the calls to the 1 s endpoint: its p99 is that endpoint's.
    assertThat(rows.get("roundRobin")[1]).isEqualTo("1000.0");
    assertThat(printed).contains("report: " + report.toAbsolutePath());
    assertThat(missed).allMatch(t -> t.startsWith("tower:"));
    String html = Files.readString(report);
    assertThat(html).doesNotContain("src=", "href=", "<link").contains("id=\"data\"");

    String dom = render(report);
    if (dom == null) {
      return;
    }
    // A bar per client and percentile, each the figure the console printed.
    assertThat(count(dom, "<rect data-bar=")).isEqualTo(3 * rows.size());
    for (Map.Entry<String, String[]> e : rows.entrySet()) {
      String[] p = e.getValue();
      assertThat(dom)
          .contains("data-bar=\"p50 " + e.getKey() + " " + number(p[0]) + "\"")
          .contains("data-bar=\"p99 " + e.getKey() + " " + number(p[1]) + "\"")
          .contains("data-bar=\"p99.9 " + e.getKey() + " " + number(p[2]) + "\"");
    }
  }

  @Test
  void rampScenario_drawsEachClientsP99AndP999PerLoadStep() throws Exception {
    Path report = dir.resolve("ramp.html");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Story.runLab(
        StoryOptions.parse(new String[] {"--scenario", "ramp", "--report", report.toString()}),
        new PrintStream(out, true, StandardCharsets.UTF_8));
    String printed = out.toString(StandardCharsets.UTF_8);
    assertThat(printed).contains("== ramp: 10 machines", "p99.9 ms", "max in flight");
    // The console's p99 row of least request, step by step, is the line the page draws.
    Matcher p99 =
        Pattern.compile("(?s)\\np99 ms .*?\\nleastRequest +([\\d. ]+)\\n").matcher(printed);
    assertThat(p99.find()).as(printed).isTrue();
    String values =
        Arrays.stream(p99.group(1).trim().split(" +"))
            .map(StoryTest::number)
            .collect(Collectors.joining(","));
    assertThat(values.split(",")).hasSize(7); // 0.8x to 1.74x

    String dom = render(report);
    if (dom == null) {
      return;
    }
    assertThat(count(dom, "<polyline data-series=\"p99 ")).isEqualTo(8);
    assertThat(count(dom, "<polyline data-series=\"p99.9 ")).isEqualTo(8);
    assertThat(dom).contains("data-series=\"p99 leastRequest\" data-values=\"" + values + "\"");
  }

  @Test
  void labScenarios_refuseTheStorysOptions() {
    assertThatThrownBy(
            () ->
                StoryOptions.parse(new String[] {"--scenario", "tower", "--strategy", "peakEwma"}))
        .hasMessageStartingWith("--strategy: does not apply to --scenario tower");
    assertThatThrownBy(
            () -> StoryOptions.parse(new String[] {"--seconds", "20", "--scenario", "ramp"}))
        .hasMessageStartingWith("--seconds: does not apply to --scenario ramp");
  }

  /** The report's DOM once its script ran in headless chromium; null (said why) without one. */
  private String render(Path report) throws Exception {
    File chromium = new File("/usr/bin/chromium");
    if (!chromium.canExecute()) {
      System.out.println(
          "chromium is not installed (Debian: apt-get install -y chromium): the"
              + " report was checked as text only");
      return null;
    }
    Process p =
        new ProcessBuilder(
                chromium.getPath(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--user-data-dir=" + dir.resolve("chromium-profile"),
                "--dump-dom",
                report.toUri().toString())
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    String dom = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return dom;
  }

  /** A figure as the page's script writes it: JavaScript drops a trailing ".0". */
  private static String number(String printed) {
    return printed.endsWith(".0") ? printed.substring(0, printed.length() - 2) : printed;
  }

  @Test
  void badOptions_nameTheValue() {
    assertThatThrownBy(() -> StoryOptions.parse(new String[] {"--seconds", "2"}))
        .hasMessage("--seconds: 2 (expected: a number in 7..3600)");
    assertThatThrownBy(() -> StoryOptions.parse(new String[] {"--scenario", "fire"}))
        .hasMessageStartingWith("--scenario: fire (expected: all, die");
    assertThatThrownBy(() -> StoryOptions.parse(new String[] {"--seconds"}))
        .hasMessage("--seconds: needs a value");
  }

  private static int count(String html, String regex) {
    Matcher m = Pattern.compile(regex).matcher(html);
    int n = 0;
    while (m.find()) {
      n++;
    }
    return n;
  }
}
