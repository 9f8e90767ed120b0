package io.loadstar.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The README's code is compiled: each {@code java} block is the tagged text of the source file its
 * {@code <!-- snippet: path -->} marker names, so a snippet cannot drift from the API.
 */
class ReadmeTest {

  static final Path ROOT = Path.of("..");
  private static final Pattern JAVA_BLOCK =
      Pattern.compile("(?:<!-- snippet: (\\S+) -->\\n)?```java\\n(.*?)```", Pattern.DOTALL);

  private static String readme() throws IOException {
    return Files.readString(ROOT.resolve("README.md"), StandardCharsets.UTF_8);
  }

  /** The text between the tag::readme[] and end::readme[] comments, each region dedented. */
  static String tagged(Path source) throws IOException {
    List<String> regions = new ArrayList<>();
    List<String> current = null;
    int indent = 0;
    for (String line : Files.readAllLines(source, StandardCharsets.UTF_8)) {
      String t = line.strip();
      if (t.equals("// tag::readme[]")) {
        current = new ArrayList<>();
        indent = line.indexOf('/');
      } else if (t.equals("// end::readme[]")) {
        regions.add(String.join("\n", current).stripTrailing());
        current = null;
      } else if (current != null) {
        current.add(line.length() >= indent ? line.substring(indent) : line.strip());
      }
    }
    return String.join("\n\n", regions);
  }

  @Test
  void everyJavaBlock_isTheTaggedCodeOfACompiledSourceFile() throws IOException {
    assertThat(javaBlocksChecked(ROOT.resolve("README.md"))).isEqualTo(9);
    for (String module :
        List.of(
            "lb-api", "lb-core", "lb-dns", "lb-okhttp", "lb-httpclient5", "lb-grpc", "lb-probe")) {
      assertThat(javaBlocksChecked(ROOT.resolve(module).resolve("README.md"))).isEqualTo(1);
    }
    assertThat(javaBlocksChecked(ROOT.resolve("docs/DRIVERS.md"))).isEqualTo(1);
  }

  /** Checks each java block of {@code readme} against its source file; returns how many. */
  private static int javaBlocksChecked(Path readme) throws IOException {
    Matcher m = JAVA_BLOCK.matcher(Files.readString(readme, StandardCharsets.UTF_8));
    int blocks = 0;
    while (m.find()) {
      blocks++;
      assertThat(m.group(1))
          .as("%s: snippet marker before java block %d", readme, blocks)
          .isNotNull();
      Path source = ROOT.resolve(m.group(1));
      assertThat(source).exists();
      assertThat(m.group(2).stripTrailing()).as("%s: %s", readme, source).isEqualTo(tagged(source));
    }
    return blocks;
  }

  /**
   * The failover tests in lb-core and lb-okhttp (ReadmeConfigFailoverTest) run these settings; if
   * the README's configurations change, those tests must change with them.
   */
  @Test
  void readmeConfigurations_areTheOnesTheFailoverTestsRun() throws IOException {
    assertThat(readme())
        .contains(".maxInFlightPerEndpoint(200)")
        .contains("HealthCheckConfig.builder().port(9200).rise(2).fall(3).build())")
        .contains(
            ".outlierDetection(OutlierDetectionConfig.builder().maxEjectionPercent(34).build())")
        .contains(".slowStart(Duration.ofSeconds(30))")
        .contains(".outlierDetection(OutlierDetectionConfig.builder().build())")
        .contains(".retryPolicy(RetryPolicy.defaults())")
        .contains(".callTimeout(Duration.ofSeconds(3))");
  }

  @Test
  void mavenCoordinates_nameTheBomAtTheProjectVersion() throws IOException {
    String pom = Files.readString(ROOT.resolve("pom.xml"), StandardCharsets.UTF_8);
    Matcher version =
        Pattern.compile("<artifactId>loadstar-parent</artifactId>\\s*<version>([^<]+)</version>")
            .matcher(pom);
    assertThat(version.find()).isTrue();
    assertThat(readme())
        .contains(
            "      <artifactId>lb-bom</artifactId>\n      <version>"
                + version.group(1)
                + "</version>")
        .contains("<type>pom</type>")
        .contains("<scope>import</scope>");
  }

  @Test
  void quickStart_hasTheTwoCommandsCiRuns() throws IOException {
    String ci = Files.readString(ROOT.resolve(".ci/run"), StandardCharsets.UTF_8);
    for (String command : List.of("mvn -B -q -pl samples -am compile exec:java", "mvn -B verify")) {
      assertThat(readme()).contains("```sh\n" + command + "\n```");
      assertThat(ci).contains("'" + command + "'");
    }
    assertThat(ci).contains("rm -rf \"${HOME}/.m2/repository/io/loadstar\"");
  }
}
