package io.loadstar.samples;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.LoadBalancer;
import io.loadstar.core.LoadBalancers;
import io.loadstar.dns.DnsEndpointSource;
import io.loadstar.etcd.EtcdRecord;
import io.loadstar.grpc.LoadstarGrpc;
import io.loadstar.httpclient5.HttpClientLoadBalancing;
import io.loadstar.micrometer.LoadstarMetrics;
import io.loadstar.okhttp.LoadBalancingInterceptor;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The library jars as JPMS modules: an application module that requires them compiles and runs on
 * the module path, and cannot read their {@code internal} packages. (Every other test runs them on
 * the class path.)
 */
class ModulesTest {

  @TempDir Path dir;

  /** Where the class was loaded from: a jar, or a module's classes directory in the reactor. */
  private static String location(String className) {
    try {
      Class<?> c = Class.forName(className, false, ModulesTest.class.getClassLoader());
      return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    } catch (ClassNotFoundException | URISyntaxException e) {
      throw new AssertionError(className + " is not on the test class path", e);
    }
  }

  /** Loadstar's modules and everything they require, found where the tests load them from. */
  private static String modulePath() {
    Set<String> path = new LinkedHashSet<>();
    for (Class<?> c :
        List.of(
            LoadBalancer.class,
            LoadBalancers.class,
            DnsEndpointSource.class,
            LoadBalancingInterceptor.class,
            HttpClientLoadBalancing.class,
            LoadstarGrpc.class,
            EtcdRecord.class,
            LoadstarMetrics.class,
            io.loadstar.probe.ProbeLoad.class,
            MeterRegistry.class)) {
      path.add(location(c.getName()));
    }
    for (String dependency :
        List.of(
            "org.jspecify.annotations.Nullable",
            "org.slf4j.Logger",
            "com.github.benmanes.caffeine.cache.Caffeine",
            "io.github.resilience4j.core.IntervalFunction",
            "org.xbill.DNS.Name",
            "okhttp3.OkHttpClient",
            "okio.Buffer",
            "org.apache.hc.client5.http.impl.classic.HttpClients",
            "org.apache.hc.core5.http.HttpHost",
            "io.grpc.Status",
            "com.google.common.base.Preconditions",
            "kotlin.Unit",
            "com.fasterxml.jackson.core.JsonParser",
            "com.fasterxml.jackson.databind.ObjectMapper",
            "com.fasterxml.jackson.annotation.JsonProperty")) {
      path.add(location(dependency));
    }
    return String.join(File.pathSeparator, path);
  }

  /** Writes an application module named app with {@code mainBody} in app.Main's main method. */
  private Path app(String name, String requires, String imports, String mainBody)
      throws IOException {
    Path src = dir.resolve(name);
    Files.createDirectories(src.resolve("app"));
    Files.writeString(src.resolve("module-info.java"), "module app { " + requires + " }\n");
    Files.writeString(
        src.resolve("app/Main.java"),
        "package app;\n"
            + imports
            + "public class Main { public static void main(String[] args) throws Exception { "
            + mainBody
            + " } }\n");
    return src;
  }

  /** Compiles {@code src} against the module path; returns javac's output, empty on success. */
  private String compile(Path src, Path out) {
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int rc =
        javac.run(
            null,
            err,
            err,
            "--module-path",
            modulePath(),
            "-d",
            out.toString(),
            src.resolve("module-info.java").toString(),
            src.resolve("app/Main.java").toString());
    String output = err.toString(StandardCharsets.UTF_8);
    return rc == 0 ? "" : output.isEmpty() ? "javac failed" : output;
  }

  @Test
  void anApplicationModule_requiringEveryLibraryModule_compilesAndRuns() throws Exception {
    Path src =
        app(
            "ok",
            "requires io.loadstar.core; requires io.loadstar.dns; requires io.loadstar.okhttp;"
                + " requires io.loadstar.httpclient5; requires io.loadstar.grpc;"
                + " requires io.loadstar.etcd; requires io.loadstar.micrometer;"
                + " requires io.loadstar.probe;",
            "import io.loadstar.api.*; import io.loadstar.core.LoadBalancers;\n",
            "try (LoadBalancer lb = LoadBalancers.builder(\"svc\")"
                + ".endpoints(Endpoint.of(\"10.0.0.1\", 80)).build()) {"
                + " PickResult p = lb.pick(); p.handle().onSuccess(1);"
                + " io.loadstar.okhttp.LoadBalancingInterceptor.builder().service(\"svc\", lb).build();"
                + " io.loadstar.httpclient5.HttpClientLoadBalancing.builder().service(\"svc\", lb)"
                + ".build().configure(org.apache.hc.client5.http.impl.classic.HttpClients.custom())"
                + ".build().close();"
                + " io.loadstar.dns.DnsEndpointSource.builder(\"svc.internal\", 80).build();"
                + " io.loadstar.grpc.GrpcRules.builder().retryable(\"svc.Svc/Get\").build();"
                + " System.out.println(io.loadstar.grpc.LoadstarGrpc.target(lb));"
                + " io.loadstar.core.Strategies.probing(io.loadstar.probe.HttpProber.create());"
                + " System.out.println(io.loadstar.probe.ProbeLoad.create().answer().strip());"
                + " System.out.println(\"picked \" + p.endpoint().key() + \" \""
                + " + io.loadstar.etcd.EtcdRecord.toJson(p.endpoint())); }");
    Path out = dir.resolve("ok-out");
    assertThat(compile(src, out)).isEmpty();

    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    List<String> command = new ArrayList<>();
    command.add(java.toString());
    command.add("--module-path");
    command.add(out + File.pathSeparator + modulePath());
    command.add("-m");
    command.add("app/app.Main");
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output;
    try {
      assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("the application ends").isTrue();
      output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    } finally {
      process.destroyForcibly();
    }
    assertThat(output).contains("picked 10.0.0.1:80 {").contains("loadstar:///svc");
    assertThat(process.exitValue()).as(output).isZero();
  }

  @Test
  void anApplicationModule_cannotReadTheInternalPackages() throws IOException {
    Path core =
        app(
            "core-internal",
            "requires io.loadstar.core;",
            "",
            "io.loadstar.core.internal.Sleeper s = io.loadstar.core.internal.Sleeper.SYSTEM;");
    assertThat(compile(core, dir.resolve("core-out")))
        .contains("package io.loadstar.core.internal is not visible");
    Path api =
        app(
            "api-internal",
            "requires io.loadstar.api;",
            "",
            "io.loadstar.api.internal.HostNames.class.getName();");
    assertThat(compile(api, dir.resolve("api-out")))
        .contains("package io.loadstar.api.internal is not visible");
  }
}
