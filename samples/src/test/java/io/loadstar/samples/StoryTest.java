package io.loadstar.samples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
            Story.Options.parse(
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
    String html = Files.readString(report);
    assertThat(html).doesNotContain("src=", "href=", "<link").contains("<svg"); // self-contained

    // Rendered by a real browser: one series per backend and client, one p99 line per client.
    File chromium = new File("/usr/bin/chromium");
    if (!chromium.canExecute()) {
      System.out.println(
          "chromium is not installed (Debian: apt-get install -y chromium): the"
              + " report was checked as text only");
      assertThat(count(html)).isEqualTo(10);
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
    assertThat(count(dom)).as("series in the rendered page").isEqualTo(10);
    for (String series :
        List.of("plain 127.0.0.1", "loadstar 127.0.0.4", "p99 plain", "p99 loadstar")) {
      assertThat(dom).contains("data-series=\"" + series + "\"");
    }
  }

  @Test
  void badOptions_nameTheValue() {
    assertThatThrownBy(() -> Story.Options.parse(new String[] {"--seconds", "2"}))
        .hasMessage("--seconds: 2 (expected: a number in 7..3600)");
    assertThatThrownBy(() -> Story.Options.parse(new String[] {"--scenario", "fire"}))
        .hasMessageStartingWith("--scenario: fire (expected: all, die");
    assertThatThrownBy(() -> Story.Options.parse(new String[] {"--seconds"}))
        .hasMessage("--seconds: needs a value");
  }

  private static int count(String html) {
    Matcher m = Pattern.compile("<polyline data-series=\"[^\"]+\"").matcher(html);
    int n = 0;
    while (m.find()) {
      n++;
    }
    return n;
  }
}
