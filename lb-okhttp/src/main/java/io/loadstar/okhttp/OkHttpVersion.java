package io.loadstar.okhttp;

import java.io.IOException;
import java.io.InputStream;
import java.security.CodeSource;
import java.util.Properties;

/**
 * Fails early, with both versions named, when the OkHttp on the class path is older than 5. Maven
 * keeps OkHttp 4's artifact ({@code com.squareup.okhttp3:okhttp}) next to OkHttp 5's ({@code
 * okhttp-jvm}), since their names differ; whichever jar comes first supplies the classes, and with
 * OkHttp 4 the first call would fail with a {@code NoSuchMethodError} deep inside OkHttp.
 */
final class OkHttpVersion {

  /** The OkHttp version this module was built and tested with. */
  static final String BUILT_WITH = builtWith();

  private OkHttpVersion() {}

  /**
   * Checks the OkHttp that {@code loader} sees.
   *
   * @throws IllegalStateException if it is older than 5, or too old to say its version
   */
  static void check(ClassLoader loader) {
    String found;
    String from = "";
    try {
      // Read reflectively: the constant itself would be compiled into this class.
      Class<?> okHttp = Class.forName("okhttp3.OkHttp", false, loader);
      found = String.valueOf(okHttp.getField("VERSION").get(null));
      CodeSource source = okHttp.getProtectionDomain().getCodeSource();
      if (source != null && source.getLocation() != null) {
        from = " (from " + source.getLocation() + ")";
      }
    } catch (ReflectiveOperationException | LinkageError e) {
      found = "older than 4 (okhttp3.OkHttp.VERSION is missing)";
    }
    if (major(found) < 5) {
      throw new IllegalStateException(
          "Loadstar's lb-okhttp needs OkHttp 5 (built with "
              + BUILT_WITH
              + "), but OkHttp "
              + found
              + " is on the class path"
              + from
              + ". OkHttp 4's Maven artifact com.squareup.okhttp3:okhttp and OkHttp 5's"
              + " com.squareup.okhttp3:okhttp-jvm both hold the okhttp3 classes: import"
              + " io.loadstar:lb-bom (it manages both at "
              + BUILT_WITH
              + "), or exclude com.squareup.okhttp3:okhttp 4.x from the dependency that brings it.");
    }
  }

  private static int major(String version) {
    int end = 0;
    while (end < version.length() && Character.isDigit(version.charAt(end))) {
      end++;
    }
    return end == 0 ? 0 : Integer.parseInt(version.substring(0, Math.min(end, 6)));
  }

  private static String builtWith() {
    Properties p = new Properties();
    try (InputStream in = OkHttpVersion.class.getResourceAsStream("okhttp-version.properties")) {
      if (in != null) {
        p.load(in);
      }
    } catch (IOException e) {
      // a packaging fault; the message below still names what was found
    }
    return p.getProperty("okhttp.version", "5.x");
  }
}
