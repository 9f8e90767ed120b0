package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.spi.ToolProvider;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * lb-core's classes depend on each other in layers: the builder on the balancer, the balancer on
 * its parts, the parts on the snapshot and the states, never back up. Before 0.1.0, 26 of 56
 * classes sat in one cycle (closed by a borrowed log category, the builder passed around as
 * configuration and configs calling validators on {@code Strategies}). This test reads the compiled
 * classes with the JDK's {@code jdeps} and fails on any cycle but the two pairs designed together:
 * an endpoint's state and the ledger, signals and service latency it reports into (the latency
 * counts in the ledger), the retry engine and its calls.
 */
class ClassCyclesTest {

  private static final String PACKAGE = "io.loadstar.core.";

  private static final Set<Set<String>> DESIGNED_TOGETHER =
      Set.of(
          Set.of("CallLedger", "EndpointState", "LatencyDigest", "OutlierSignals"),
          Set.of("EngineCall", "ExecuteDriver", "RetryEngine"));

  @Test
  void noCycleAmongTheClasses_butThePairsDesignedTogether(@TempDir Path copy) throws Exception {
    Map<String, Set<String>> uses = dependencies(copy);
    assertThat(uses).containsKeys("DefaultLoadBalancer", "LoadBalancers", "SnapshotBuilder");

    List<Set<String>> cycles = new ArrayList<>();
    for (Set<String> component : stronglyConnected(uses)) {
      if (component.size() > 1 && !DESIGNED_TOGETHER.contains(component)) {
        cycles.add(component);
      }
    }
    assertThat(cycles)
        .as("classes that reach each other (each class's uses within: %s)", uses)
        .isEmpty();
  }

  /**
   * Which lb-core classes each top-level lb-core class uses (nested classes count as their
   * outermost class), from the bytecode; module-info is left out so jdeps reads a plain class tree.
   */
  private static Map<String, Set<String>> dependencies(Path copy)
      throws IOException, URISyntaxException {
    Path classes =
        Path.of(
            DefaultLoadBalancer.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    try (Stream<Path> files = Files.walk(classes)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        Path target = copy.resolve(classes.relativize(f).toString());
        if (Files.isDirectory(f)) {
          Files.createDirectories(target);
        } else if (!f.getFileName().toString().equals("module-info.class")) {
          Files.copy(f, target);
        }
      }
    }
    ToolProvider jdeps =
        ToolProvider.findFirst("jdeps").orElseThrow(() -> new AssertionError("no jdeps in JDK"));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status =
        jdeps.run(
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8),
            "-verbose:class",
            "-filter:none",
            copy.toString());
    assertThat(status).as("jdeps: %s", err.toString(StandardCharsets.UTF_8)).isZero();
    Map<String, Set<String>> uses = new TreeMap<>();
    for (String line : out.toString(StandardCharsets.UTF_8).split("\n")) {
      String[] parts = line.trim().split("\\s+");
      if (parts.length < 3 || !parts[1].equals("->")) {
        continue;
      }
      String from = topLevel(parts[0]);
      String to = topLevel(parts[2]);
      if (from == null || to == null) {
        continue;
      }
      uses.computeIfAbsent(from, k -> new TreeSet<>());
      if (!from.equals(to)) {
        uses.get(from).add(to);
      }
    }
    return uses;
  }

  /** The simple name of {@code className}'s outermost class if it is in lb-core's package. */
  private static String topLevel(String className) {
    if (!className.startsWith(PACKAGE) || className.indexOf('.', PACKAGE.length()) >= 0) {
      return null; // another package, internal included
    }
    String simple = className.substring(PACKAGE.length());
    int nested = simple.indexOf('$');
    return nested < 0 ? simple : simple.substring(0, nested);
  }

  /** Tarjan's strongly connected components, iteratively. */
  private static List<Set<String>> stronglyConnected(Map<String, Set<String>> graph) {
    Map<String, Integer> index = new HashMap<>();
    Map<String, Integer> low = new HashMap<>();
    Deque<String> stack = new ArrayDeque<>();
    Set<String> onStack = new TreeSet<>();
    List<Set<String>> components = new ArrayList<>();
    for (String root : graph.keySet()) {
      if (index.containsKey(root)) {
        continue;
      }
      Deque<Map.Entry<String, List<String>>> work = new ArrayDeque<>();
      visit(root, graph, index, low, stack, onStack, work);
      while (!work.isEmpty()) {
        Map.Entry<String, List<String>> top = work.peek();
        String v = top.getKey();
        if (!top.getValue().isEmpty()) {
          String w = top.getValue().remove(0);
          if (!index.containsKey(w)) {
            visit(w, graph, index, low, stack, onStack, work);
          } else if (onStack.contains(w)) {
            low.put(v, Math.min(low.get(v), index.get(w)));
          }
          continue;
        }
        work.pop();
        if (!work.isEmpty()) {
          String parent = work.peek().getKey();
          low.put(parent, Math.min(low.get(parent), low.get(v)));
        }
        if (low.get(v).equals(index.get(v))) {
          Set<String> component = new TreeSet<>();
          String w;
          do {
            w = stack.pop();
            onStack.remove(w);
            component.add(w);
          } while (!w.equals(v));
          components.add(component);
        }
      }
    }
    return components;
  }

  private static void visit(
      String v,
      Map<String, Set<String>> graph,
      Map<String, Integer> index,
      Map<String, Integer> low,
      Deque<String> stack,
      Set<String> onStack,
      Deque<Map.Entry<String, List<String>>> work) {
    index.put(v, index.size());
    low.put(v, index.get(v));
    stack.push(v);
    onStack.add(v);
    work.push(Map.entry(v, new ArrayList<>(graph.getOrDefault(v, Set.of()))));
  }
}
