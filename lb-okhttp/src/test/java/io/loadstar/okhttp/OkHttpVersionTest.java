package io.loadstar.okhttp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatNoException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class OkHttpVersionTest {

  @Test
  void okHttp5OnTheClassPath_passes() {
    assertThat(OkHttpVersion.BUILT_WITH).startsWith("5.");
    assertThatNoException()
        .isThrownBy(() -> OkHttpVersion.check(OkHttpVersionTest.class.getClassLoader()));
  }

  @Test
  void okHttp4OnTheClassPath_failsNamingBothVersionsAndTheFix() throws Exception {
    // OkHttp 4.12.0's real jar, copied by the build: its classes first, as when Maven keeps it.
    Path jar = Path.of("target/okhttp4/okhttp-4.12.0.jar");
    assertThat(jar).exists();
    try (URLClassLoader okHttp4 = new URLClassLoader(new URL[] {jar.toUri().toURL()}, null)) {
      assertThatThrownBy(() -> OkHttpVersion.check(okHttp4))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageStartingWith(
              "Loadstar's lb-okhttp needs OkHttp 5 (built with "
                  + OkHttpVersion.BUILT_WITH
                  + "), but OkHttp 4.12.0 is on the class path (from file:")
          .hasMessageContaining("okhttp-4.12.0.jar")
          .hasMessageEndingWith(
              "import io.loadstar:lb-bom (it manages both at "
                  + OkHttpVersion.BUILT_WITH
                  + "), or exclude com.squareup.okhttp3:okhttp 4.x from the dependency that brings"
                  + " it.");
    }
  }

  @Test
  void noOkHttpAtAll_failsToo() throws Exception {
    try (URLClassLoader empty = new URLClassLoader(new URL[0], null)) {
      assertThatThrownBy(() -> OkHttpVersion.check(empty))
          .hasMessageContaining("but OkHttp older than 4 (okhttp3.OkHttp.VERSION is missing)");
    }
  }

  @Test
  void bom_managesBothOkHttpArtifactsAtTheVersionThisModuleWasBuiltWith() throws Exception {
    String bom = Files.readString(Path.of("../lb-bom/pom.xml"), StandardCharsets.UTF_8);
    assertThat(bom)
        .contains("<okhttp.version>" + OkHttpVersion.BUILT_WITH + "</okhttp.version>")
        .contains("<artifactId>okhttp-jvm</artifactId>")
        .contains("<artifactId>okhttp</artifactId>");
  }
}
