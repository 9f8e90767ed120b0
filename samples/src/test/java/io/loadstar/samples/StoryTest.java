package io.loadstar.samples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
    assertThat(r.failed[0]).as("the plain client's failures (503s)").isPositive();
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
    assertThat(failedPlain).matches(".*[1-9].*"); // the plain client failed in some second
    assertThat(failedLoadstar).matches("[0,]+");
    // The figures the page draws are the run's: its failures per client and second.
    assertThat(html).contains("\"failed\":[[" + failedPlain + "],[" + failedLoadstar + "]]");

    // Rendered by a real browser: the page's script draws the charts from those figures.
    File chromium = new File("/usr/bin/chromium");
    if (!chromium.canExecute()) {
      System.out.println(
          "chromium is not installed (Debian: apt-get install -y chromium): the"
              + " report was checked as text only");
      return;
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
    assertThat(count(dom, "data-failed=\"plain 127\\.0\\.0\\.3 \\d+\"")).isPositive();
    assertThat(count(dom, "data-ok=\"loadstar 127\\.0\\.0\\.4 \\d+\"")).isPositive();
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
