package io.loadstar.samples;

import io.loadstar.core.Strategies;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** The demo's command line (see {@link Story}). */
final class StoryOptions {
  int seconds = 56;
  int threads = 4;
  String strategy = "";
  String scenario = "all";
  Path report = Path.of("target", "loadstar-demo.html");

  static StoryOptions parse(String[] args) {
    StoryOptions o = new StoryOptions();
    Set<String> given = new HashSet<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String v = i + 1 < args.length ? args[i + 1] : null;
      if (v == null) {
        throw new IllegalArgumentException(a + ": needs a value");
      }
      i++;
      switch (a) {
        case "--seconds":
          o.seconds = number(a, v, 7, 3600);
          break;
        case "--threads":
          o.threads = number(a, v, 1, 64);
          break;
        case "--strategy":
          Strategies.named(v); // refuses an unknown name with the list of known ones
          o.strategy = v;
          break;
        case "--scenario":
          if (!List.of("all", "die", "slow", "hang", "503", "restart", "dns", "ramp", "tower")
              .contains(v)) {
            throw new IllegalArgumentException(
                "--scenario: "
                    + v
                    + " (expected: all, die, slow, hang, 503, restart, dns, ramp or tower)");
          }
          o.scenario = v;
          break;
        case "--report":
          o.report = Path.of(v);
          break;
        default:
          throw new IllegalArgumentException("unknown option: " + a);
      }
      given.add(a);
    }
    if (o.lab()) {
      for (String option : List.of("--seconds", "--threads", "--strategy")) {
        if (given.contains(option)) {
          throw new IllegalArgumentException(
              option
                  + ": does not apply to --scenario "
                  + o.scenario
                  + " (the lab runs every strategy, alone and with hedging, for a fixed load on"
                  + " simulated time)");
        }
      }
    }
    return o;
  }

  /** Whether the scenario is one of the tail-latency lab's experiments (ramp, tower). */
  boolean lab() {
    return scenario.equals("ramp") || scenario.equals("tower");
  }

  private static int number(String option, String text, int min, int max) {
    try {
      int n = Integer.parseInt(text);
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException e) {
      // below
    }
    throw new IllegalArgumentException(
        option + ": " + text + " (expected: a number in " + min + ".." + max + ")");
  }
}
