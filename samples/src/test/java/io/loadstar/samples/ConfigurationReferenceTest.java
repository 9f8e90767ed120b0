package io.loadstar.samples;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.RetryPolicy;
import io.loadstar.core.HealthCheckConfig;
import io.loadstar.core.HealthCheckService;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.MaglevConfig;
import io.loadstar.core.OutlierDetectionConfig;
import io.loadstar.core.RingHashConfig;
import io.loadstar.core.Subsetting;
import io.loadstar.core.TierConfig;
import io.loadstar.core.TrafficSplit;
import io.loadstar.core.ZoneRouting;
import io.loadstar.dns.DnsEndpointSource;
import io.loadstar.etcd.EtcdClient;
import io.loadstar.etcd.EtcdEndpointSource;
import io.loadstar.etcd.EtcdPeers;
import io.loadstar.etcd.EtcdRegistrar;
import io.loadstar.grpc.GrpcHealthChecker;
import io.loadstar.grpc.GrpcRules;
import io.loadstar.httpclient5.HttpClientLoadBalancing;
import io.loadstar.okhttp.HttpHealthChecker;
import io.loadstar.okhttp.LoadBalancingInterceptor;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** docs/CONFIGURATION.md names every option of every builder, and nothing else. */
class ConfigurationReferenceTest {

  private static final Path DOC = ReadmeTest.ROOT.resolve("docs/CONFIGURATION.md");

  /** The configurable classes, by the name their section heading gives them. */
  private static final Map<String, Class<?>> CLASSES = new LinkedHashMap<>();

  static {
    CLASSES.put("LoadBalancers.Builder", LoadBalancers.Builder.class);
    CLASSES.put("OutlierDetectionConfig.Builder", OutlierDetectionConfig.Builder.class);
    CLASSES.put("HealthCheckConfig.Builder", HealthCheckConfig.Builder.class);
    CLASSES.put("HealthCheckService.Builder", HealthCheckService.Builder.class);
    CLASSES.put("RetryPolicy.Builder", RetryPolicy.Builder.class);
    CLASSES.put("RingHashConfig.Builder", RingHashConfig.Builder.class);
    CLASSES.put("MaglevConfig.Builder", MaglevConfig.Builder.class);
    CLASSES.put("ZoneRouting.Builder", ZoneRouting.Builder.class);
    CLASSES.put("TierConfig.Builder", TierConfig.Builder.class);
    CLASSES.put("TrafficSplit", TrafficSplit.class);
    CLASSES.put("Subsetting", Subsetting.class);
    CLASSES.put("DnsEndpointSource.Builder", DnsEndpointSource.Builder.class);
    CLASSES.put("LoadBalancingInterceptor.Builder", LoadBalancingInterceptor.Builder.class);
    CLASSES.put("HttpHealthChecker.Builder", HttpHealthChecker.Builder.class);
    CLASSES.put("HttpClientLoadBalancing.Builder", HttpClientLoadBalancing.Builder.class);
    CLASSES.put("GrpcRules.Builder", GrpcRules.Builder.class);
    CLASSES.put("GrpcHealthChecker.Builder", GrpcHealthChecker.Builder.class);
    CLASSES.put("EtcdClient.Builder", EtcdClient.Builder.class);
    CLASSES.put("EtcdEndpointSource.Builder", EtcdEndpointSource.Builder.class);
    CLASSES.put("EtcdRegistrar.Builder", EtcdRegistrar.Builder.class);
    CLASSES.put("EtcdPeers.Builder", EtcdPeers.Builder.class);
    CLASSES.put("ProbingConfig.Builder", io.loadstar.core.ProbingConfig.Builder.class);
    CLASSES.put("HttpProber.Builder", io.loadstar.probe.HttpProber.Builder.class);
  }

  private static final Pattern HEADING = Pattern.compile("^## (.*)$");
  private static final Pattern CLASS_NAME = Pattern.compile("`([A-Za-z.]+)`");
  private static final Pattern ROW = Pattern.compile("^\\| `(\\w+)` \\|");

  /** The options a class offers: public instance methods that return the class (chained). */
  private static Set<String> options(Class<?> c) {
    Set<String> out = new TreeSet<>();
    for (Method m : c.getDeclaredMethods()) {
      if (Modifier.isPublic(m.getModifiers())
          && !Modifier.isStatic(m.getModifiers())
          && m.getReturnType() == c) {
        out.add(m.getName());
      }
    }
    return out;
  }

  @Test
  void everyOptionDocumented_andEveryDocumentedOptionExists() throws IOException {
    Map<String, Set<String>> documented = new LinkedHashMap<>(); // class name -> rows
    List<String> current = List.of();
    for (String line : Files.readAllLines(DOC)) {
      Matcher h = HEADING.matcher(line);
      if (h.matches()) {
        current = CLASS_NAME.matcher(h.group(1)).results().map(r -> r.group(1)).toList();
        for (String name : current) {
          assertThat(CLASSES).as("a section for a class the test does not know").containsKey(name);
          documented.put(name, new TreeSet<>());
        }
        continue;
      }
      Matcher row = ROW.matcher(line);
      if (row.find()) {
        for (String name : current) {
          documented.get(name).add(row.group(1));
        }
      }
    }
    assertThat(documented.keySet()).containsExactlyInAnyOrderElementsOf(CLASSES.keySet());
    for (Map.Entry<String, Class<?>> e : CLASSES.entrySet()) {
      Set<String> inCode = options(e.getValue());
      Set<String> inDoc = documented.get(e.getKey());
      assertThat(inDoc)
          .as("options of %s in docs/CONFIGURATION.md", e.getKey())
          .containsAll(inCode);
      // A section may serve two classes (ring hash and Maglev): its rows must exist in one.
      Set<String> ofSection = new TreeSet<>();
      for (Map.Entry<String, Set<String>> other : documented.entrySet()) {
        if (other.getValue().equals(inDoc)) {
          ofSection.addAll(options(CLASSES.get(other.getKey())));
        }
      }
      assertThat(ofSection)
          .as("rows of the %s section that no option matches", e.getKey())
          .containsAll(inDoc);
    }
  }
}
